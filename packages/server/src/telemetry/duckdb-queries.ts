/**
 * The read paths of the DuckDB telemetry store: latest points, bucketed ranges (stitched from raw rows and
 * roll-ups), and the field names that hold data. Each runs on a pooled reader connection.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { FIELD_NAME_RE, type MeasurementName, type Resolution } from '@tonypi/contracts';
import { type Meta, type RawTable, readMeta, tableOf } from './duckdb-schema';
import { big, bucketSql, ident, num, parseTags } from './duckdb-sql';
import { chooseBucketMs, resolutionForBucket } from './range-buckets';
import type { LatestPoint, RangeBucket, RangeQuery, RangeResult, RangeSeries } from './telemetry-store';

const LATEST_LOOKBACK_MS = 3600_000;
const FIELDS_LOOKBACK_MS = 24 * 3600_000;

/** Runs `fn` on a reader connection of the store's pool. */
export type WithReader = <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>;

type Tables = ReadonlyMap<MeasurementName, RawTable>;

interface PartialAgg {
  min: number;
  max: number;
  sum: number;
  count: number;
  last: number | null;
}

interface SeriesAcc {
  field: string;
  tags: string;
  buckets: Map<number, PartialAgg>;
}

type AccOf = (field: string, tags: string) => SeriesAcc;

interface Segment {
  source: Resolution;
  from: number;
  to: number;
}

export async function queryLatest(
  withReader: WithReader,
  tables: Tables,
  robot_id: string,
  opts: { measurement?: MeasurementName; lookback_ms?: number },
): Promise<LatestPoint[]> {
  const measurements = opts.measurement ? [tableOf(tables, opts.measurement)] : [...tables.values()];
  const since = big(Date.now() - (opts.lookback_ms ?? LATEST_LOOKBACK_MS));
  return withReader(async (c) => {
    const out: LatestPoint[] = [];
    /** `measurement \0 tags text \0 ts` → point, to attach the unknown fields stored beside it. */
    const byKey = new Map<string, LatestPoint>();
    for (const t of measurements) {
      const partition = t.tags.length > 0 ? `PARTITION BY ${t.tags.map(ident).join(', ')}` : '';
      const reader = await c.runAndReadAll(
        `SELECT ts, ${t.tagsSql}, ${t.fields.map(ident).join(', ')}
         FROM ${t.table} WHERE robot_id = $1 AND ts >= $2
         QUALIFY row_number() OVER (${partition} ORDER BY ts DESC) = 1
         ORDER BY 2`,
        [robot_id, since],
      );
      for (const row of reader.getRows()) {
        const ts = num(row[0])!;
        const tags = String(row[1]);
        const fields: Record<string, number> = {};
        t.fields.forEach((f, i) => {
          const v = num(row[2 + i]);
          if (v !== null) fields[f] = v;
        });
        const point: LatestPoint = { measurement: t.measurement, tags: parseTags(tags), ts, fields };
        out.push(point);
        byKey.set(`${t.measurement}\u0000${tags}\u0000${ts}`, point);
      }
    }
    if (out.length === 0) return out;
    // Unknown fields are in raw_extra, keyed like the wide rows: fetch those of exactly the points found.
    const stamps = [...new Set(out.map((p) => p.ts))];
    const params: DuckDBValue[] = [robot_id, big(Math.min(...stamps))];
    const inList = stamps.map((ts) => `$${params.push(big(ts))}`).join(', ');
    const onlyOne = opts.measurement ? ` AND measurement = $${params.push(opts.measurement)}` : '';
    const extras = await c.runAndReadAll(
      `SELECT measurement, tags, ts, field, value FROM raw_extra
       WHERE robot_id = $1 AND ts >= $2 AND ts IN (${inList})${onlyOne}`,
      params,
    );
    for (const [m, tags, ts, field, value] of extras.getRows()) {
      const point = byKey.get(`${String(m)}\u0000${String(tags)}\u0000${num(ts)}`);
      if (point && typeof value === 'number') point.fields[String(field)] = value;
    }
    return out;
  });
}

export async function queryRange(
  withReader: WithReader,
  tables: Tables,
  q: RangeQuery,
): Promise<RangeResult> {
  const t = tableOf(tables, q.measurement);
  const fields = [...new Set(q.fields.length > 0 ? q.fields : t.fields)];
  for (const f of fields) {
    if (typeof f !== 'string' || !FIELD_NAME_RE.test(f))
      throw new Error(`Invalid field name ${JSON.stringify(f)}`);
  }
  const tagFilter = Object.entries(q.tags ?? {});
  for (const [k] of tagFilter) {
    if (!FIELD_NAME_RE.test(k)) throw new Error(`Invalid tag name ${JSON.stringify(k)}`);
  }
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to))
    throw new Error('range: from and to must be finite');
  const span = q.to - q.from;
  const bucket = chooseBucketMs(Math.max(span, 0), q.points);
  const resolution = resolutionForBucket(bucket);
  const result: RangeResult = { resolution, bucket_ms: bucket, series: [] };
  // A tag the measurement does not have matches no series.
  if (span <= 0 || tagFilter.some(([k]) => !t.tags.includes(k))) return result;

  const known = fields.filter((f) => t.columnIndex.has(f));
  const extraFields = fields.filter((f) => !t.columnIndex.has(f));
  const acc = new Map<string, SeriesAcc>();
  const accOf: AccOf = (field, tags) => {
    const key = `${field}\u0000${tags}`;
    const s = acc.get(key) ?? { field, tags, buckets: new Map<number, PartialAgg>() };
    acc.set(key, s);
    return s;
  };

  await withReader(async (c) => {
    // One snapshot for the watermarks and every part, so maintenance in between cannot hide data.
    await c.run('BEGIN TRANSACTION');
    try {
      const meta = await readMeta(c);
      for (const seg of segments(resolution, q.from, q.to, meta)) {
        if (seg.source === 'raw') {
          if (known.length > 0) await rangeRawWide(c, t, q.robot_id, known, seg, bucket, tagFilter, accOf);
          if (extraFields.length > 0) {
            await rangeNarrow(c, 'raw_extra', t, q.robot_id, extraFields, seg, bucket, tagFilter, accOf);
          }
        } else {
          const table = seg.source === '1m' ? 'rollup_1m' : 'rollup_1h';
          await rangeNarrow(c, table, t, q.robot_id, fields, seg, bucket, tagFilter, accOf);
        }
      }
    } finally {
      await c.run('ROLLBACK');
    }
  });

  const order = new Map(fields.map((f, i) => [f, i]));
  result.series = [...acc.values()]
    .sort(
      (a, b) => order.get(a.field)! - order.get(b.field)! || (a.tags < b.tags ? -1 : a.tags > b.tags ? 1 : 0),
    )
    .map(
      (s): RangeSeries => ({
        field: s.field,
        tags: parseTags(s.tags),
        buckets: [...s.buckets.entries()]
          .filter(([, p]) => p.count > 0)
          .sort(([a], [b]) => a - b)
          .map(
            ([bt, p]): RangeBucket => ({
              t: bt,
              // Ingest bounds values, but a store fed directly could overflow a sum: no Infinity in JSON.
              avg: finiteOrNull(p.sum / p.count),
              min: p.min,
              max: p.max,
              last: p.last,
              count: p.count,
            }),
          ),
      }),
    )
    .filter((s) => s.buckets.length > 0);
  return result;
}

export async function queryFields(
  withReader: WithReader,
  tables: Tables,
  robot_id: string,
  measurement: MeasurementName,
  lookback_ms = FIELDS_LOOKBACK_MS,
): Promise<string[]> {
  const t = tableOf(tables, measurement);
  const since = Date.now() - lookback_ms;
  return withReader(async (c) => {
    // One snapshot for the cut-offs and the names.
    await c.run('BEGIN TRANSACTION');
    try {
      const meta = await readMeta(c);
      const counts = await c.runAndReadAll(
        `SELECT ${t.fields.map((f) => `count(${ident(f)})`).join(', ')} FROM ${t.table}
         WHERE robot_id = $1 AND ts >= $2`,
        [robot_id, big(since)],
      );
      const row = counts.getRows()[0] ?? [];
      const found = new Set(t.fields.filter((_, i) => (num(row[i]) ?? 0) > 0));
      const narrow = [
        `SELECT DISTINCT field FROM raw_extra WHERE robot_id = $1 AND measurement = $2 AND ts >= $3`,
      ];
      // Older than raw retention: the roll-ups still know the names.
      if (since < meta.cutRaw) {
        narrow.push(
          'SELECT DISTINCT field FROM rollup_1m WHERE robot_id = $1 AND measurement = $2 AND bucket >= $3',
        );
      }
      if (since < meta.cut1m) {
        narrow.push(
          'SELECT DISTINCT field FROM rollup_1h WHERE robot_id = $1 AND measurement = $2 AND bucket >= $3',
        );
      }
      const names = await c.runAndReadAll(narrow.join(' UNION '), [robot_id, measurement, big(since)]);
      const extra = new Set<string>();
      for (const [f] of names.getRows()) {
        const name = String(f);
        if (t.columnIndex.has(name)) found.add(name);
        else extra.add(name);
      }
      return [...t.fields.filter((f) => found.has(f)), ...[...extra].sort()];
    } finally {
      await c.run('ROLLBACK');
    }
  });
}

/**
 * Which stored table answers which part of [from, to). With W = roll-up watermarks and C = retention
 * cut-offs (C_raw ≤ W_1m and C_1m ≤ W_1h by construction):
 * - 1h buckets: hour roll-ups before W_1h, minute roll-ups up to W_1m, raw after (not rolled up yet);
 * - 1m buckets: hour roll-ups before C_1m (minutes deleted), minute roll-ups up to W_1m, raw after;
 * - raw buckets: raw from C_raw on, minute roll-ups before it, hour roll-ups before C_1m.
 * Roll-up rows are taken by bucket start, so windows not aligned to the roll-up are answered at its grain.
 * The segments are in time order and never overlap.
 */
function segments(res: Resolution, from: number, to: number, m: Meta): Segment[] {
  let a: number;
  let b: number;
  if (res === '1h') [a, b] = [m.w1h, m.w1m];
  else if (res === '1m') [a, b] = [m.cut1m, m.w1m];
  else [a, b] = [Math.min(m.cut1m, m.cutRaw), m.cutRaw];
  a = Math.min(a, b);
  const segs: Segment[] = [
    { source: '1h', from, to: Math.min(to, a) },
    { source: '1m', from: Math.max(from, a), to: Math.min(to, b) },
    { source: 'raw', from: Math.max(from, b), to },
  ];
  return segs.filter((s) => s.from < s.to);
}

/**
 * Folds a partial aggregate into its bucket. Parts are added in time order (segments never overlap), so the
 * later part's `last` wins.
 */
function addPartial(acc: SeriesAcc, t: number, p: PartialAgg): void {
  const b = acc.buckets.get(t);
  if (!b) {
    acc.buckets.set(t, p);
    return;
  }
  b.min = Math.min(b.min, p.min);
  b.max = Math.max(b.max, p.max);
  b.sum += p.sum;
  b.count += p.count;
  b.last = p.last;
}

/** Known fields of a raw segment: one scan of the wide table aggregates them all. */
async function rangeRawWide(
  c: DuckDBConnection,
  t: RawTable,
  robot: string,
  fields: readonly string[],
  seg: Segment,
  bucket: number,
  tagFilter: [string, string][],
  accOf: AccOf,
): Promise<void> {
  const params: DuckDBValue[] = [robot, big(seg.from), big(seg.to)];
  const tagWhere = tagFilter.map(([k, v]) => ` AND ${ident(k)} = $${params.push(v)}`).join('');
  const aggs = fields.map((f) => {
    const col = ident(f);
    return `min(${col}), max(${col}), sum(${col}), count(${col})::DOUBLE, arg_max(${col}, ts)`;
  });
  const reader = await c.runAndReadAll(
    `SELECT (${bucketSql('ts', bucket)})::DOUBLE AS t, ${t.tagsSql} AS tags, ${aggs.join(', ')}
     FROM ${t.table} WHERE robot_id = $1 AND ts >= $2 AND ts < $3${tagWhere}
     GROUP BY ALL`,
    params,
  );
  for (const row of reader.getRows()) {
    const bt = num(row[0])!;
    const tags = String(row[1]);
    fields.forEach((f, i) => {
      const o = 2 + 5 * i;
      const count = num(row[o + 3]) ?? 0;
      if (count === 0) return;
      addPartial(accOf(f, tags), bt, {
        min: num(row[o])!,
        max: num(row[o + 1])!,
        sum: num(row[o + 2])!,
        count,
        last: num(row[o + 4]),
      });
    });
  }
}

/** Fields of a segment stored narrow: extras of a raw segment, or any field of a roll-up segment. */
async function rangeNarrow(
  c: DuckDBConnection,
  table: 'raw_extra' | 'rollup_1m' | 'rollup_1h',
  t: RawTable,
  robot: string,
  fields: readonly string[],
  seg: Segment,
  bucket: number,
  tagFilter: [string, string][],
  accOf: AccOf,
): Promise<void> {
  const params: DuckDBValue[] = [robot, t.measurement, big(seg.from), big(seg.to)];
  const inList = fields.map((f) => `$${params.push(f)}`).join(', ');
  const tagWhere = tagFilter
    .map(([k, v]) => ` AND json_extract_string(tags, $${params.push(`$.${k}`)}) = $${params.push(v)}`)
    .join('');
  const sql =
    table === 'raw_extra'
      ? `SELECT (${bucketSql('ts', bucket)})::DOUBLE, tags, field, min(value), max(value), sum(value),
           count(value)::DOUBLE, arg_max(value, ts)
         FROM raw_extra WHERE robot_id = $1 AND measurement = $2 AND ts >= $3 AND ts < $4`
      : `SELECT (${bucketSql('bucket', bucket)})::DOUBLE, tags, field, min(min_v), max(max_v), sum(sum_v),
           sum(count_v)::DOUBLE, arg_max(last_v, last_ts)
         FROM ${table} WHERE robot_id = $1 AND measurement = $2 AND bucket >= $3 AND bucket < $4`;
  const reader = await c.runAndReadAll(`${sql} AND field IN (${inList})${tagWhere} GROUP BY ALL`, params);
  // Column by column: converting row arrays cost the event loop ~2× as much for a 24 h answer.
  const [t0, tags, field, min, max, sum, counts, last] = reader.getColumns();
  for (let i = 0; i < reader.currentRowCount; i++) {
    const count = num(counts![i]) ?? 0;
    if (count === 0) continue;
    addPartial(accOf(String(field![i]), String(tags![i])), num(t0![i])!, {
      min: num(min![i])!,
      max: num(max![i])!,
      sum: num(sum![i])!,
      count,
      last: num(last![i]),
    });
  }
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
