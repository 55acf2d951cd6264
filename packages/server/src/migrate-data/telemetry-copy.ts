/**
 * The telemetry half: the DuckDB file's raw points, extra fields, minute and hour roll-ups and watermarks into
 * InfluxDB, laid out as the InfluxDB store keeps them (influx-schema.ts), so a server started on the target
 * reads the same history and its maintenance continues from the source's watermarks.
 *
 * Raw points go through InfluxTelemetryStore.append (the store's own encoder and writer); roll-ups and the
 * watermark point through encodeLine / watermarkLine and an InfluxWriter on the tier databases, as the
 * store's maintenance writes them. Batches are cut at a time boundary (every row of the batch's last ms is in
 * the batch), so "every row up to lastTs is written" is exact, and a batch written again after an interruption
 * overwrites the same points (same series and time) instead of adding any: InfluxDB has no duplicates to fear.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { isMeasurementName, MEASUREMENTS, type TelemetryPoint } from '@tonypi/contracts';
import { readMeta } from '../telemetry/duckdb-schema';
import { bound, ident, num, parseTags } from '../telemetry/duckdb-sql';
import { encodeLine } from '../telemetry/influx-line-protocol';
import { type TierDatabases, watermarkLine } from '../telemetry/influx-schema';
import type { InfluxTelemetryStore } from '../telemetry/influx-telemetry-store';
import { type InfluxWriter, MAX_LINES_PER_WRITE } from '../telemetry/influx-writer';
import type { Checkpoint } from './checkpoint';
import type { Progress } from './progress';

/** A wide raw table of the DuckDB file: its measurement, tag columns and field columns. */
export interface RawSource {
  stream: string;
  table: string;
  measurement: string;
  tags: readonly string[];
  fields: readonly string[];
}

export interface TelemetryCopyOptions {
  duck: DuckDBConnection;
  store: InfluxTelemetryStore;
  writer: InfluxWriter;
  dbs: TierDatabases;
  checkpoint: Checkpoint;
  save: () => Promise<void>;
  progress: Progress;
  batchSize: number;
  now: number;
  afterBatch?: () => void;
}

/** The raw tables in the file (a measurement the code no longer declares is copied too, untagged). */
export async function readRawSources(duck: DuckDBConnection): Promise<RawSource[]> {
  const reader = await duck.runAndReadAll(
    `SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()
     WHERE database_name = current_database() AND schema_name = 'main' AND table_name LIKE 'raw\\_%' ESCAPE '\\'
       AND table_name <> 'raw_extra'
     GROUP BY table_name ORDER BY table_name`,
  );
  return reader.getRows().map(([name, columns]) => {
    const table = String(name);
    const measurement = table.slice('raw_'.length);
    const names = ((columns as { items: unknown[] }).items ?? []).map(String);
    const tags: readonly string[] = isMeasurementName(measurement) ? MEASUREMENTS[measurement].tags : [];
    return {
      stream: table,
      table,
      measurement,
      tags,
      fields: names.filter((c) => c !== 'ts' && c !== 'robot_id' && !tags.includes(c)),
    };
  });
}

async function scalar(duck: DuckDBConnection, sql: string): Promise<number> {
  return num((await duck.runAndReadAll(sql)).getRows()[0]?.[0]) ?? 0;
}

/**
 * Rows of `table` after `after` (by `timeCol`), at least `limit` unless fewer are left, ending with every row
 * of the last time in them.
 */
async function batchAfter(
  duck: DuckDBConnection,
  table: string,
  timeCol: string,
  select: string,
  after: number | null,
  limit: number,
): Promise<unknown[][]> {
  const from = bound(after ?? Number.NEGATIVE_INFINITY);
  const reader = await duck.runAndReadAll(
    `SELECT ${select} FROM ${table} WHERE ${timeCol} > $1 AND ${timeCol} <= (
       SELECT max(${timeCol}) FROM (SELECT ${timeCol} FROM ${table} WHERE ${timeCol} > $1 ORDER BY ${timeCol} LIMIT ${limit}))
     ORDER BY ${timeCol}`,
    [from],
  );
  return reader.getRows() as unknown[][];
}

/** Runs one stream's batches, keeping its checkpoint entry and the progress up to date. */
async function copyStream(
  o: TelemetryCopyOptions,
  stream: string,
  table: string,
  unit: string,
  batch: (after: number | null) => Promise<{ rows: number; lastTs: number | null }>,
): Promise<void> {
  const state = o.checkpoint.telemetry[stream] ?? { lastTs: null, done: false, rows: 0 };
  o.checkpoint.telemetry[stream] = state;
  const total = await scalar(o.duck, `SELECT count(*) FROM ${table}`);
  if (!state.done) {
    o.progress.start(stream, state.rows);
    for (;;) {
      const { rows, lastTs } = await batch(state.lastTs);
      if (rows === 0) break;
      state.lastTs = lastTs;
      state.rows += rows;
      await o.save();
      o.progress.update(stream, state.rows, total, unit);
      o.afterBatch?.();
      // A batch ends at a time boundary, so it is short of the limit only when nothing is left.
      if (rows < o.batchSize) break;
    }
    state.done = true;
    await o.save();
  }
  o.progress.finish(stream, state.rows, total, unit);
}

export async function copyRaw(o: TelemetryCopyOptions, sources: readonly RawSource[]): Promise<void> {
  for (const s of sources) {
    const select = ['ts', 'robot_id', ...s.tags, ...s.fields].map(ident).join(', ');
    await copyStream(o, s.stream, s.table, 'points', async (after) => {
      const rows = await batchAfter(o.duck, s.table, 'ts', select, after, o.batchSize);
      if (rows.length === 0) return { rows: 0, lastTs: null };
      const points: TelemetryPoint[] = rows.map((row) => {
        const tags: Record<string, string> = {};
        s.tags.forEach((t, i) => {
          const v = row[2 + i];
          if (v !== null && v !== undefined) tags[t] = String(v);
        });
        const fields: Record<string, number> = {};
        s.fields.forEach((f, i) => {
          const v = num(row[2 + s.tags.length + i] as number | bigint | null);
          if (v !== null) fields[f] = v;
        });
        return {
          measurement: s.measurement,
          robot_id: String(row[1]),
          tags,
          ts: num(row[0] as bigint)!,
          fields,
        } as TelemetryPoint;
      });
      await o.store.append(points.filter((p) => Object.keys(p.fields).length > 0));
      return { rows: rows.length, lastTs: rows.length > 0 ? num(rows.at(-1)![0] as bigint) : null };
    });
  }
}

/**
 * The unknown numeric fields (raw_extra, one row per field): rows of one point (same time, robot, measurement
 * and tags) become one point again; InfluxDB merges them with the point's known fields either way.
 */
export async function copyExtras(o: TelemetryCopyOptions): Promise<void> {
  await copyStream(o, 'raw_extra', 'raw_extra', 'values', async (after) => {
    const rows = await batchAfter(
      o.duck,
      'raw_extra',
      'ts',
      'ts, robot_id, measurement, tags, field, value',
      after,
      o.batchSize,
    );
    if (rows.length === 0) return { rows: 0, lastTs: null };
    const points = new Map<string, TelemetryPoint & { fields: Record<string, number> }>();
    for (const [ts, robot, measurement, tags, field, value] of rows) {
      const key = `${ts}\u0000${robot}\u0000${measurement}\u0000${tags}`;
      let p = points.get(key);
      if (!p) {
        p = {
          measurement: String(measurement) as TelemetryPoint['measurement'],
          robot_id: String(robot),
          tags: parseTags(String(tags)),
          ts: num(ts as bigint)!,
          fields: {},
        };
        points.set(key, p);
      }
      p.fields[String(field)] = num(value as number)!;
    }
    await o.store.append([...points.values()]);
    return { rows: rows.length, lastTs: rows.length > 0 ? num(rows.at(-1)![0] as bigint) : null };
  });
}

/** The minute and hour roll-ups, one line per window and series with `<field>_mean,_min,_max,_last,_sum,_count`. */
export async function copyRollups(o: TelemetryCopyOptions): Promise<void> {
  for (const [table, db] of [
    ['rollup_1m', o.dbs['1m']],
    ['rollup_1h', o.dbs['1h']],
  ] as const) {
    await copyStream(o, table, table, 'values', async (after) => {
      const rows = await batchAfter(
        o.duck,
        table,
        'bucket',
        'bucket, robot_id, measurement, tags, field, min_v, max_v, sum_v, count_v, last_v',
        after,
        o.batchSize,
      );
      if (rows.length === 0) return { rows: 0, lastTs: null };
      const lines = new Map<
        string,
        { measurement: string; tags: Record<string, string>; ts: number; fields: Record<string, number> }
      >();
      for (const [bucket, robot, measurement, tags, field, min, max, sum, count, last] of rows) {
        const n = num(count as bigint) ?? 0;
        const s = num(sum as number);
        if (n === 0 || s === null) continue;
        const key = `${bucket}\u0000${robot}\u0000${measurement}\u0000${tags}`;
        let line = lines.get(key);
        if (!line) {
          line = {
            measurement: String(measurement),
            tags: { robot_id: String(robot), ...parseTags(String(tags)) },
            ts: num(bucket as bigint)!,
            fields: {},
          };
          lines.set(key, line);
        }
        const f = String(field);
        const values: Record<string, number | null> = {
          [`${f}_mean`]: s / n,
          [`${f}_min`]: num(min as number),
          [`${f}_max`]: num(max as number),
          [`${f}_last`]: num(last as number),
          [`${f}_sum`]: s,
          [`${f}_count`]: n,
        };
        for (const [k, v] of Object.entries(values)) if (v !== null) line.fields[k] = v;
      }
      const encoded = [...lines.values()].flatMap((l) => encodeLine(l) ?? []);
      for (let i = 0; i < encoded.length; i += MAX_LINES_PER_WRITE) {
        await o.writer.write(db, encoded.slice(i, i + MAX_LINES_PER_WRITE));
      }
      return { rows: rows.length, lastTs: rows.length > 0 ? num(rows.at(-1)![0] as bigint) : null };
    });
  }
}

/** The source's watermarks and cut-offs as the InfluxDB store's watermark point, so its maintenance continues. */
export async function copyWatermarks(o: TelemetryCopyOptions): Promise<void> {
  if (o.checkpoint.watermarksDone) return;
  const meta = await readMeta(o.duck);
  const line = watermarkLine(meta, o.now);
  if (line) await o.writer.write(o.dbs['1m'], [line]);
  o.progress.line(
    line
      ? `watermarks: minute roll-ups up to ${iso(meta.w1m)}, hour roll-ups up to ${iso(meta.w1h)}`
      : 'watermarks: none yet (the source never ran its maintenance)',
  );
  o.checkpoint.watermarksDone = true;
  await o.save();
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '(none)';
}
