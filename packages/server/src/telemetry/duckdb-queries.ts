/**
 * The read paths of the DuckDB telemetry store: latest points, bucketed ranges (stitched from raw rows and
 * roll-ups), and the field names that hold data. Each runs on a pooled reader connection.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { FIELD_NAME_RE, isMeasurementName, type MeasurementName, type Resolution } from '@tonypi/contracts';
import { type Meta, type RawTable, readMeta, tableOf } from './duckdb-schema';
import { big, bucketSql, floorTo, ident, num, parseTags } from './duckdb-sql';
import { chooseBucketMs, resolutionForBucket, type Segment, segments } from './range-buckets';
import {
  bucketJson,
  type ClosedBuckets,
  type ClosedSeries,
  closedBuckets,
  closedText,
  firstAtOrAfter,
  type PartialAgg,
  type RangeCache,
  rangeBucket,
  type SeriesAcc,
  type SeriesAccs,
  seriesKey,
  trimClosed,
} from './range-cache';
import type {
  LatestPoint,
  RangeBucket,
  RangeJsonResult,
  RangeQuery,
  RangeResult,
  RangeSeries,
} from './telemetry-store';

const LATEST_LOOKBACK_MS = 3600_000;
const FIELDS_LOOKBACK_MS = 24 * 3600_000;

/** Runs `fn` on a reader connection of the store's pool. */
export type WithReader = <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>;

type Tables = ReadonlyMap<MeasurementName, RawTable>;

type AccOf = (field: string, tags: string) => SeriesAcc;

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
  cache?: RangeCache,
): Promise<RangeResult> {
  const { resolution, bucket_ms, fields, parts } = await rangeParts(withReader, tables, q, cache);
  return { resolution, bucket_ms, series: assembleSeries(fields, parts) };
}

/** The same answer as queryRange, its series as the API's JSON text (see RangeJsonResult). */
export async function queryRangeJson(
  withReader: WithReader,
  tables: Tables,
  q: RangeQuery,
  cache?: RangeCache,
): Promise<RangeJsonResult> {
  const { resolution, bucket_ms, fields, parts } = await rangeParts(withReader, tables, q, cache);
  return { resolution, bucket_ms, series_json: assembleSeriesJson(fields, parts) };
}

/** A range query's buckets in parts (head, cached or computed closed buckets, tail), before assembly. */
async function rangeParts(
  withReader: WithReader,
  tables: Tables,
  q: RangeQuery,
  cache?: RangeCache,
): Promise<{ resolution: Resolution; bucket_ms: number; fields: string[]; parts: Part[] }> {
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
  const answer = { resolution, bucket_ms: bucket, fields, parts: [] as Part[] };
  // A tag the measurement does not have matches no series.
  if (span <= 0 || tagFilter.some(([k]) => !t.tags.includes(k))) return answer;

  const known = fields.filter((f) => t.columnIndex.has(f));
  const extraFields = fields.filter((f) => !t.columnIndex.has(f));
  // Closed buckets come from roll-ups only at minute grain or coarser; raw-grain answers are not kept.
  const key =
    cache?.enabled && resolution !== 'raw'
      ? JSON.stringify([q.robot_id, q.measurement, fields, tagFilter, bucket])
      : undefined;

  // The fresh tail is shared for a moment (RecentTails): a query whose head, closed buckets and tail roll-ups
  // are those of a recent snapshot only folds that snapshot's raw rows up to its own `to`.
  // While a query of the same shape is reading, the next ones wait for its snapshot rather than queue for a
  // reader of their own (a dashboard's clients all miss at once when the watermark moves).
  const tails = key && extraFields.length === 0 && cache!.tails.enabled ? cache!.tails : undefined;
  if (tails) {
    const shared = () => {
      const snap = tails.get(key!, Date.now()) as TailSnapshot | undefined;
      if (!snap || !snapFits(snap, q.from, q.to, bucket)) return undefined;
      tails.hits++;
      return [snap.head, ...snap.closed, tailUpTo(snap, known, bucket, q.to)];
    };
    let parts = shared();
    const reading = parts ? undefined : tails.reading(key!);
    if (reading) {
      await reading;
      parts = shared();
    }
    if (parts) {
      answer.parts = parts;
      return answer;
    }
  }
  const readAt = Date.now();
  const done = tails?.beginRead(key!);
  try {
    answer.parts = await readParts();
  } finally {
    done?.();
  }
  return answer;

  function readParts(): Promise<Part[]> {
    return withReader(async (c) => {
      // One snapshot for the watermarks, the generation and every part, so maintenance in between cannot hide
      // data nor make a cached part disagree with the rest.
      await c.run('BEGIN TRANSACTION');
      try {
        const meta = await readMeta(c);
        const scan: Scan = { c, t, robot: q.robot_id, fields, known, extraFields, bucket, tagFilter, meta };
        // The closed buckets: whole buckets of the window that lie before the minute watermark.
        const closedFrom = ceilTo(q.from, bucket);
        const closedTo = floorTo(Math.min(q.to, meta.w1m), bucket);
        if (!key || closedTo <= closedFrom) return [await collect(scan, q.from, q.to)];
        const head = await collect(scan, q.from, closedFrom, true);
        const closed = await closedPart(scan, cache!, key, closedFrom, closedTo);
        // A head with raw rows in it depends on the exact `from`: such a window's tail is not shared.
        const shareable =
          tails &&
          q.to > meta.w1m &&
          !segments(resolution, q.from, closedFrom, meta).some((seg) => seg.source === 'raw');
        if (shareable) {
          // The tail's roll-ups (the last bucket's minutes), then its raw rows, read a moment beyond `to`.
          const tailRollups = await collect(scan, closedTo, meta.w1m, true);
          const raw = await readRawRows(c, t, q.robot_id, known, meta.w1m, q.to + tails.maxAgeMs, tagFilter);
          if (raw) {
            const snap: TailSnapshot = {
              closedFrom,
              headMinute: ceilTo(q.from, MINUTE_MS),
              w1m: meta.w1m,
              readTo: q.to + tails.maxAgeMs,
              head,
              closed,
              tailRollups,
              raw,
            };
            tails.set(key, snap, readAt);
            return [head, ...closed, tailUpTo(snap, known, bucket, q.to)];
          }
        }
        // Roll-ups of the tail are those of the last, unfinished bucket; raw rows after W_1m are aggregated in SQL.
        const tail = await collect(scan, closedTo, q.to, true);
        return [head, ...closed, tail];
      } finally {
        await c.run('ROLLBACK');
      }
    });
  }
}

const MINUTE_MS = 60_000;

/** What a query read after its closed buckets, shared for a moment (RecentTails in range-cache.ts). */
interface TailSnapshot {
  /** The first closed bucket, and `from` rounded up to the minute: the head's roll-up rows are those after it. */
  closedFrom: number;
  headMinute: number;
  w1m: number;
  /** Raw rows were read up to here (exclusive). */
  readTo: number;
  head: SeriesAccs;
  closed: Part[];
  /** The roll-ups of the last bucket, before the minute watermark. */
  tailRollups: SeriesAccs;
  /** The raw rows since the minute watermark, in time order. */
  raw: RawRows;
  /**
   * The tail folded so far: the roll-ups and the raw rows before `until` (rows [0, row)). Answers sharing the
   * snapshot come with a later `to` as time goes on, so each folds only the rows since the one before it.
   */
  folded?: { until: number; row: number; accs: SeriesAccs };
}

/**
 * Whether a window's answer is the snapshot's with only its raw rows cut at another `to`: the same first
 * closed bucket, its head the same roll-up rows (roll-ups are taken by minute or hour start), its end past
 * the watermark and within what was read. The closed buckets then end at the same place too.
 */
function snapFits(snap: TailSnapshot, from: number, to: number, bucket: number): boolean {
  return (
    ceilTo(from, bucket) === snap.closedFrom &&
    ceilTo(from, MINUTE_MS) === snap.headMinute &&
    to > snap.w1m &&
    to <= snap.readTo
  );
}

/**
 * The tail of an answer ending at `to`: the snapshot's roll-ups with its raw rows before `to`, as a copy the
 * caller owns. The fold is kept in the snapshot and carried forward to a later `to`; an earlier `to` (answers
 * out of order) folds afresh without touching it.
 */
function tailUpTo(snap: TailSnapshot, fields: readonly string[], bucket: number, to: number): SeriesAccs {
  let folded = snap.folded;
  if (!folded || to < folded.until) {
    const fresh = { until: -Infinity, row: 0, accs: copyAccs(snap.tailRollups) };
    if (!folded) snap.folded = fresh;
    folded = fresh;
  }
  const accs = folded.accs;
  folded.row = foldRows(snap.raw, fields, bucket, folded.row, to, (field, tags) => {
    const key = seriesKey(field, tags);
    let a = accs.get(key);
    if (!a) {
      a = { field, tags, buckets: new Map<number, PartialAgg>() };
      accs.set(key, a);
    }
    return a;
  });
  folded.until = Math.max(folded.until, to);
  return folded === snap.folded ? copyAccs(accs) : accs;
}

/** A copy of collected buckets that can be folded into without changing the original. */
function copyAccs(from: SeriesAccs): SeriesAccs {
  const to: SeriesAccs = new Map();
  for (const [key, acc] of from) {
    const buckets = new Map<number, PartialAgg>();
    for (const [bt, p] of acc.buckets) buckets.set(bt, { ...p });
    to.set(key, { field: acc.field, tags: acc.tags, buckets });
  }
  return to;
}

/** What one range query reads with, in its snapshot. */
interface Scan {
  c: DuckDBConnection;
  t: RawTable;
  robot: string;
  /** Every field asked for; `known` are columns of the wide table, `extraFields` the others. */
  fields: readonly string[];
  known: readonly string[];
  extraFields: readonly string[];
  bucket: number;
  tagFilter: [string, string][];
  meta: Meta;
}

/** Buckets of one stretch of the answer: collected now, or read from a cache entry. */
type Part = SeriesAccs | { entry: ClosedBuckets; from: number; to: number };

/**
 * The window [from, to) aggregated into the answer's buckets, from whichever tables hold each piece. `short`:
 * its roll-up rows lie within one bucket (the head and the tail of a cached answer), so they are folded in JS
 * rather than in a hash aggregate.
 */
async function collect(s: Scan, from: number, to: number, short = false): Promise<SeriesAccs> {
  const acc: SeriesAccs = new Map();
  const accOf: AccOf = (field, tags) => {
    const key = seriesKey(field, tags);
    let a = acc.get(key);
    if (!a) {
      a = { field, tags, buckets: new Map<number, PartialAgg>() };
      acc.set(key, a);
    }
    return a;
  };
  for (const seg of segments(resolutionForBucket(s.bucket), from, to, s.meta)) {
    if (seg.source === 'raw') {
      if (s.known.length > 0) {
        const folded =
          short && (await foldRawRows(s.c, s.t, s.robot, s.known, seg, s.bucket, s.tagFilter, accOf));
        if (!folded) await rangeRawWide(s.c, s.t, s.robot, s.known, seg, s.bucket, s.tagFilter, accOf);
      }
      if (s.extraFields.length > 0) {
        await rangeNarrow(s.c, 'raw_extra', s.t, s.robot, s.extraFields, seg, s.bucket, s.tagFilter, accOf);
      }
    } else {
      const table = seg.source === '1m' ? 'rollup_1m' : 'rollup_1h';
      await rangeNarrow(s.c, table, s.t, s.robot, s.fields, seg, s.bucket, s.tagFilter, accOf, !short);
    }
  }
  return acc;
}

/**
 * The closed buckets [from, to) (bucket-aligned, before the minute watermark): from the cache entry when it
 * is of this snapshot's generation, computing only what it lacks at its end; otherwise computed and kept.
 */
async function closedPart(
  s: Scan,
  cache: RangeCache,
  key: string,
  from: number,
  to: number,
): Promise<Part[]> {
  const entry = cache.get(key);
  if (entry && entry.generation === s.meta.generation && entry.from <= from && entry.to >= from) {
    cache.hits++;
    const have = entry.to;
    if (have >= to) return [{ entry, from, to }];
    const added = await collect(s, have, to);
    if (cache.peek(key) === entry && entry.to === have) {
      cache.extend(key, entry, added, to);
      // A sliding window leaves buckets behind: keep about one window's worth before `from`.
      if (from - entry.from > to - from) cache.set(key, trimClosed(entry, from));
    }
    return [{ entry, from, to: have }, added];
  }
  cache.misses++;
  const fresh = closedBuckets(s.meta.generation, from, to, await collect(s, from, to));
  const current = cache.peek(key);
  // A query on an older snapshot (maintenance committed meanwhile) leaves the newer entry alone.
  if (!current || current.generation <= fresh.generation) cache.set(key, fresh);
  return [{ entry: fresh, from, to }];
}

/**
 * Walks the answer's series from its parts (in time order, never sharing a bucket): ordered by the fields
 * asked for, then by tags; series without any bucket left out. `computed` takes the buckets of a collected
 * part in time order, `cached` a slice [i, end) of a cache entry's series.
 */
function walkSeries<S>(
  fields: readonly string[],
  parts: readonly Part[],
  make: () => S,
  computed: (into: S, t: number, agg: PartialAgg) => void,
  cached: (into: S, cs: ClosedSeries, i: number, end: number) => void,
): { field: string; tags: string; acc: S }[] {
  const series = new Map<string, { field: string; tags: string; acc: S }>();
  const out = (field: string, tags: string) => {
    const key = seriesKey(field, tags);
    let s = series.get(key);
    if (!s) {
      s = { field, tags, acc: make() };
      series.set(key, s);
    }
    return s.acc;
  };
  for (const part of parts) {
    if (part instanceof Map) {
      for (const acc of part.values()) {
        if (acc.buckets.size === 0) continue;
        const into = out(acc.field, acc.tags);
        for (const bt of [...acc.buckets.keys()].sort((a, b) => a - b))
          computed(into, bt, acc.buckets.get(bt)!);
      }
      continue;
    }
    for (const cs of part.entry.series.values()) {
      const i = firstAtOrAfter(cs.t, part.from);
      if (i >= cs.t.length || cs.t[i]! >= part.to) continue;
      cached(out(cs.field, cs.tags), cs, i, firstAtOrAfter(cs.t, part.to));
    }
  }
  const order = new Map(fields.map((f, i) => [f, i]));
  return [...series.values()].sort(
    (a, b) => order.get(a.field)! - order.get(b.field)! || (a.tags < b.tags ? -1 : a.tags > b.tags ? 1 : 0),
  );
}

function assembleSeries(fields: readonly string[], parts: readonly Part[]): RangeSeries[] {
  return walkSeries<RangeBucket[]>(
    fields,
    parts,
    () => [],
    (into, t, agg) => into.push(rangeBucket(t, agg)),
    (into, cs, i, end) => {
      for (; i < end; i++) into.push(rangeBucket(cs.t[i]!, cs.aggs[i]!));
    },
  ).map((s): RangeSeries => ({ field: s.field, tags: parseTags(s.tags), buckets: s.acc }));
}

/**
 * The series as the API's JSON text in UTF-8: cached buckets' text is sliced from the cache, only the others
 * are serialised.
 */
/** The series' JSON in pieces, joined once by the caller with its own head (a 24 h answer is ~1 MB). */
function assembleSeriesJson(fields: readonly string[], parts: readonly Part[]): Buffer[] {
  const series = walkSeries<(string | Buffer)[]>(
    fields,
    parts,
    () => [],
    (into, t, agg) => into.push(bucketJson(t, agg)),
    (into, cs, i, end) => into.push(closedText(cs, i, end)),
  );
  const out: Buffer[] = [Buffer.from('[')];
  series.forEach((s, k) => {
    const head = `${k > 0 ? ',' : ''}{"field":${JSON.stringify(s.field)},"tags":${JSON.stringify(parseTags(s.tags))},"points":[`;
    out.push(Buffer.from(head));
    s.acc.forEach((piece, j) => {
      if (j > 0) out.push(COMMA);
      out.push(typeof piece === 'string' ? Buffer.from(piece) : piece);
    });
    out.push(Buffer.from(']}'));
  });
  out.push(Buffer.from(']'));
  return out;
}

const COMMA = Buffer.from(',');

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

/** The most raw rows a short part folds in JS; more are aggregated in SQL (maintenance may lag behind). */
const MAX_FOLDED_RAW_ROWS = 20_000;

/** Raw rows of known fields in time order, column by column. */
interface RawRows {
  n: number;
  ts: DuckDBValue[];
  tags: DuckDBValue[];
  /** One column per field, in the order the fields were asked for. */
  values: DuckDBValue[][];
}

/** The raw rows [from, to) of known fields in time order; null when there are more than MAX_FOLDED_RAW_ROWS. */
async function readRawRows(
  c: DuckDBConnection,
  t: RawTable,
  robot: string,
  fields: readonly string[],
  from: number,
  to: number,
  tagFilter: [string, string][],
): Promise<RawRows | null> {
  const params: DuckDBValue[] = [robot, big(from), big(to)];
  const tagWhere = tagFilter.map(([k, v]) => ` AND ${ident(k)} = $${params.push(v)}`).join('');
  const reader = await c.runAndReadAll(
    `SELECT ts::DOUBLE, ${t.tagsSql}, ${fields.map(ident).join(', ')}
     FROM ${t.table} WHERE robot_id = $1 AND ts >= $2 AND ts < $3${tagWhere}
     ORDER BY ts LIMIT ${MAX_FOLDED_RAW_ROWS + 1}`,
    params,
  );
  const n = reader.currentRowCount;
  if (n > MAX_FOLDED_RAW_ROWS) return null;
  const [ts, tags, ...values] = reader.getColumns();
  return { n, ts: ts!, tags: tags!, values };
}

/**
 * Folds raw rows [first, …) before `until` into their buckets (rows in time order: the later row's value is
 * `last`); returns the index of the first row not folded. Each row's bucket is worked out once, and a series
 * is looked up again only when the row's tags differ from the row before.
 */
function foldRows(
  rows: RawRows,
  fields: readonly string[],
  bucket: number,
  first: number,
  until: number,
  accOf: AccOf,
): number {
  let n = first;
  while (n < rows.n && num(rows.ts[n]!)! < until) n++;
  if (n === first) return n;
  const starts = new Float64Array(n - first);
  const tags: string[] = new Array<string>(n - first);
  for (let r = first; r < n; r++) {
    starts[r - first] = floorTo(num(rows.ts[r]!)!, bucket);
    tags[r - first] = String(rows.tags[r]);
  }
  fields.forEach((f, i) => {
    const column = rows.values[i]!;
    let lastTags: string | undefined;
    let acc: SeriesAcc | undefined;
    for (let r = first; r < n; r++) {
      const v = column[r];
      if (typeof v !== 'number') continue;
      const bt = starts[r - first]!;
      const rowTags = tags[r - first]!;
      if (rowTags !== lastTags || !acc) {
        acc = accOf(f, rowTags);
        lastTags = rowTags;
      }
      const b = acc.buckets.get(bt);
      if (!b) acc.buckets.set(bt, { min: v, max: v, sum: v, count: 1, last: v });
      else {
        if (v < b.min) b.min = v;
        if (v > b.max) b.max = v;
        b.sum += v;
        b.count++;
        b.last = v;
      }
    }
  });
  return n;
}

/**
 * Known fields of a short raw segment (the fresh tail: the rows since the last roll-up, typically a minute),
 * folded in JS from the rows in time order: for a few hundred rows a third of the CPU of the 5-aggregates-per-
 * field hash aggregate (docs/performance.md). Returns false, having added nothing, when the segment holds more
 * than MAX_FOLDED_RAW_ROWS rows.
 */
async function foldRawRows(
  c: DuckDBConnection,
  t: RawTable,
  robot: string,
  fields: readonly string[],
  seg: Segment,
  bucket: number,
  tagFilter: [string, string][],
  accOf: AccOf,
): Promise<boolean> {
  const rows = await readRawRows(c, t, robot, fields, seg.from, seg.to, tagFilter);
  if (!rows) return false;
  foldRows(rows, fields, bucket, 0, seg.to, accOf);
  return true;
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

/**
 * Fields of a segment stored narrow: extras of a raw segment, or any field of a roll-up segment. Roll-up rows
 * are aggregated in SQL (`grouped`) or, for a stretch shorter than a bucket, read as they are in time order
 * and folded here: the same partials, so the same buckets (the later row's `last` wins, as `arg_max` by time).
 */
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
  grouped = true,
): Promise<void> {
  const params: DuckDBValue[] = [robot, t.measurement, big(seg.from), big(seg.to)];
  const inList = fields.map((f) => `$${params.push(f)}`).join(', ');
  const tagWhere = tagFilter
    .map(([k, v]) => ` AND json_extract_string(tags, $${params.push(`$.${k}`)}) = $${params.push(v)}`)
    .join('');
  const where = `AND field IN (${inList})${tagWhere}`;
  const sql =
    table === 'raw_extra'
      ? `SELECT (${bucketSql('ts', bucket)})::DOUBLE, tags, field, min(value), max(value), sum(value),
           count(value)::DOUBLE, arg_max(value, ts)
         FROM raw_extra WHERE robot_id = $1 AND measurement = $2 AND ts >= $3 AND ts < $4 ${where} GROUP BY ALL`
      : grouped
        ? `SELECT (${bucketSql('bucket', bucket)})::DOUBLE, tags, field, min(min_v), max(max_v), sum(sum_v),
           sum(count_v)::DOUBLE, arg_max(last_v, last_ts)
         FROM ${table} WHERE robot_id = $1 AND measurement = $2 AND bucket >= $3 AND bucket < $4 ${where}
         GROUP BY ALL`
        : // The rows themselves, in time order, folded below: for the few rows of a part bucket this is a
          // fraction of a hash aggregate's fixed cost, which DuckDB pays on every thread (docs/performance.md).
          `SELECT (${bucketSql('bucket', bucket)})::DOUBLE, tags, field, min_v, max_v, sum_v, count_v::DOUBLE,
           last_v
         FROM ${table} WHERE robot_id = $1 AND measurement = $2 AND bucket >= $3 AND bucket < $4 ${where}
         ORDER BY bucket`;
  const reader = await c.runAndReadAll(sql, params);
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

function ceilTo(ms: number, step: number): number {
  return Math.ceil(ms / step) * step;
}

/**
 * Many robots' roll-ups of one measurement in one scan (reports): buckets of `bucket_ms` (a multiple of a
 * minute) from the minute roll-ups, or from the hour roll-ups when the bucket is a whole number of hours or
 * the minute ones no longer reach back to `from`. Only what is rolled up (before the minute watermark): a
 * report's last minute or two may be missing, which a report over hours or days does not feel.
 */
export async function queryRollups(withReader: WithReader, q: RollupQuery): Promise<RollupSeries[]> {
  if (!isMeasurementName(q.measurement)) throw new Error(`Unknown measurement ${q.measurement}`);
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.to <= q.from) return [];
  const bucket = Math.max(60_000, Math.round(q.bucket_ms / 60_000) * 60_000);
  return withReader(async (c) => {
    await c.run('BEGIN TRANSACTION');
    try {
      const meta = await readMeta(c);
      const hourly = bucket % 3_600_000 === 0 || q.from < meta.cut1m;
      const table = hourly ? 'rollup_1h' : 'rollup_1m';
      const b = hourly ? Math.max(3_600_000, Math.round(bucket / 3_600_000) * 3_600_000) : bucket;
      // Hour roll-ups up to their watermark, then the minute roll-ups folded into the same buckets: the last
      // hours of a report are there even before the hour job has run.
      const params: unknown[] = [q.measurement, big(q.from), big(q.to), big(b)];
      if (hourly) params.push(big(meta.w1h));
      let robots = '';
      if (q.robot_ids) {
        if (q.robot_ids.length === 0) return [];
        const first = params.length + 1;
        robots = `AND robot_id IN (${q.robot_ids.map((_, i) => `$${i + first}`).join(', ')})`;
        params.push(...q.robot_ids);
      }
      const columns = 'bucket, robot_id, tags, field, min_v, max_v, sum_v, count_v';
      const source = hourly
        ? `SELECT ${columns} FROM rollup_1h
             WHERE measurement = $1 AND bucket >= $2 AND bucket < least($3, $5) ${robots}
           UNION ALL
           SELECT ${columns} FROM rollup_1m
             WHERE measurement = $1 AND bucket >= greatest($2, $5) AND bucket < $3 ${robots}`
        : `SELECT ${columns} FROM ${table} WHERE measurement = $1 AND bucket >= $2 AND bucket < $3 ${robots}`;
      // The series' strings only on its first row, the figures as DOUBLE: turning 300,000 rows' robot, tags and field
      // (and HUGEINT sums) into JS values took two thirds of a weekly 100-robot report (docs/performance.md).
      const reader = await c.runAndReadAll(
        `SELECT CASE WHEN n = 1 THEN robot_id END, CASE WHEN n = 1 THEN tags END, CASE WHEN n = 1 THEN field END,
           t, mn, mx, sm, ct
         FROM (
           SELECT *, row_number() OVER (PARTITION BY robot_id, tags, field ORDER BY t) AS n FROM (
             SELECT robot_id, tags, field, ((bucket // $4) * $4)::DOUBLE AS t, min(min_v)::DOUBLE AS mn,
               max(max_v)::DOUBLE AS mx, sum(sum_v)::DOUBLE AS sm, sum(count_v)::DOUBLE AS ct
             FROM (${source}) GROUP BY robot_id, tags, field, t))
         ORDER BY robot_id, tags, field, t`,
        params as never,
      );
      const [robotCol, tagsCol, fieldCol, tCol, minCol, maxCol, sumCol, countCol] = reader.getColumns();
      const out: RollupSeries[] = [];
      let current: RollupSeries | undefined;
      for (let i = 0; i < reader.currentRowCount; i++) {
        const robot_id = robotCol![i] as string | null;
        if (robot_id !== null || !current) {
          const tags = String(tagsCol![i]);
          const field = String(fieldCol![i]);
          current = {
            robot_id: String(robot_id),
            field,
            tags: { ...parseTags(tags) },
            tagsJson: tags,
            bucket_ms: b,
            buckets: [],
          };
          out.push(current);
        }
        const count = (countCol![i] as number | null) ?? 0;
        const sum = sumCol![i] as number | null;
        current.buckets.push({
          t: tCol![i] as number,
          avg: sum === null || count === 0 ? null : sum / count,
          min: minCol![i] as number | null,
          max: maxCol![i] as number | null,
          count,
        });
      }
      return out;
    } finally {
      await c.run('ROLLBACK');
    }
  });
}

export interface RollupQuery {
  measurement: string;
  /** Every robot when left out. */
  robot_ids?: readonly string[];
  from: number;
  to: number;
  bucket_ms: number;
}

export interface RollupSeries {
  robot_id: string;
  field: string;
  tags: Record<string, string>;
  tagsJson: string;
  bucket_ms: number;
  buckets: { t: number; avg: number | null; min: number | null; max: number | null; count: number }[];
}
