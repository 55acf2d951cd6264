/**
 * The read paths of the InfluxDB store, in the InfluxQL subset every version runs: one SELECT per request,
 * absolute ms bounds, `AS` aliases, `GROUP BY time(…), *`, `fill(none)`. Range answers are stitched from the
 * tiers exactly as the DuckDB store stitches its tables (the same watermarks and segments), so both give
 * the same buckets.
 */
import {
  FIELD_NAME_RE,
  isMeasurementName,
  MEASUREMENT_NAMES,
  MEASUREMENTS,
  type MeasurementName,
  type Resolution,
} from '@tonypi/contracts';
import type { InfluxHttp, QuerySeries } from './influx-http';
import { MAX_TIME_MS, quoteIdent, quoteString, timeBounds } from './influx-line-protocol';
import {
  rollupFieldNames,
  rowsOf,
  seriesTags,
  TIER_GRAIN_MS,
  type TierDatabases,
  type Watermarks,
} from './influx-schema';
import { chooseBucketMs, resolutionForBucket, type Segment, segments } from './range-buckets';
import type { PartialAgg } from './range-cache';
import { rangeBucket } from './range-cache';
import type { LatestPoint, RangeQuery, RangeResult, RangeSeries } from './telemetry-store';

const LATEST_LOOKBACK_MS = 3600_000;
const FIELDS_LOOKBACK_MS = 24 * 3600_000;

export interface InfluxReadContext {
  http: InfluxHttp;
  dbs: TierDatabases;
  /** The watermarks, as maintenance last wrote them (cached for a moment). */
  watermarks(): Promise<Watermarks>;
}

/** `(robot_id = 'a' OR …)`, values as escaped literals. */
function robotWhere(robots: readonly string[]): string {
  return `(${robots.map((r) => `"robot_id" = ${quoteString(r)}`).join(' OR ')})`;
}

/**
 * Aggregates of `fields` over one tier, aliased `<field>_<min|max|sum|count|last>`. Roll-up tiers combine
 * their stored partials (exact means from sums and counts).
 */
function aggregateColumns(fields: readonly string[], source: Resolution): string {
  return fields
    .map((f) => {
      const a = (fn: string, col: string, as: string) =>
        `${fn}(${quoteIdent(col)}) AS ${quoteIdent(`${f}_${as}`)}`;
      if (source === 'raw') {
        return [
          a('min', f, 'min'),
          a('max', f, 'max'),
          a('sum', f, 'sum'),
          a('count', f, 'count'),
          a('last', f, 'last'),
        ].join(', ');
      }
      return [
        a('min', `${f}_min`, 'min'),
        a('max', `${f}_max`, 'max'),
        a('sum', `${f}_sum`, 'sum'),
        a('sum', `${f}_count`, 'count'),
        a('last', `${f}_last`, 'last'),
      ].join(', ');
    })
    .join(', ');
}

/**
 * Roll-up points lie at their window's start (plus late corrections a few ms after it, influx-rollups.ts):
 * a tier's segment is taken by window, [ceil(from), ceil(to)) at its grain, like DuckDB takes rows by bucket.
 */
function tierBounds(seg: Segment): [number, number] {
  const grain = TIER_GRAIN_MS[seg.source];
  if (seg.source === 'raw') return [seg.from, seg.to];
  return [Math.ceil(seg.from / grain) * grain, Math.ceil(seg.to / grain) * grain];
}

type Accs = Map<
  string,
  {
    field: string;
    tags: Record<string, string>;
    tagsKey: string;
    robot: string;
    buckets: Map<number, PartialAgg>;
  }
>;

/** Folds one query's series into the accumulators, a later segment's `last` winning. */
function foldSeries(series: QuerySeries[], fields: readonly string[], accs: Accs): void {
  for (const s of series) {
    const tags = seriesTags(s);
    const tagsKey = JSON.stringify(tags);
    const robot = s.tags?.robot_id ?? '';
    for (const row of rowsOf(s)) {
      const t = row.time as number;
      for (const f of fields) {
        const count = row[`${f}_count`];
        if (typeof count !== 'number' || count === 0) continue;
        const key = `${robot}\u0000${f}\u0000${tagsKey}`;
        let acc = accs.get(key);
        if (!acc) {
          acc = { field: f, tags, tagsKey, robot, buckets: new Map() };
          accs.set(key, acc);
        }
        const p: PartialAgg = {
          min: row[`${f}_min`] as number,
          max: row[`${f}_max`] as number,
          sum: row[`${f}_sum`] as number,
          count,
          last: (row[`${f}_last`] as number | null) ?? null,
        };
        const b = acc.buckets.get(t);
        if (!b) acc.buckets.set(t, p);
        else {
          b.min = Math.min(b.min, p.min);
          b.max = Math.max(b.max, p.max);
          b.sum += p.sum;
          b.count += p.count;
          if (p.last !== null) b.last = p.last;
        }
      }
    }
  }
}

function checkNames(fields: readonly string[], tags: readonly string[]): void {
  for (const f of fields) {
    if (typeof f !== 'string' || !FIELD_NAME_RE.test(f))
      throw new Error(`Invalid field name ${JSON.stringify(f)}`);
  }
  for (const k of tags) {
    if (!FIELD_NAME_RE.test(k)) throw new Error(`Invalid tag name ${JSON.stringify(k)}`);
  }
}

export async function queryRange(ctx: InfluxReadContext, q: RangeQuery): Promise<RangeResult> {
  if (!isMeasurementName(q.measurement)) throw new Error(`Unknown measurement ${String(q.measurement)}`);
  const declared: readonly string[] = MEASUREMENTS[q.measurement].tags;
  const fields = [...new Set(q.fields.length > 0 ? q.fields : MEASUREMENTS[q.measurement].fields)];
  const tagFilter = Object.entries(q.tags ?? {});
  checkNames(
    fields,
    tagFilter.map(([k]) => k),
  );
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to))
    throw new Error('range: from and to must be finite');
  const span = q.to - q.from;
  const bucket = chooseBucketMs(Math.max(span, 0), q.points);
  const resolution = resolutionForBucket(bucket);
  const answer: RangeResult = { resolution, bucket_ms: bucket, series: [] };
  if (span <= 0 || tagFilter.some(([k]) => !declared.includes(k))) return answer;

  const where = [
    robotWhere([q.robot_id]),
    ...tagFilter.map(([k, v]) => `${quoteIdent(k)} = ${quoteString(v)}`),
  ];
  const accs: Accs = new Map();
  for (const seg of segments(resolution, q.from, q.to, await ctx.watermarks())) {
    const [from, to] = tierBounds(seg);
    if (from >= to) continue;
    const groupMs = Math.max(bucket, TIER_GRAIN_MS[seg.source]);
    const series = await ctx.http.query(
      ctx.dbs[seg.source],
      `SELECT ${aggregateColumns(fields, seg.source)} FROM ${quoteIdent(q.measurement)}
       WHERE ${where.join(' AND ')} AND ${timeBounds(from, to)}
       GROUP BY time(${groupMs}ms), * fill(none)`,
    );
    foldSeries(series, fields, accs);
  }
  const order = new Map(fields.map((f, i) => [f, i]));
  answer.series = [...accs.values()]
    .sort(
      (a, b) =>
        order.get(a.field)! - order.get(b.field)! ||
        (a.tagsKey < b.tagsKey ? -1 : a.tagsKey > b.tagsKey ? 1 : 0),
    )
    .map(
      (a): RangeSeries => ({
        field: a.field,
        tags: a.tags,
        buckets: [...a.buckets.entries()].sort(([x], [y]) => x - y).map(([t, p]) => rangeBucket(t, p)),
      }),
    );
  return answer;
}

/** The newest point of each series: `ORDER BY time DESC LIMIT 1` per series, every measurement in one statement. */
export async function queryLatest(
  ctx: InfluxReadContext,
  robot_id: string,
  opts: { measurement?: MeasurementName; lookback_ms?: number },
): Promise<LatestPoint[]> {
  const measurements = opts.measurement ? [opts.measurement] : MEASUREMENT_NAMES;
  if (opts.measurement && !isMeasurementName(opts.measurement))
    throw new Error(`Unknown measurement ${opts.measurement}`);
  const since = Date.now() - (opts.lookback_ms ?? LATEST_LOOKBACK_MS);
  const series = await ctx.http.query(
    ctx.dbs.raw,
    `SELECT * FROM ${measurements.map(quoteIdent).join(', ')}
     WHERE ${robotWhere([robot_id])} AND ${timeBounds(since, MAX_TIME_MS)}
     GROUP BY * ORDER BY time DESC LIMIT 1`,
  );
  const out: LatestPoint[] = [];
  for (const s of series) {
    if (!isMeasurementName(s.name)) continue;
    for (const row of rowsOf(s)) {
      const fields: Record<string, number> = {};
      for (const [k, v] of Object.entries(row)) if (k !== 'time' && typeof v === 'number') fields[k] = v;
      out.push({ measurement: s.name, tags: seriesTags(s), ts: row.time as number, fields });
    }
  }
  return out;
}

/** Names of fields with data: `count(*)` on raw, and on the roll-ups where raw no longer reaches back. */
export async function queryFields(
  ctx: InfluxReadContext,
  robot_id: string,
  measurement: MeasurementName,
  lookback_ms = FIELDS_LOOKBACK_MS,
): Promise<string[]> {
  if (!isMeasurementName(measurement)) throw new Error(`Unknown measurement ${measurement}`);
  const since = Date.now() - lookback_ms;
  const w = await ctx.watermarks();
  const sources: Resolution[] = ['raw'];
  if (since < w.cutRaw) sources.push('1m');
  if (since < w.cut1m) sources.push('1h');
  const found = new Set<string>();
  for (const source of sources) {
    const series = await ctx.http.query(
      ctx.dbs[source],
      `SELECT count(*) FROM ${quoteIdent(measurement)} WHERE ${robotWhere([robot_id])} AND ${timeBounds(since, MAX_TIME_MS)}`,
    );
    for (const row of rowsOf(series[0])) {
      for (const [k, v] of Object.entries(row)) {
        if (!k.startsWith('count_') || typeof v !== 'number' || v === 0) continue;
        const name = k.slice('count_'.length);
        if (source === 'raw') found.add(name);
        else if (name.endsWith('_count')) found.add(name.slice(0, -'_count'.length));
      }
    }
  }
  const known: readonly string[] = MEASUREMENTS[measurement].fields;
  return [...known.filter((f) => found.has(f)), ...[...found].filter((f) => !known.includes(f)).sort()];
}

export interface RollupQuery {
  measurement: string;
  robot_ids?: readonly string[];
  from: number;
  to: number;
  bucket_ms: number;
}

export interface RollupSeries {
  robot_id: string;
  field: string;
  tags: Record<string, string>;
  bucket_ms: number;
  buckets: { t: number; avg: number | null; min: number | null; max: number | null; count: number }[];
}

/**
 * Many robots' roll-ups at once (reports), as the DuckDB store answers them: minute roll-ups, or hour
 * roll-ups (then the minutes after W_1h) when the bucket is whole hours or the minutes no longer reach `from`.
 * Only what is rolled up.
 */
export async function queryRollups(ctx: InfluxReadContext, q: RollupQuery): Promise<RollupSeries[]> {
  if (!isMeasurementName(q.measurement)) throw new Error(`Unknown measurement ${q.measurement}`);
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.to <= q.from) return [];
  if (q.robot_ids?.length === 0) return [];
  const w = await ctx.watermarks();
  const bucket = Math.max(60_000, Math.round(q.bucket_ms / 60_000) * 60_000);
  const hourly = bucket % 3_600_000 === 0 || q.from < w.cut1m;
  const b = hourly ? Math.max(3_600_000, Math.round(bucket / 3_600_000) * 3_600_000) : bucket;
  const segs: Segment[] = hourly
    ? [
        { source: '1h', from: q.from, to: Math.min(q.to, w.w1h) },
        { source: '1m', from: Math.max(q.from, w.w1h), to: q.to },
      ]
    : [{ source: '1m', from: q.from, to: q.to }];
  const robots = q.robot_ids ? ` AND ${robotWhere(q.robot_ids)}` : '';
  const accs: Accs = new Map();
  for (const seg of segs) {
    const [from, to] = tierBounds(seg);
    if (from >= to) continue;
    const db = ctx.dbs[seg.source];
    const fields = await rollupFieldNames(ctx.http, db, q.measurement);
    if (fields.length === 0) continue;
    const series = await ctx.http.query(
      db,
      `SELECT ${aggregateColumns(fields, seg.source)} FROM ${quoteIdent(q.measurement)}
       WHERE ${timeBounds(from, to)}${robots} GROUP BY time(${b}ms), * fill(none)`,
    );
    foldSeries(series, fields, accs);
  }
  const key = (a: { robot: string; tagsKey: string; field: string }) => [a.robot, a.tagsKey, a.field];
  return [...accs.values()]
    .sort((x, y) => {
      const [a, c] = [key(x), key(y)];
      for (let i = 0; i < 3; i++) if (a[i] !== c[i]) return a[i]! < c[i]! ? -1 : 1;
      return 0;
    })
    .map((a) => ({
      robot_id: a.robot,
      field: a.field,
      tags: a.tags,
      bucket_ms: b,
      buckets: [...a.buckets.entries()]
        .sort(([x], [y]) => x - y)
        .map(([t, p]) => ({
          t,
          avg: p.count ? p.sum / p.count : null,
          min: p.min,
          max: p.max,
          count: p.count,
        })),
    }));
}
