/**
 * Maintenance of the DuckDB telemetry store: raw points rolled up into minute and hour partial aggregates,
 * minutes that received late points recomputed, and what the retention policy no longer keeps deleted.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { type Meta, type RawTable, readMeta, writeMeta } from './duckdb-schema';
import { big, bound, bucketSql, floorTo, ident, literal, num, tagsSqlOf } from './duckdb-sql';
import { HOUR_MS, MINUTE_MS } from './range-buckets';
import type { MaintenanceResult, RetentionPolicy } from './telemetry-store';

/** What maintenance needs from the store. */
export interface MaintenanceContext {
  /** The maintenance connection: no appender and no read runs on it, so its transaction is maintenance's own. */
  readonly conn: DuckDBConnection;
  readonly tables: Iterable<RawTable>;
  /** Runs `fn` under the store's write lock: between two appends, never during a flush. */
  withWriteLock<T>(fn: () => Promise<T>): Promise<T>;
  /** From now on, appends record points before `ms` as late. Called under the write lock. */
  markLateBefore(ms: number): void;
}

/**
 * Rolls every complete minute (and hour) since the last run up, recomputes minutes that received late points,
 * then deletes what the policy no longer keeps, all in one transaction. Raw rows are never deleted before their
 * minute is rolled up, nor minute rows before their hour is.
 * `rolled_up_minutes` / `rolled_up_hours` count the distinct minute / hour buckets written.
 */
export async function rollUpAndExpire(
  ctx: MaintenanceContext,
  now: number,
  policy: RetentionPolicy,
): Promise<MaintenanceResult> {
  const c = ctx.conn;
  const result: MaintenanceResult = {
    rolled_up_minutes: 0,
    rolled_up_hours: 0,
    deleted_raw: 0,
    deleted_minute: 0,
    deleted_hour: 0,
  };
  const minuteEnd = floorTo(now, MINUTE_MS);
  // Between two appends: from here on points before minuteEnd are marked late, and every earlier point is
  // in the snapshot this transaction reads. The SELECT takes that snapshot: DuckDB starts a transaction's
  // snapshot at its first query that reads a table, not at BEGIN.
  await ctx.withWriteLock(async () => {
    ctx.markLateBefore(minuteEnd);
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run('SELECT count(*) FROM telemetry_meta');
    } catch (err) {
      // Never leave the maintenance connection inside a transaction: every later run would fail.
      await c.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
  try {
    const old = await readMeta(c);
    const w1m = Math.max(old.w1m, minuteEnd);
    const w1h = Math.max(old.w1h, floorTo(w1m, HOUR_MS));

    const recomputed = await recomputeLate(c, ctx.tables, old, w1m, result);

    // Complete minutes and hours not rolled up yet.
    if (w1m > old.w1m) {
      await rollUpRaw(c, ctx.tables, old.w1m, w1m);
      result.rolled_up_minutes += await scalar(
        c,
        'SELECT count(DISTINCT bucket) FROM rollup_1m WHERE bucket >= $1 AND bucket < $2',
        [bound(old.w1m), big(w1m)],
      );
    }
    if (w1h > old.w1h) {
      await rollUpHours(c, old.w1h, w1h);
      result.rolled_up_hours += await scalar(
        c,
        'SELECT count(DISTINCT bucket) FROM rollup_1h WHERE bucket >= $1 AND bucket < $2',
        [bound(old.w1h), big(w1h)],
      );
    }

    // Retention; cut-offs only move forward and never past what is rolled up.
    const cutRaw = Math.max(old.cutRaw, Math.min(floorTo(now - policy.raw_ms, MINUTE_MS), w1m));
    const cut1m = Math.max(old.cut1m, Math.min(floorTo(now - policy.minute_ms, HOUR_MS), w1h));
    const cut1h = floorTo(now - policy.hour_ms, HOUR_MS);
    if (Number.isFinite(cutRaw)) {
      for (const t of ctx.tables) {
        result.deleted_raw += (
          await c.run(`DELETE FROM ${t.table} WHERE ts < $1`, [big(cutRaw)])
        ).rowsChanged;
      }
      result.deleted_raw += (await c.run('DELETE FROM raw_extra WHERE ts < $1', [big(cutRaw)])).rowsChanged;
    }
    if (Number.isFinite(cut1m)) {
      result.deleted_minute = (
        await c.run('DELETE FROM rollup_1m WHERE bucket < $1', [big(cut1m)])
      ).rowsChanged;
    }
    result.deleted_hour = (
      await c.run('DELETE FROM rollup_1h WHERE bucket < $1', [bound(cut1h)])
    ).rowsChanged;

    // What range queries read before W_1m changed: cached closed buckets of the old generation are stale.
    // Raw deletions (C_raw, every minute once raw retention is reached) do not count: raw rows before W_1m
    // answer only raw-grain queries, whose buckets are never cached.
    const changed =
      recomputed ||
      w1h !== old.w1h ||
      cut1m !== old.cut1m ||
      result.deleted_minute > 0 ||
      result.deleted_hour > 0;
    const generation = old.generation + (changed ? 1 : 0);
    await writeMeta(c, { w1m, w1h, cutRaw, cut1m, generation });
    await ctx.withWriteLock(() => c.run('COMMIT'));
  } catch (err) {
    await c.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return result;
}

/**
 * Late points: recomputes their minutes (while raw still holds the whole minute), then their hours (while the
 * minute roll-ups of the whole hour are still kept). Dirty minutes from `old.w1m` on are rolled up by the
 * caller anyway, so they are only cleared here. Says whether it recomputed any minute.
 */
async function recomputeLate(
  c: DuckDBConnection,
  tables: Iterable<RawTable>,
  old: Meta,
  w1m: number,
  result: MaintenanceResult,
): Promise<boolean> {
  await c.run(
    `CREATE OR REPLACE TEMP TABLE tp_dirty_minutes AS
     SELECT DISTINCT robot_id, minute FROM rollup_dirty WHERE minute < $1 AND minute >= $2`,
    [bound(old.w1m), bound(old.cutRaw)],
  );
  await c.run('DELETE FROM rollup_dirty WHERE minute < $1', [big(w1m)]);
  const [dirtyMinutes, firstMinute, lastMinute] = await firstRow(
    c,
    'SELECT count(DISTINCT minute), min(minute), max(minute) FROM tp_dirty_minutes',
  );
  if (!dirtyMinutes || firstMinute == null || lastMinute == null) return false;
  await c.run(
    `DELETE FROM rollup_1m r USING tp_dirty_minutes d WHERE r.robot_id = d.robot_id AND r.bucket = d.minute`,
  );
  await rollUpRaw(
    c,
    tables,
    firstMinute,
    lastMinute + MINUTE_MS,
    `EXISTS (SELECT 1 FROM tp_dirty_minutes d WHERE d.robot_id = x.robot_id AND d.minute = ${bucketSql('x.ts', MINUTE_MS)})`,
  );
  result.rolled_up_minutes += dirtyMinutes;

  await c.run(
    `CREATE OR REPLACE TEMP TABLE tp_dirty_hours AS
     SELECT DISTINCT robot_id, ${bucketSql('minute', HOUR_MS)} AS hour FROM tp_dirty_minutes
     WHERE minute < $1 AND minute >= $2`,
    [bound(old.w1h), bound(old.cut1m)],
  );
  const [dirtyHours, firstHour, lastHour] = await firstRow(
    c,
    'SELECT count(DISTINCT hour), min(hour), max(hour) FROM tp_dirty_hours',
  );
  if (!dirtyHours || firstHour == null || lastHour == null) return true;
  await c.run(
    `DELETE FROM rollup_1h r USING tp_dirty_hours d WHERE r.robot_id = d.robot_id AND r.bucket = d.hour`,
  );
  await rollUpHours(
    c,
    firstHour,
    lastHour + HOUR_MS,
    `EXISTS (SELECT 1 FROM tp_dirty_hours d WHERE d.robot_id = x.robot_id AND d.hour = ${bucketSql('x.bucket', HOUR_MS)})`,
  );
  result.rolled_up_hours += dirtyHours;
  return true;
}

/** Six aggregate columns per field for a roll-up: min, max, sum, count, last, time of last (qualified by `prefix`). */
function aggregateColumns(fields: readonly string[], prefix = ''): string {
  const ts = `${prefix}ts`;
  return fields
    .map((f) => {
      const c = `${prefix}${ident(f)}`;
      const nn = `FILTER (WHERE ${c} IS NOT NULL)`;
      return `min(${c}), max(${c}), sum(${c}), count(${c}), arg_max(${c}, ${ts}) ${nn}, max(${ts}) ${nn}`;
    })
    .join(', ');
}

/**
 * Minute roll-ups of raw rows (wide tables and extras) with `from <= ts < to` and `where` (on alias x). A wide
 * table is aggregated once for all its fields, then unpivoted into one narrow row per field that has values.
 */
async function rollUpRaw(
  c: DuckDBConnection,
  tables: Iterable<RawTable>,
  from: number,
  to: number,
  where = 'true',
): Promise<void> {
  const params = [bound(from), big(to)];
  const bucket = bucketSql('x.ts', MINUTE_MS);
  for (const t of tables) {
    if (t.fields.length === 0) continue;
    const names = t.fields.map((_, i) => `mn${i}, mx${i}, sm${i}, ct${i}, ls${i}, lt${i}`);
    const perField = t.fields.map(
      (f, i) =>
        `SELECT bucket, robot_id, ${literal(t.measurement)}, tags, ${literal(f)}, ${names[i]} FROM a WHERE ct${i} > 0`,
    );
    await c.run(
      `INSERT INTO rollup_1m
       WITH a (bucket, robot_id, tags, ${names.join(', ')}) AS (
         SELECT ${bucket}, x.robot_id, ${tagsSqlOf(t.tags, 'x.')}, ${aggregateColumns(t.fields, 'x.')}
         FROM ${t.table} x WHERE x.ts >= $1 AND x.ts < $2 AND ${where}
         GROUP BY ALL
       )
       ${perField.join('\nUNION ALL ')}`,
      params,
    );
  }
  await c.run(
    `INSERT INTO rollup_1m
     SELECT ${bucket}, x.robot_id, x.measurement, x.tags, x.field,
       min(x.value), max(x.value), sum(x.value), count(x.value), arg_max(x.value, x.ts), max(x.ts)
     FROM raw_extra x WHERE x.ts >= $1 AND x.ts < $2 AND ${where}
     GROUP BY ALL`,
    params,
  );
}

/** Hour roll-ups of minute roll-ups with `from <= bucket < to` and `where` (on alias x). */
async function rollUpHours(c: DuckDBConnection, from: number, to: number, where = 'true'): Promise<void> {
  await c.run(
    `INSERT INTO rollup_1h
     SELECT ${bucketSql('x.bucket', HOUR_MS)}, x.robot_id, x.measurement, x.tags, x.field,
       min(x.min_v), max(x.max_v), sum(x.sum_v), sum(x.count_v), arg_max(x.last_v, x.last_ts), max(x.last_ts)
     FROM rollup_1m x WHERE x.bucket >= $1 AND x.bucket < $2 AND ${where}
     GROUP BY ALL`,
    [bound(from), big(to)],
  );
}

async function scalar(c: DuckDBConnection, sql: string, params?: DuckDBValue[]): Promise<number> {
  return (await firstRow(c, sql, params))[0] ?? 0;
}

/** The first row of a query, as numbers (null for NULL or a non-number). */
async function firstRow(
  c: DuckDBConnection,
  sql: string,
  params?: DuckDBValue[],
): Promise<(number | null)[]> {
  const reader = await c.runAndReadAll(sql, params);
  return (reader.getRows()[0] ?? []).map(num);
}
