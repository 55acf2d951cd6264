/**
 * The closed part of range answers, kept between queries. A dashboard asks for the same 24 h window again
 * and again, a little later each time; all of it but the last minute or two comes from roll-ups, which do not
 * change once written. So the buckets of a window that lie wholly before the minute watermark (the "closed"
 * buckets) are kept per robot, measurement, fields, tag filter and bucket size, and a later query computes
 * only its first (partial) bucket, the closed buckets the cache does not hold yet, and the fresh tail.
 *
 * What may change closed buckets is maintenance: late points recomputed into their minute, hour roll-ups
 * replacing minute ones (the watermark W_1h moves), retention deleting minute or hour roll-ups (C_1m moves).
 * Maintenance bumps the store's generation in `telemetry_meta` in the same transaction, and a query reads the
 * generation in the same snapshot as its data: an entry is used only by queries that see its generation, so
 * no answer ever mixes what was stored before and after such a change. Points merely rolled up (W_1m moving)
 * do not bump it: they only add buckets after the closed ones.
 *
 * Entries are only ever extended at their end, in place; anything else (a window that starts earlier, a
 * trim, a new generation) replaces the entry with a new object. A query that holds an entry across an await
 * reads only the buckets that were there when it looked, so a concurrent extension cannot change what it
 * reads, and a replaced entry is never written again.
 */
import type { RangeBucket } from './telemetry-store';

/** A partial aggregate of one bucket: parts of a bucket combine exactly (avg = sum / count). */
export interface PartialAgg {
  min: number;
  max: number;
  sum: number;
  count: number;
  last: number | null;
}

/** One series' buckets as a query collects them: bucket start → aggregate, in no particular order. */
export interface SeriesAcc {
  field: string;
  /** The series' tags as JSON text (see duckdb-schema.ts). */
  tags: string;
  buckets: Map<number, PartialAgg>;
}

/** `field \0 tags` → the series. */
export type SeriesAccs = Map<string, SeriesAcc>;

/**
 * One series' closed buckets, in time order (`t[i]` is the start of `aggs[i]`), and the buckets as the API's
 * JSON text, UTF-8 in one buffer (`text`, bucket i from `offs[i]`, each followed by a comma, `bytes` used): an
 * answer sends a slice of it instead of building, serialising and encoding a point object per bucket again
 * on every poll (for a 24 h answer of 12 fields ~0.3 ms against ~15 ms to join the buckets' strings and ~20 ms
 * more to encode them, on the event loop the ingest shares). The text only grows at its end: a slice taken
 * before an extension reads the same bytes after it, whichever buffer holds them.
 */
export interface ClosedSeries {
  field: string;
  tags: string;
  t: number[];
  aggs: PartialAgg[];
  text: Buffer;
  offs: number[];
  bytes: number;
}

/** The JSON text of buckets [i, end) of a series, without a trailing comma. */
export function closedText(s: ClosedSeries, i: number, end: number): Buffer {
  const stop = end < s.offs.length ? s.offs[end]! : s.bytes;
  return s.text.subarray(s.offs[i]!, stop - 1);
}

/** The closed buckets [from, to) of one query shape, as of one store generation. */
export interface ClosedBuckets {
  readonly generation: number;
  readonly from: number;
  /** Grows when the entry is extended in place. */
  to: number;
  readonly series: Map<string, ClosedSeries>;
  /** Buckets held, over all series (what the cache's budget counts). */
  cells: number;
}

export interface RangeCacheStats {
  entries: number;
  cells: number;
  hits: number;
  misses: number;
  /** Queries answered from a recent query's snapshot of the fresh tail, without reading the store. */
  tail_hits: number;
}

export const DEFAULT_RANGE_CACHE_CELLS = 200_000;
export const DEFAULT_RANGE_TAIL_MAX_AGE_MS = 1000;
const MAX_ENTRIES = 256;

export function seriesKey(field: string, tags: string): string {
  return `${field}\u0000${tags}`;
}

/**
 * Least recently used entries go first once more than `maxCells` buckets (about 200 bytes each with their JSON
 * text: ~40 MB at the default 200 000; a 24 h answer of 12 fields holds 8 640) or 256 entries are held.
 * `maxCells` 0 disables it.
 */
export class RangeCache {
  private readonly entries = new Map<string, ClosedBuckets>();
  private cells = 0;
  /** Queries that used an entry (all of it, or extended at its end), and those that computed a new one. */
  hits = 0;
  misses = 0;

  /** Recent snapshots of the part after the closed buckets (see RecentTails). */
  readonly tails: RecentTails<unknown>;

  constructor(
    private readonly maxCells = DEFAULT_RANGE_CACHE_CELLS,
    tailMaxAgeMs = DEFAULT_RANGE_TAIL_MAX_AGE_MS,
  ) {
    this.tails = new RecentTails(maxCells > 0 ? tailMaxAgeMs : 0);
  }

  get enabled(): boolean {
    return this.maxCells > 0;
  }

  /** The entry of a query shape (and marks it recently used). */
  get(key: string): ClosedBuckets | undefined {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    return e;
  }

  /** The entry of a query shape, without touching its place in the eviction order. */
  peek(key: string): ClosedBuckets | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: ClosedBuckets): void {
    if (!this.enabled || entry.cells > this.maxCells) return;
    this.remove(key);
    this.entries.set(key, entry);
    this.cells += entry.cells;
    this.evict();
  }

  /** Appends `add` (buckets in [entry.to, to)) to an entry the cache holds. */
  extend(key: string, entry: ClosedBuckets, add: SeriesAccs, to: number): void {
    if (this.entries.get(key) !== entry) return;
    const before = entry.cells;
    appendClosed(entry, add);
    entry.to = to;
    this.cells += entry.cells - before;
    this.evict();
  }

  clear(): void {
    this.entries.clear();
    this.cells = 0;
    this.tails.clear();
  }

  stats(): RangeCacheStats {
    return {
      entries: this.entries.size,
      cells: this.cells,
      hits: this.hits,
      misses: this.misses,
      tail_hits: this.tails.hits,
    };
  }

  private remove(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.cells -= old.cells;
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.cells <= this.maxCells && this.entries.size <= MAX_ENTRIES) return;
      this.remove(key);
    }
  }
}

/**
 * What a query read after its closed buckets (the roll-ups of the last bucket and the raw rows since the
 * minute watermark), kept for `maxAgeMs` so the queries of the next moment — a dashboard's charts, several
 * people watching one robot — fold the same rows up to their own `to` instead of each reading the store
 * again: on a busy store each such read waits for a reader behind the others. An answer so made holds what was
 * stored up to `maxAgeMs` before it, as `GET /robots` answers do (ROBOT_LIST_MAX_AGE_MS). Maintenance clears
 * them (the watermark moves). `maxAgeMs` 0 keeps none.
 */
export class RecentTails<T> {
  private readonly snapshots = new Map<string, { at: number; value: T }>();
  /** Query shapes being read now, resolved when the read ends (with a snapshot or not). */
  private readonly reads = new Map<string, Promise<void>>();
  hits = 0;

  constructor(readonly maxAgeMs: number) {}

  get enabled(): boolean {
    return this.maxAgeMs > 0;
  }

  /** The snapshot of a query shape read at most maxAgeMs before `now`. */
  get(key: string, now: number): T | undefined {
    const s = this.snapshots.get(key);
    if (!s) return undefined;
    if (now - s.at > this.maxAgeMs || now < s.at) {
      this.snapshots.delete(key);
      return undefined;
    }
    return s.value;
  }

  /** Keeps a snapshot read at `at` (when its read began); the oldest go first beyond 256. */
  set(key: string, value: T, at: number): void {
    if (!this.enabled) return;
    this.snapshots.delete(key);
    this.snapshots.set(key, { at, value });
    for (const k of this.snapshots.keys()) {
      if (this.snapshots.size <= MAX_ENTRIES) break;
      this.snapshots.delete(k);
    }
  }

  clear(): void {
    this.snapshots.clear();
  }

  /** The read of a query shape under way, if any: its snapshot is there (or not) once it resolves. */
  reading(key: string): Promise<void> | undefined {
    return this.reads.get(key);
  }

  /** Marks a read of a query shape as under way; call the returned function when it ends. */
  beginRead(key: string): () => void {
    let end!: () => void;
    const read = new Promise<void>((resolve) => {
      end = resolve;
    });
    if (this.enabled && !this.reads.has(key)) this.reads.set(key, read);
    return () => {
      if (this.reads.get(key) === read) this.reads.delete(key);
      end();
    };
  }
}

/** A new entry from collected buckets, all of which lie in [from, to). */
export function closedBuckets(generation: number, from: number, to: number, accs: SeriesAccs): ClosedBuckets {
  const entry: ClosedBuckets = { generation, from, to, series: new Map(), cells: 0 };
  appendClosed(entry, accs);
  return entry;
}

/** The buckets of `entry` from `from` on (a trimmed copy: the original stays as it is). */
export function trimClosed(entry: ClosedBuckets, from: number): ClosedBuckets {
  const out: ClosedBuckets = {
    generation: entry.generation,
    from,
    to: entry.to,
    series: new Map(),
    cells: 0,
  };
  for (const [key, s] of entry.series) {
    const i = firstAtOrAfter(s.t, from);
    if (i === s.t.length) continue;
    const start = s.offs[i]!;
    out.series.set(key, {
      field: s.field,
      tags: s.tags,
      t: s.t.slice(i),
      aggs: s.aggs.slice(i),
      text: Buffer.from(s.text.subarray(start, s.bytes)),
      offs: s.offs.slice(i).map((o) => o - start),
      bytes: s.bytes - start,
    });
    out.cells += s.t.length - i;
  }
  return out;
}

/** Index of the first bucket starting at or after `t` (t.length when none). */
export function firstAtOrAfter(t: readonly number[], at: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds collected buckets (all later than what the entry holds) at the end of its series, in time order. */
function appendClosed(entry: ClosedBuckets, accs: SeriesAccs): void {
  for (const [key, acc] of accs) {
    if (acc.buckets.size === 0) continue;
    let s = entry.series.get(key);
    if (!s) {
      s = { field: acc.field, tags: acc.tags, t: [], aggs: [], text: EMPTY, offs: [], bytes: 0 };
      entry.series.set(key, s);
    }
    const starts = [...acc.buckets.keys()].sort((a, b) => a - b);
    const texts: string[] = [];
    for (const t of starts) {
      const agg = acc.buckets.get(t)!;
      s.t.push(t);
      s.aggs.push(agg);
      texts.push(`${bucketJson(t, agg)},`);
    }
    appendText(s, texts);
    entry.cells += starts.length;
  }
}

const EMPTY = Buffer.alloc(0);

/** Writes buckets' text at the end of a series' buffer, moving to one twice the size when it is full. */
function appendText(s: ClosedSeries, texts: readonly string[]): void {
  const need = s.bytes + texts.reduce((n, x) => n + Buffer.byteLength(x), 0);
  if (need > s.text.length) {
    const grown = Buffer.allocUnsafe(Math.max(need, 2 * s.text.length));
    s.text.copy(grown, 0, 0, s.bytes);
    s.text = grown;
  }
  for (const x of texts) {
    s.offs.push(s.bytes);
    s.bytes += s.text.write(x, s.bytes);
  }
}

/** A bucket as the API answers it: start, avg, min, max, last, count. */
export function rangeBucket(t: number, p: PartialAgg): RangeBucket {
  return {
    t,
    // Ingest bounds values, but a store fed directly could overflow a sum: no Infinity in JSON.
    avg: finiteOrNull(p.sum / p.count),
    min: p.min,
    max: p.max,
    last: p.last,
    count: p.count,
  };
}

/**
 * A bucket as the API's JSON text: the point object of TelemetryResponse (`t` as ISO-8601, then the
 * aggregates), exactly what JSON.stringify of the service's mapping of `rangeBucket` gives.
 */
export function bucketJson(t: number, p: PartialAgg): string {
  return JSON.stringify({ ...rangeBucket(t, p), t: new Date(t).toISOString() });
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
