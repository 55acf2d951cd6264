/**
 * Roll-ups and retention of the InfluxDB store, computed by the server because no version does both alike
 * (2.x and 3.x have no continuous queries and no SELECT … INTO): every closed minute (after a grace delay for
 * late telemetry) is read from `<db>_raw` with GROUP BY time(1m) and written to `<db>_1m`; every closed hour
 * from `<db>_1m` to `<db>_1h`, with sum and count so means stay exact.
 *
 * Each window is written once (3.x Core gives an unpredictable result for an overwritten point). Points that
 * arrive for a minute already rolled up are not folded in by rewriting it: the store aggregates those late
 * points itself as it writes them, and maintenance writes that aggregate as a correction point a few ms after
 * the window's start (a new point, same series). Every reader re-aggregates a tier by window (GROUP BY
 * time(≥ grain)), so the correction adds to the count, sum, min and max exactly; its `last` wins over the
 * window's, an approximation accepted for late data.
 *
 * The watermarks (W_1m, W_1h, C_raw, C_1m) are a point per change in `<db>_1m`'s `tonypi_watermark`: the
 * store has no handle on the relational database (it is opened from TELEMETRY_URL alone, and the migration
 * tool copies telemetry without it), and beside the roll-ups they describe they move and vanish together —
 * a restored or copied InfluxDB carries its own watermark.
 */
import { MEASUREMENT_NAMES } from '@tonypi/contracts';
import type { InfluxHttp } from './influx-http';
import { encodeLine, MAX_TIME_MS, quoteIdent, timeBounds } from './influx-line-protocol';
import {
  fieldKeys,
  readWatermarks,
  rollupFieldNames,
  rowsOf,
  type TierDatabases,
  type Watermarks,
  watermarkLine,
} from './influx-schema';
import { MAX_LINES_PER_WRITE } from './influx-writer';
import { HOUR_MS, MINUTE_MS } from './range-buckets';
import type { MaintenanceResult, RetentionPolicy } from './telemetry-store';

/** Late points' aggregates, by `measurement \0 tags JSON \0 field \0 minute`. */
export type LateAggregates = Map<
  string,
  { min: number; max: number; sum: number; count: number; last: number; lastTs: number }
>;

export interface RollupContext {
  http: InfluxHttp;
  dbs: TierDatabases;
  write(db: string, lines: readonly string[]): Promise<void>;
  /**
   * Runs `fn` between two appends; `markLate(ms)`: from now on, appends record points before `ms` as late.
   * So a point is either in what a roll-up query reads or in the late aggregates, never both.
   */
  betweenAppends<T>(fn: (markLate: (ms: number) => void) => Promise<T>): Promise<T>;
  /** The minute watermark as read (another server's maintenance may have moved it). */
  seenWatermark(w1m: number): void;
  /** Takes the late aggregates collected so far (the store starts a new set). */
  takeLate(): LateAggregates;
  /** 1.x and 2.x delete by time; 3.x refuses DELETE (its databases' retention period does it). */
  canDelete: boolean;
  /** How long after a minute ends it is rolled up, ms. */
  graceMs: number;
  /** A number that differs between runs: the offset of correction points within their window. */
  nextRevision(): number;
}

/** Catch-up reads raw data an hour at a time, so no query or append pause grows with the backlog. */
const CATCH_UP_STEP_MS = HOUR_MS;
/**
 * A roll-up query reads a whole hour of raw points: 450,000 points of 12 fields took 8.5 s on 1.6 under load,
 * beyond the 10 s a chart's query may take. Maintenance runs in the background and may wait.
 */
const MAINTENANCE_QUERY_TIMEOUT_MS = 300_000;

function query(ctx: RollupContext, db: string, q: string) {
  return ctx.http.query(db, q, { timeoutMs: MAINTENANCE_QUERY_TIMEOUT_MS });
}

export async function rollUpAndExpire(
  ctx: RollupContext,
  now: number,
  policy: RetentionPolicy,
): Promise<MaintenanceResult> {
  const result: MaintenanceResult = {
    rolled_up_minutes: 0,
    rolled_up_hours: 0,
    deleted_raw: 0,
    deleted_minute: 0,
    deleted_hour: 0,
  };
  const old = await readWatermarks(ctx.http, ctx.dbs);
  // Another server may have rolled minutes up since this one last looked: points for them are late here too.
  ctx.seenWatermark(old.w1m);
  const target = floorTo(now - ctx.graceMs, MINUTE_MS);
  const w: Watermarks = { ...old };

  // Corrections for late points first: they belong to windows before the old watermarks.
  await writeCorrections(ctx, old, result);

  // Minutes, an hour of raw at a time; each step between appends, so that no point is both read and late.
  // An hour without raw points jumps to the next point: a first run or a long outage costs per hour of data.
  if (target > old.w1m) {
    const keys = new Map<string, Promise<string[]>>();
    let from = Number.isFinite(old.w1m) ? old.w1m : 0;
    while (from < target) {
      const to = Math.min(target, floorTo(from, CATCH_UP_STEP_MS) + CATCH_UP_STEP_MS);
      from = await ctx.betweenAppends(async (markLate) => {
        markLate(to);
        const minutes = await rollUpMinutes(ctx, from, to, keys);
        result.rolled_up_minutes += minutes;
        if (minutes > 0 || to >= target) return to;
        const next = await earliest(ctx, ctx.dbs.raw, to, target);
        markLate(next);
        return next;
      });
    }
    w.w1m = target;
  }
  const hourTarget = floorTo(w.w1m, HOUR_MS);
  if (Number.isFinite(hourTarget) && hourTarget > old.w1h) {
    const from = Number.isFinite(old.w1h)
      ? old.w1h
      : floorTo(await earliest(ctx, ctx.dbs['1m'], 0, hourTarget), HOUR_MS);
    if (from < hourTarget) result.rolled_up_hours += await rollUpHours(ctx, from, hourTarget);
    w.w1h = hourTarget;
  }

  // Retention: cut-offs only move forward and never past what is rolled up. Raw is cut by whole hours (the
  // DuckDB store cuts by minutes): one DELETE an hour instead of one a minute, each walking every shard on 1.x.
  w.cutRaw = Math.max(old.cutRaw, Math.min(floorTo(now - policy.raw_ms, HOUR_MS), w.w1m));
  w.cut1m = Math.max(old.cut1m, Math.min(floorTo(now - policy.minute_ms, HOUR_MS), w.w1h));
  const cut1h = floorTo(now - policy.hour_ms, HOUR_MS);
  if (ctx.canDelete) {
    if (Number.isFinite(w.cutRaw) && w.cutRaw > old.cutRaw) {
      result.deleted_raw = await deleteBefore(ctx, ctx.dbs.raw, old.cutRaw, w.cutRaw);
    }
    if (Number.isFinite(w.cut1m) && w.cut1m > old.cut1m) {
      result.deleted_minute = await deleteBefore(ctx, ctx.dbs['1m'], old.cut1m, w.cut1m);
    }
    result.deleted_hour = await deleteBefore(ctx, ctx.dbs['1h'], Number.NEGATIVE_INFINITY, cut1h);
  }

  const changed = (Object.keys(w) as (keyof Watermarks)[]).some((k) => w[k] !== old[k]);
  const line = changed ? watermarkLine(w, Math.max(now, 0)) : undefined;
  if (line) await ctx.write(ctx.dbs['1m'], [line]);
  return result;
}

/** The first point's time (whole minutes down) in a tier's measurements in [from, before), or `before` when none. */
async function earliest(ctx: RollupContext, db: string, from: number, before: number): Promise<number> {
  const series = await query(
    ctx,
    db,
    `SELECT * FROM ${MEASUREMENT_NAMES.map(quoteIdent).join(', ')} WHERE ${timeBounds(from, before)} ORDER BY time ASC LIMIT 1`,
  );
  let first = before;
  for (const s of series) for (const row of rowsOf(s)) first = Math.min(first, row.time as number);
  return floorTo(first, MINUTE_MS);
}

/** Minute roll-ups of raw [from, to); the number of distinct minutes written. */
async function rollUpMinutes(
  ctx: RollupContext,
  from: number,
  to: number,
  keys: Map<string, Promise<string[]>>,
): Promise<number> {
  const minutes = new Set<number>();
  for (const m of MEASUREMENT_NAMES) {
    let known = keys.get(m);
    if (!known) {
      known = fieldKeys(ctx.http, ctx.dbs.raw, m);
      keys.set(m, known);
    }
    const fields = await known;
    if (fields.length === 0) continue;
    const cols = fields
      .map((f) => {
        const q = quoteIdent(f);
        return ['mean', 'min', 'max', 'last', 'sum', 'count']
          .map((fn) => `${fn}(${q}) AS ${quoteIdent(`${f}_${fn}`)}`)
          .join(', ');
      })
      .join(', ');
    const series = await query(
      ctx,
      ctx.dbs.raw,
      `SELECT ${cols} FROM ${quoteIdent(m)} WHERE ${timeBounds(from, to)} GROUP BY time(1m), * fill(none)`,
    );
    const lines: string[] = [];
    for (const s of series) {
      const tags = Object.fromEntries(Object.entries(s.tags ?? {}).filter(([, v]) => v !== ''));
      for (const row of rowsOf(s)) {
        const out: Record<string, number> = {};
        for (const f of fields) {
          const count = row[`${f}_count`];
          if (typeof count !== 'number' || count === 0) continue;
          for (const suffix of ['mean', 'min', 'max', 'last', 'sum', 'count']) {
            const v = row[`${f}_${suffix}`];
            if (typeof v === 'number') out[`${f}_${suffix}`] = v;
          }
        }
        const line = encodeLine({ measurement: m, tags, fields: out, ts: row.time as number });
        if (line) {
          lines.push(line);
          minutes.add(row.time as number);
        }
      }
    }
    await writeAll(ctx, ctx.dbs['1m'], lines);
  }
  return minutes.size;
}

/** Hour roll-ups of the minute roll-ups [from, to); the number of distinct hours written. */
async function rollUpHours(ctx: RollupContext, from: number, to: number): Promise<number> {
  const hours = new Set<number>();
  for (const m of MEASUREMENT_NAMES) {
    const fields = await rollupFieldNames(ctx.http, ctx.dbs['1m'], m);
    if (fields.length === 0) continue;
    const cols = fields
      .map((f) => {
        const c = (fn: string, suffix: string) =>
          `${fn}(${quoteIdent(`${f}_${suffix}`)}) AS ${quoteIdent(`${f}_${suffix}`)}`;
        return [c('min', 'min'), c('max', 'max'), c('last', 'last'), c('sum', 'sum'), c('sum', 'count')].join(
          ', ',
        );
      })
      .join(', ');
    for (let step = from; step < to; step += 24 * HOUR_MS) {
      const series = await query(
        ctx,
        ctx.dbs['1m'],
        `SELECT ${cols} FROM ${quoteIdent(m)} WHERE ${timeBounds(step, Math.min(to, step + 24 * HOUR_MS))} GROUP BY time(1h), * fill(none)`,
      );
      const lines: string[] = [];
      for (const s of series) {
        const tags = Object.fromEntries(Object.entries(s.tags ?? {}).filter(([, v]) => v !== ''));
        for (const row of rowsOf(s)) {
          const out: Record<string, number> = {};
          for (const f of fields) {
            const count = row[`${f}_count`];
            const sum = row[`${f}_sum`];
            if (typeof count !== 'number' || count === 0 || typeof sum !== 'number') continue;
            out[`${f}_mean`] = sum / count;
            for (const suffix of ['min', 'max', 'last', 'sum', 'count']) {
              const v = row[`${f}_${suffix}`];
              if (typeof v === 'number') out[`${f}_${suffix}`] = v;
            }
          }
          const line = encodeLine({ measurement: m, tags, fields: out, ts: row.time as number });
          if (line) {
            lines.push(line);
            hours.add(row.time as number);
          }
        }
      }
      await writeAll(ctx, ctx.dbs['1h'], lines);
    }
  }
  return hours.size;
}

/**
 * The late points' aggregates as correction points: in `<db>_1m` for minutes still kept there, and in
 * `<db>_1h` for hours already rolled up (later hours take the minute corrections in when they are rolled up).
 */
async function writeCorrections(ctx: RollupContext, w: Watermarks, result: MaintenanceResult): Promise<void> {
  const late = ctx.takeLate();
  if (late.size === 0) return;
  const revision = ctx.nextRevision();
  const minuteLines = new Map<
    string,
    { measurement: string; tags: Record<string, string>; t: number; fields: Record<string, number> }
  >();
  const hourAggs = new Map<
    string,
    {
      measurement: string;
      tags: Record<string, string>;
      t: number;
      fields: Map<
        string,
        { min: number; max: number; sum: number; count: number; last: number; lastTs: number }
      >;
    }
  >();
  const minutes = new Set<number>();
  const hours = new Set<number>();
  for (const [key, a] of late) {
    const [measurement, tagsJson, field, minuteText] = key.split('\u0000') as [
      string,
      string,
      string,
      string,
    ];
    const minute = Number(minuteText);
    if (minute < w.cut1m || !(minute < w.w1m)) continue;
    const tags = JSON.parse(tagsJson) as Record<string, string>;
    const mk = `${measurement}\u0000${tagsJson}\u0000${minute}`;
    let line = minuteLines.get(mk);
    if (!line) {
      line = { measurement, tags, t: minute, fields: {} };
      minuteLines.set(mk, line);
    }
    Object.assign(line.fields, {
      [`${field}_mean`]: a.sum / a.count,
      [`${field}_min`]: a.min,
      [`${field}_max`]: a.max,
      [`${field}_last`]: a.last,
      [`${field}_sum`]: a.sum,
      [`${field}_count`]: a.count,
    });
    minutes.add(minute);
    const hour = floorTo(minute, HOUR_MS);
    if (!(hour < w.w1h)) continue;
    const hk = `${measurement}\u0000${tagsJson}\u0000${hour}`;
    let h = hourAggs.get(hk);
    if (!h) {
      h = { measurement, tags, t: hour, fields: new Map() };
      hourAggs.set(hk, h);
    }
    const prev = h.fields.get(field);
    if (!prev) h.fields.set(field, { ...a });
    else {
      prev.min = Math.min(prev.min, a.min);
      prev.max = Math.max(prev.max, a.max);
      prev.sum += a.sum;
      prev.count += a.count;
      if (a.lastTs >= prev.lastTs) [prev.last, prev.lastTs] = [a.last, a.lastTs];
    }
    hours.add(hour);
  }
  const minuteOffset = 1 + (revision % (MINUTE_MS - 1));
  const hourOffset = 1 + (revision % (HOUR_MS - 1));
  await writeAll(
    ctx,
    ctx.dbs['1m'],
    [...minuteLines.values()].flatMap((l) => encodeLine({ ...l, ts: l.t + minuteOffset }) ?? []),
  );
  await writeAll(
    ctx,
    ctx.dbs['1h'],
    [...hourAggs.values()].flatMap((h) => {
      const fields: Record<string, number> = {};
      for (const [f, a] of h.fields) {
        Object.assign(fields, {
          [`${f}_mean`]: a.sum / a.count,
          [`${f}_min`]: a.min,
          [`${f}_max`]: a.max,
          [`${f}_last`]: a.last,
          [`${f}_sum`]: a.sum,
          [`${f}_count`]: a.count,
        });
      }
      return encodeLine({ measurement: h.measurement, tags: h.tags, fields, ts: h.t + hourOffset }) ?? [];
    }),
  );
  result.rolled_up_minutes += minutes.size;
  result.rolled_up_hours += hours.size;
}

/**
 * Deletes a tier's points before `to` (1.x, 2.x: `DELETE WHERE time < …`) and says how many points there
 * were from `from` on: per measurement the largest field count (a point has at most one value per field).
 */
async function deleteBefore(ctx: RollupContext, db: string, from: number, to: number): Promise<number> {
  if (!Number.isFinite(to) || to <= 0) return 0;
  const series = await query(
    ctx,
    db,
    `SELECT count(*) FROM ${MEASUREMENT_NAMES.map(quoteIdent).join(', ')} WHERE ${timeBounds(Number.isFinite(from) ? from : 0, to)}`,
  );
  let points = 0;
  for (const s of series) {
    for (const row of rowsOf(s)) {
      let most = 0;
      for (const [k, v] of Object.entries(row))
        if (k.startsWith('count_') && typeof v === 'number') most = Math.max(most, v);
      points += most;
    }
  }
  if (points === 0) return 0;
  await query(ctx, db, `DELETE WHERE time < ${Math.min(MAX_TIME_MS, Math.round(to))}ms`);
  return points;
}

async function writeAll(ctx: RollupContext, db: string, lines: readonly string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += MAX_LINES_PER_WRITE) {
    await ctx.write(db, lines.slice(i, i + MAX_LINES_PER_WRITE));
  }
}

export function floorTo(ms: number, step: number): number {
  return Math.floor(ms / step) * step;
}
