/**
 * The DuckDB telemetry store's tables: what they hold, how they are created (and grown when MEASUREMENTS
 * gains a field), and the meta row of watermarks and cut-offs.
 *
 * raw_<measurement>  one wide row per point: ts, robot_id, one VARCHAR per tag, one DOUBLE per known field.
 * raw_extra          one narrow row per unknown field: ts, robot_id, measurement, tags, field, value.
 * rollup_1m/1h       narrow partial aggregates per (bucket, robot, measurement, tags, field): min, max, sum,
 *                    count, last and the time of last, so averages (sum / count) and coarser buckets
 *                    re-aggregate exactly.
 * telemetry_meta     roll-up watermarks (everything before them is rolled up) and retention cut-offs
 *                    (everything before them is deleted), one row per key; and the generation, which
 *                    maintenance bumps whenever roll-ups before the minute watermark change (range-cache.ts).
 * rollup_dirty       (robot, minute) pairs that received late points after their minute was rolled up;
 *                    maintain() recomputes them.
 *
 * Timestamps are BIGINT epoch milliseconds, not TIMESTAMP: the appender takes a JS number for a BIGINT column
 * (`appendDouble`, cast inside DuckDB), where a TIMESTAMP needs a BigInt and a value object per row; buckets
 * are integer arithmetic (`ts // b * b`, for any bucket size, no interval parsing); min/max zone maps prune
 * time ranges the same way; BIGINT results are turned into JS numbers (exact below 2^53). Points before 1970
 * (ts < 0) are dropped.
 *
 * Tags in the narrow tables are the series' declared tags as JSON text in declaration order with null for a
 * missing one (`{"servo_id":"3"}`, `{}` for untagged measurements). DuckDB's `json_object(...)::VARCHAR` and
 * `JSON.stringify` produce the same text, so keys built in SQL (roll-ups) and in JS (extras) match.
 * Tags a measurement does not declare are not stored (a warning is logged once per measurement and tag).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  FIELD_NAME_RE,
  isMeasurementName,
  MEASUREMENT_NAMES,
  MEASUREMENTS,
  type MeasurementName,
} from '@tonypi/contracts';
import { big, ident, num, tagsSqlOf } from './duckdb-sql';

/** A measurement's wide raw table. */
export interface RawTable {
  measurement: MeasurementName;
  table: string;
  tags: readonly string[];
  /** The measurement's known fields (what queries use). */
  fields: readonly string[];
  /** The table's DOUBLE columns in table order (what the appender fills). */
  columns: readonly string[];
  /** Known field → position in `columns`. */
  columnIndex: ReadonlyMap<string, number>;
  /** SQL expression: the series' tags as JSON text. */
  tagsSql: string;
}

/** Roll-up watermarks and retention cut-offs, epoch ms; -∞ until the first maintain() sets them. */
export interface Meta {
  w1m: number;
  w1h: number;
  cutRaw: number;
  cut1m: number;
  /**
   * Bumped by maintenance whenever what range queries read before W_1m changes (late minutes recomputed,
   * W_1h or C_1m moved, roll-ups deleted); 0 until then. Cached closed buckets are of one generation.
   */
  generation: number;
}

/** `telemetry_meta` keys, in the order maintain() writes them. */
const META_KEYS = {
  w1m: 'watermark_1m',
  w1h: 'watermark_1h',
  cutRaw: 'cutoff_raw',
  cut1m: 'cutoff_1m',
  generation: 'generation',
} as const satisfies Record<keyof Meta, string>;

const RESERVED_COLUMNS = new Set(['ts', 'robot_id']);

// Tag and field names become column names next to ts and robot_id: check them once, at load.
for (const m of MEASUREMENT_NAMES) {
  const { tags, fields } = MEASUREMENTS[m];
  for (const name of [...tags, ...fields]) {
    if (!FIELD_NAME_RE.test(name) || RESERVED_COLUMNS.has(name))
      throw new Error(`Bad column name ${m}.${name}`);
  }
  if (new Set<string>([...tags, ...fields]).size !== tags.length + fields.length) {
    throw new Error(`Measurement ${m} declares a name twice`);
  }
}

/** Creates the tables that do not exist yet, adds new known fields as columns, and describes the raw tables. */
export async function createTables(c: DuckDBConnection): Promise<Map<MeasurementName, RawTable>> {
  await c.run('CREATE TABLE IF NOT EXISTS telemetry_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)');
  await c.run(
    `CREATE TABLE IF NOT EXISTS raw_extra (ts BIGINT NOT NULL, robot_id VARCHAR NOT NULL,
      measurement VARCHAR NOT NULL, tags VARCHAR NOT NULL, field VARCHAR NOT NULL, value DOUBLE NOT NULL)`,
  );
  for (const r of ['rollup_1m', 'rollup_1h']) {
    await c.run(
      `CREATE TABLE IF NOT EXISTS ${r} (bucket BIGINT NOT NULL, robot_id VARCHAR NOT NULL,
        measurement VARCHAR NOT NULL, tags VARCHAR NOT NULL, field VARCHAR NOT NULL, min_v DOUBLE, max_v DOUBLE,
        sum_v DOUBLE, count_v BIGINT NOT NULL, last_v DOUBLE, last_ts BIGINT)`,
    );
  }
  await c.run('CREATE TABLE IF NOT EXISTS rollup_dirty (robot_id VARCHAR NOT NULL, minute BIGINT NOT NULL)');

  const tables = new Map<MeasurementName, RawTable>();
  for (const m of MEASUREMENT_NAMES) tables.set(m, await createRawTable(c, m));
  return tables;
}

async function createRawTable(c: DuckDBConnection, m: MeasurementName): Promise<RawTable> {
  const { tags, fields } = MEASUREMENTS[m];
  const table = `raw_${m}`;
  const tagCols = tags.map((t) => `, ${ident(t)} VARCHAR`).join('');
  const fieldCols = fields.map((f) => `, ${ident(f)} DOUBLE`).join('');
  await c.run(
    `CREATE TABLE IF NOT EXISTS ${table} (ts BIGINT NOT NULL, robot_id VARCHAR NOT NULL${tagCols}${fieldCols})`,
  );
  const layout = async () =>
    (
      await c.runAndReadAll(
        `SELECT column_name FROM duckdb_columns()
         WHERE database_name = current_database() AND schema_name = 'main' AND table_name = $1
         ORDER BY column_index`,
        [table],
      )
    )
      .getRows()
      .map((row) => String(row[0]));
  let names = await layout();
  // A field added to MEASUREMENTS later becomes a new column of an existing table.
  const missing = fields.filter((f) => !names.includes(f));
  for (const f of missing) await c.run(`ALTER TABLE ${table} ADD COLUMN ${ident(f)} DOUBLE`);
  if (missing.length > 0) names = await layout();
  const expected = ['ts', 'robot_id', ...tags];
  if (names.slice(0, expected.length).join() !== expected.join()) {
    throw new Error(`Table ${table} has columns ${names.join(', ')}; expected ${expected.join(', ')} first`);
  }
  // A field removed from MEASUREMENTS keeps its column; the appender fills it with NULL.
  const columns = names.slice(expected.length);
  return {
    measurement: m,
    table,
    tags,
    fields,
    columns,
    columnIndex: new Map(fields.map((f) => [f, columns.indexOf(f)])),
    tagsSql: tagsSqlOf(tags),
  };
}

/** The raw table of a measurement; throws for a name that is not a measurement. */
export function tableOf(tables: ReadonlyMap<MeasurementName, RawTable>, measurement: string): RawTable {
  const t = isMeasurementName(measurement) ? tables.get(measurement) : undefined;
  if (!t) throw new Error(`Unknown measurement ${JSON.stringify(measurement)}`);
  return t;
}

export async function readMeta(c: DuckDBConnection): Promise<Meta> {
  const reader = await c.runAndReadAll('SELECT key, value FROM telemetry_meta');
  const values = new Map(reader.getRows().map(([k, v]) => [String(k), num(v) ?? Number.NEGATIVE_INFINITY]));
  const get = (key: string) => values.get(key) ?? Number.NEGATIVE_INFINITY;
  return {
    w1m: get(META_KEYS.w1m),
    w1h: get(META_KEYS.w1h),
    cutRaw: get(META_KEYS.cutRaw),
    cut1m: get(META_KEYS.cut1m),
    generation: values.get(META_KEYS.generation) ?? 0,
  };
}

/** Stores the finite values (an infinite one means "not set yet" and keeps its row absent). */
export async function writeMeta(c: DuckDBConnection, meta: Meta): Promise<void> {
  for (const [k, key] of Object.entries(META_KEYS) as [keyof Meta, string][]) {
    const value = meta[k];
    if (Number.isFinite(value)) {
      await c.run('INSERT OR REPLACE INTO telemetry_meta VALUES ($1, $2)', [key, big(value)]);
    }
  }
}
