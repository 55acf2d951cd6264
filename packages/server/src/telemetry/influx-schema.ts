/**
 * The InfluxDB store's layout, fixed because Grafana dashboards are written against it: one database per
 * tier, `<prefix>_raw`, `<prefix>_1m`, `<prefix>_1h`; measurement = the telemetry measurement; tags =
 * `robot_id` plus the measurement's declared tags; raw fields = the point's fields as floats; roll-up fields
 * `<field>_mean,_min,_max,_last,_sum,_count` at the window's start. Plus the maintenance watermarks, one
 * point per change in `<prefix>_1m`'s `tonypi_watermark` (see influx-rollups.ts for why there).
 */
import type { Resolution } from '@tonypi/contracts';
import type { InfluxHttp, QuerySeries } from './influx-http';
import { MAX_TIME_MS, quoteIdent, timeBounds } from './influx-line-protocol';

export interface TierDatabases {
  raw: string;
  '1m': string;
  '1h': string;
}

export function tierDatabases(prefix: string): TierDatabases {
  return { raw: `${prefix}_raw`, '1m': `${prefix}_1m`, '1h': `${prefix}_1h` };
}

/** The grain of a tier's points: what its GROUP BY time() may not go below. */
export const TIER_GRAIN_MS: Record<Resolution, number> = { raw: 1, '1m': 60_000, '1h': 3_600_000 };

/** The aggregates a roll-up point holds per field, as `<field>_<suffix>`. */
export const ROLLUP_SUFFIXES = ['mean', 'min', 'max', 'last', 'sum', 'count'] as const;

export const WATERMARK_MEASUREMENT = 'tonypi_watermark';

/**
 * Roll-up watermarks and retention cut-offs, as the DuckDB store keeps them (duckdb-schema.ts): everything
 * before W_1m is in minute roll-ups, before W_1h in hour roll-ups; raw points before C_raw and minute roll-ups
 * before C_1m are deleted. -Infinity: not yet.
 */
export interface Watermarks {
  w1m: number;
  w1h: number;
  cutRaw: number;
  cut1m: number;
}

export const NO_WATERMARKS: Watermarks = {
  w1m: Number.NEGATIVE_INFINITY,
  w1h: Number.NEGATIVE_INFINITY,
  cutRaw: Number.NEGATIVE_INFINITY,
  cut1m: Number.NEGATIVE_INFINITY,
};

const WATERMARK_FIELDS = { w1m: 'w1m', w1h: 'w1h', cutRaw: 'cut_raw', cut1m: 'cut_1m' } as const;

export async function readWatermarks(http: InfluxHttp, dbs: TierDatabases): Promise<Watermarks> {
  const cols = Object.values(WATERMARK_FIELDS)
    .map((f) => `last(${quoteIdent(f)}) AS ${quoteIdent(f)}`)
    .join(', ');
  const series = await http.query(
    dbs['1m'],
    `SELECT ${cols} FROM ${quoteIdent(WATERMARK_MEASUREMENT)} WHERE ${timeBounds(0, MAX_TIME_MS)}`,
  );
  const row = rowsOf(series[0])[0];
  const get = (f: string) => {
    const v = row?.[f];
    return typeof v === 'number' ? v : Number.NEGATIVE_INFINITY;
  };
  return {
    w1m: get(WATERMARK_FIELDS.w1m),
    w1h: get(WATERMARK_FIELDS.w1h),
    cutRaw: get(WATERMARK_FIELDS.cutRaw),
    cut1m: get(WATERMARK_FIELDS.cut1m),
  };
}

/** The watermarks as one line at `ts` (a new point per change: no point is ever overwritten). */
export function watermarkLine(w: Watermarks, ts: number): string | undefined {
  const fields = (Object.keys(WATERMARK_FIELDS) as (keyof Watermarks)[])
    .filter((k) => Number.isFinite(w[k]))
    .map((k) => `${WATERMARK_FIELDS[k]}=${w[k]}`);
  if (fields.length === 0) return undefined;
  return `${WATERMARK_MEASUREMENT} ${fields.join(',')} ${Math.round(ts)}`;
}

/** A series' rows as objects keyed by column name. */
export function rowsOf(series: QuerySeries | undefined): Record<string, unknown>[] {
  if (!series) return [];
  return series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]])));
}

/** The series' tags without `robot_id` and without the empty values GROUP BY * gives for absent tags. */
export function seriesTags(series: QuerySeries): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(series.tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (k !== 'robot_id' && v !== '') tags[k] = v;
  }
  return tags;
}

/** Field keys of a measurement in a tier's database. */
export async function fieldKeys(http: InfluxHttp, db: string, measurement: string): Promise<string[]> {
  const series = await http.query(db, `SHOW FIELD KEYS FROM ${quoteIdent(measurement)}`);
  return rowsOf(series[0])
    .map((r) => r.fieldKey)
    .filter((k): k is string => typeof k === 'string');
}

/** The base field names of a roll-up tier (`x_sum` … → `x`), from its `_count` keys. */
export async function rollupFieldNames(http: InfluxHttp, db: string, measurement: string): Promise<string[]> {
  return (await fieldKeys(http, db, measurement))
    .filter((k) => k.endsWith('_count'))
    .map((k) => k.slice(0, -'_count'.length));
}
