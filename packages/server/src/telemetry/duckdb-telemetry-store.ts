import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBValue,
} from '@duckdb/node-api';
import {
  FIELD_NAME_RE,
  isMeasurementName,
  MEASUREMENT_NAMES,
  MEASUREMENTS,
  type MeasurementName,
  type TelemetryPoint,
} from '@tonypi/contracts';
import { chooseBucketMs, HOUR_MS, MINUTE_MS, resolutionForBucket } from './range-buckets';
import type {
  LatestPoint,
  MaintenanceResult,
  RangeBucket,
  RangeQuery,
  RangeResult,
  RangeSeries,
  RetentionPolicy,
  TelemetryStore,
  TelemetryStoreStats,
} from './telemetry-store';

export interface DuckDbTelemetryStoreOptions {
  /** Database file, or `':memory:'`. */
  path: string;
  /**
   * How often the write-ahead log is folded into the database file (a `CHECKPOINT` on a background
   * connection), ms. Default 10 000; 0 leaves it to `maintain()` and `close()`. Ignored for `':memory:'`.
   */
  flushIntervalMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

/*
 * Storage layout
 *
 * raw_<measurement>  one wide row per point: ts, robot_id, one VARCHAR per tag, one DOUBLE per known field.
 * raw_extra          one narrow row per unknown field: ts, robot_id, measurement, tags, field, value.
 * rollup_1m/1h       narrow partial aggregates per (bucket, robot, measurement, tags, field): min, max, sum,
 *                    count, last and the time of last, so averages (sum / count) and coarser buckets
 *                    re-aggregate exactly.
 * telemetry_meta     roll-up watermarks (everything before them is rolled up) and retention cut-offs
 *                    (everything before them is deleted), one row per key.
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
 *
 * Checkpoints: DuckDB's automatic checkpoint runs inside the commit that crosses the WAL threshold; with the
 * appender that commit is `flushSync()` on the event loop, and it stalled it for ~170 ms. Running CHECKPOINT
 * on another connection is not enough: a flush that starts while a checkpoint runs waits for it, again on the
 * event loop (measured up to ~450 ms). So the automatic checkpoint is off (threshold 1000 GB) and checkpoints
 * run explicitly on the maintenance connection (every `flushIntervalMs`, after maintain(), and DuckDB's own at
 * close) under a write lock that append() also holds: a checkpoint or the maintenance commit never overlaps a
 * flush; appends queue behind it asynchronously instead. The cost: append latency grows by the checkpoint time
 * (~0.3 s per 500k rows), and the WAL holds up to `flushIntervalMs` of data.
 */

type Source = 'raw' | '1m' | '1h';

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

interface RawTable {
  measurement: MeasurementName;
  table: string;
  tags: readonly string[];
  /** The measurement's known fields (what queries use). */
  fields: readonly string[];
  /** The table's DOUBLE columns in table order (what the appender fills). */
  columns: string[];
  /** Known field → position in `columns`. */
  columnIndex: Map<string, number>;
  /** One row of field values; NaN stands for NULL. */
  row: Float64Array;
  /** SQL expression: the series' tags as JSON text. */
  tagsSql: string;
  appender: DuckDBAppender | undefined;
  touched: boolean;
}

/** What the current chunk appended (wide rows, extra rows), and what the whole call dropped. */
interface BatchCounts {
  wide: number;
  extras: number;
  dropped: number;
  extrasPending: boolean;
  /** robot → minutes (epoch ms) that received points after they were rolled up. */
  late: Map<string, Set<number>> | undefined;
}

interface Meta {
  w1m: number;
  w1h: number;
  cutRaw: number;
  cut1m: number;
}

const RESERVED_COLUMNS = new Set(['ts', 'robot_id']);
/** Points appended and flushed between two yields to the event loop (~10-20 ms of work). */
const APPEND_CHUNK = 4096;
const READERS = 2;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;
const LATEST_LOOKBACK_MS = 3600_000;
const FIELDS_LOOKBACK_MS = 24 * 3600_000;

function ident(name: string): string {
  if (!FIELD_NAME_RE.test(name)) throw new Error(`Invalid identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function literal(name: string): string {
  if (!FIELD_NAME_RE.test(name)) throw new Error(`Invalid identifier ${JSON.stringify(name)}`);
  return `'${name}'`;
}

function tagsSqlOf(tags: readonly string[], prefix = ''): string {
  if (tags.length === 0) return `'{}'`;
  return `json_object(${tags.map((t) => `${literal(t)}, ${prefix}${ident(t)}`).join(', ')})::VARCHAR`;
}

/** The tags text of a series, as `tagsSqlOf` builds it in SQL. */
function tagsJson(declared: readonly string[], tags: Readonly<Record<string, string>> | undefined): string {
  if (declared.length === 0) return '{}';
  const o: Record<string, string | null> = {};
  for (const t of declared) {
    const v = tags?.[t];
    o[t] = v === undefined || v === null ? null : String(v);
  }
  return JSON.stringify(o);
}

const parsedTags = new Map<string, Record<string, string>>();
function parseTags(json: string): Record<string, string> {
  let tags = parsedTags.get(json);
  if (!tags) {
    tags = {};
    for (const [k, v] of Object.entries(JSON.parse(json) as Record<string, unknown>)) {
      if (typeof v === 'string') tags[k] = v;
    }
    if (parsedTags.size < 10_000) parsedTags.set(json, tags);
  }
  return { ...tags };
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

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function big(ms: number): bigint {
  return BigInt(Math.floor(ms));
}

/** DOUBLE and BIGINT results as JS numbers (timestamps and counts fit in 2^53). */
function num(v: DuckDBValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

function floorTo(ms: number, step: number): number {
  return Math.floor(ms / step) * step;
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

/** `floor(column / bucket) * bucket` with the bucket as an integer literal (a parameter here is ~10× slower). */
function bucketSql(column: string, bucket: number): string {
  if (!Number.isSafeInteger(bucket) || bucket <= 0) throw new Error(`Invalid bucket ${bucket}`);
  return `(${column} // ${bucket}) * ${bucket}`;
}

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

export class DuckDbTelemetryStore implements TelemetryStore {
  readonly kind = 'duckdb';

  private instance: DuckDBInstance | undefined;
  /** Appenders only: flushes are synchronous and must never wait behind a query on the same connection. */
  private writer: DuckDBConnection | undefined;
  /** Maintenance and checkpoints. */
  private maint: DuckDBConnection | undefined;
  private readonly idleReaders: DuckDBConnection[] = [];
  private readonly readerWaiters: ((c: DuckDBConnection) => void)[] = [];
  private readerCount = 0;

  private readonly tables = new Map<string, RawTable>();
  private extraAppender: DuckDBAppender | undefined;
  private dirtyAppender: DuckDBAppender | undefined;

  /** Appends, checkpoints and the maintenance snapshot and commit take turns (FIFO). */
  private writeLockTail: Promise<void> = Promise.resolve();
  /** Maintenance and checkpoints run one at a time. */
  private maintChain: Promise<unknown> = Promise.resolve();
  /** Points before this time land in minutes already rolled up: they are recorded in rollup_dirty. */
  private lateBefore = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly warned = new Set<string>();
  private readonly counters: TelemetryStoreStats = {
    points_written: 0,
    rows_written: 0,
    flushes: 0,
    last_flush_ms: 0,
  };

  constructor(private readonly opts: DuckDbTelemetryStoreOptions) {}

  async init(): Promise<void> {
    if (this.instance) throw new Error('DuckDbTelemetryStore.init() called twice');
    const inMemory = this.opts.path === ':memory:';
    this.instance = await DuckDBInstance.create(this.opts.path, { checkpoint_threshold: '1000GB' });
    this.writer = await this.instance.connect();
    this.maint = await this.instance.connect();
    for (let i = 0; i < READERS; i++) this.idleReaders.push(await this.instance.connect());
    this.readerCount = READERS;

    const c = this.maint;
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
    await c.run(
      'CREATE TABLE IF NOT EXISTS rollup_dirty (robot_id VARCHAR NOT NULL, minute BIGINT NOT NULL)',
    );

    for (const m of MEASUREMENT_NAMES) {
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
        throw new Error(
          `Table ${table} has columns ${names.join(', ')}; expected ${expected.join(', ')} first`,
        );
      }
      const columns = names.slice(expected.length);
      this.tables.set(m, {
        measurement: m,
        table,
        tags,
        fields,
        columns,
        columnIndex: new Map(fields.map((f) => [f, columns.indexOf(f)])),
        row: new Float64Array(columns.length),
        tagsSql: tagsSqlOf(tags),
        appender: undefined,
        touched: false,
      });
    }
    const meta = await this.readMeta(c);
    this.lateBefore = meta.w1m;
    await this.openAppenders();

    const every = this.opts.flushIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!inMemory && every > 0) {
      this.timer = setInterval(() => void this.checkpoint(), every);
      this.timer.unref();
    }
  }

  // ---------------------------------------------------------------------------------------------- writes

  /**
   * Appends and flushes (commits) in chunks of APPEND_CHUNK points, yielding to the event loop between chunks:
   * both appending and flushing are synchronous native calls (~20-40 ms per 10k wide rows together), so a
   * 50k-point batch must not run as one block. The whole call holds the write lock, so no checkpoint or
   * maintenance commit starts in between and a flush never waits inside a native call. A failure part-way leaves
   * the chunks before it stored.
   */
  async append(points: readonly TelemetryPoint[]): Promise<void> {
    this.assertOpen();
    if (points.length === 0) return;
    return this.withWriteLock(async () => {
      // Appends queued before close() still run; the connections close after them.
      if (!this.instance) throw new Error('DuckDbTelemetryStore is closed');
      const started = performance.now();
      const batch: BatchCounts = { wide: 0, extras: 0, dropped: 0, extrasPending: false, late: undefined };
      try {
        for (let start = 0; start < points.length; start += APPEND_CHUNK) {
          if (start > 0) await yieldToEventLoop();
          this.appendChunk(points, start, Math.min(points.length, start + APPEND_CHUNK), batch);
          this.flushAppenders(batch);
          this.counters.points_written += batch.wide;
          this.counters.rows_written += batch.wide + batch.extras;
          batch.wide = 0;
          batch.extras = 0;
        }
      } catch (err) {
        await this.resetAppenders();
        throw err;
      }
      if (batch.dropped > 0) {
        this.warnOnce(
          'dropped',
          { dropped: batch.dropped },
          'telemetry points without a known measurement, time or robot dropped',
        );
      }
      this.counters.flushes++;
      this.counters.last_flush_ms = performance.now() - started;
    });
  }

  /** The hot loop: one wide row per point, extras to raw_extra. No allocation per point but the extras' tags. */
  private appendChunk(
    points: readonly TelemetryPoint[],
    start: number,
    end: number,
    batch: BatchCounts,
  ): void {
    const extra = this.extraAppender!;
    const lateBefore = this.lateBefore;
    for (let n = start; n < end; n++) {
      const p = points[n]!;
      const t = this.tables.get(p.measurement);
      const ts = p.ts;
      const robot = p.robot_id;
      if (!t || typeof ts !== 'number' || ts - ts !== 0 || ts < 0 || typeof robot !== 'string') {
        batch.dropped++;
        continue;
      }
      const a = t.appender!;
      const tags = p.tags;
      a.appendDouble(ts);
      a.appendVarchar(robot);
      for (const name of t.tags) {
        const v = tags?.[name];
        if (v === undefined || v === null) a.appendNull();
        else a.appendVarchar(String(v));
      }
      if (tags && t.tags.length !== Object.keys(tags).length) this.noteUndeclaredTags(t, tags);
      const row = t.row;
      row.fill(Number.NaN);
      const fields = p.fields;
      let seriesTags: string | undefined;
      for (const k in fields) {
        const v = fields[k]!;
        const i = t.columnIndex.get(k);
        if (i !== undefined) {
          row[i] = v;
        } else if (typeof v === 'number' && v - v === 0 && FIELD_NAME_RE.test(k)) {
          seriesTags ??= tagsJson(t.tags, tags);
          extra.appendDouble(ts);
          extra.appendVarchar(robot);
          extra.appendVarchar(t.measurement);
          extra.appendVarchar(seriesTags);
          extra.appendVarchar(k);
          extra.appendDouble(v);
          extra.endRow();
          batch.extras++;
          batch.extrasPending = true;
        } else {
          this.warnOnce(`field:${k}`, { measurement: t.measurement, field: k }, 'telemetry field dropped');
        }
      }
      // NaN (missing), ±Infinity and anything that is not a number are stored as NULL.
      for (let i = 0; i < row.length; i++) {
        const v = row[i]!;
        if (v - v === 0) a.appendDouble(v);
        else a.appendNull();
      }
      a.endRow();
      t.touched = true;
      batch.wide++;
      if (ts < lateBefore) {
        batch.late ??= new Map();
        const minutes = batch.late.get(robot) ?? new Set<number>();
        batch.late.set(robot, minutes);
        minutes.add(floorTo(ts, MINUTE_MS));
      }
    }
  }

  private flushAppenders(batch: BatchCounts): void {
    // The late marks first: a crash in between leaves a harmless extra recomputation, never late data that
    // maintain() does not know about.
    if (batch.late) {
      const d = this.dirtyAppender!;
      const late = batch.late;
      batch.late = undefined;
      for (const [robot, minutes] of late) {
        for (const minute of minutes) {
          d.appendVarchar(robot);
          d.appendDouble(minute);
          d.endRow();
        }
      }
      d.flushSync();
    }
    for (const t of this.tables.values()) {
      if (t.touched) {
        t.touched = false;
        t.appender!.flushSync();
      }
    }
    if (batch.extrasPending) {
      batch.extrasPending = false;
      this.extraAppender!.flushSync();
    }
  }

  // ---------------------------------------------------------------------------------------------- reads

  async latest(
    robot_id: string,
    opts: { measurement?: MeasurementName; lookback_ms?: number } = {},
  ): Promise<LatestPoint[]> {
    this.assertOpen();
    const measurements = opts.measurement ? [this.tableOf(opts.measurement)] : [...this.tables.values()];
    const since = big(Date.now() - (opts.lookback_ms ?? LATEST_LOOKBACK_MS));
    return this.withReader(async (c) => {
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

  async range(q: RangeQuery): Promise<RangeResult> {
    this.assertOpen();
    const t = this.tableOf(q.measurement);
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
    const acc = new Map<string, SeriesAcc>();
    const accOf = (field: string, tags: string): SeriesAcc => {
      const key = `${field}\u0000${tags}`;
      const s = acc.get(key) ?? { field, tags, buckets: new Map<number, PartialAgg>() };
      acc.set(key, s);
      return s;
    };

    await this.withReader(async (c) => {
      // One snapshot for the watermarks and every part, so maintenance in between cannot hide data.
      await c.run('BEGIN TRANSACTION');
      try {
        const meta = await this.readMeta(c);
        for (const seg of this.segments(resolution, q.from, q.to, meta)) {
          if (seg.source === 'raw') {
            if (known.length > 0)
              await this.rangeRawWide(c, t, q.robot_id, known, seg, bucket, tagFilter, accOf);
            const extraFields = fields.filter((f) => !t.columnIndex.has(f));
            if (extraFields.length > 0) {
              await this.rangeNarrow(
                c,
                'raw_extra',
                t,
                q.robot_id,
                extraFields,
                seg,
                bucket,
                tagFilter,
                accOf,
              );
            }
          } else {
            const table = seg.source === '1m' ? 'rollup_1m' : 'rollup_1h';
            await this.rangeNarrow(c, table, t, q.robot_id, fields, seg, bucket, tagFilter, accOf);
          }
        }
      } finally {
        await c.run('ROLLBACK');
      }
    });

    const order = new Map(fields.map((f, i) => [f, i]));
    const series: RangeSeries[] = [...acc.values()]
      .sort(
        (a, b) =>
          order.get(a.field)! - order.get(b.field)! || (a.tags < b.tags ? -1 : a.tags > b.tags ? 1 : 0),
      )
      .map((s) => ({
        field: s.field,
        tags: parseTags(s.tags),
        buckets: [...s.buckets.entries()]
          .filter(([, p]) => p.count > 0)
          .sort(([a], [b]) => a - b)
          .map(
            ([bt, p]): RangeBucket => ({
              t: bt,
              avg: p.sum / p.count,
              min: p.min,
              max: p.max,
              last: p.last,
              count: p.count,
            }),
          ),
      }))
      .filter((s) => s.buckets.length > 0);
    result.series = series;
    return result;
  }

  async fields(
    robot_id: string,
    measurement: MeasurementName,
    lookback_ms = FIELDS_LOOKBACK_MS,
  ): Promise<string[]> {
    this.assertOpen();
    const t = this.tableOf(measurement);
    const since = Date.now() - lookback_ms;
    return this.withReader(async (c) => {
      await c.run('BEGIN TRANSACTION');
      try {
        const meta = await this.readMeta(c);
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

  // ---------------------------------------------------------------------------------------------- maintenance

  /**
   * Rolls every complete minute (and hour) since the last run up, recomputes minutes that received late points,
   * then deletes what the policy no longer keeps, all in one transaction, then checkpoints. Raw rows are never
   * deleted before their minute is rolled up, nor minute rows before their hour is.
   * `rolled_up_minutes` / `rolled_up_hours` count the distinct minute / hour buckets written.
   */
  async maintain(now: number, policy: RetentionPolicy): Promise<MaintenanceResult> {
    this.assertOpen();
    if (!Number.isFinite(now)) throw new Error('maintain: now must be a finite epoch ms');
    for (const [k, v] of Object.entries(policy)) {
      if (typeof v !== 'number' || !(v >= 0))
        throw new Error(`maintain: retention ${k} must be a number ≥ 0`);
    }
    return this.serialMaint(async () => {
      const result = await this.maintainOnce(now, policy);
      await this.checkpointNow();
      return result;
    });
  }

  private async maintainOnce(now: number, policy: RetentionPolicy): Promise<MaintenanceResult> {
    const c = this.maint!;
    const result: MaintenanceResult = {
      rolled_up_minutes: 0,
      rolled_up_hours: 0,
      deleted_raw: 0,
      deleted_minute: 0,
      deleted_hour: 0,
    };
    const minuteEnd = floorTo(now, MINUTE_MS);
    // Between two appends: from here on points before minuteEnd are marked late, and every earlier point is
    // in the snapshot this transaction reads.
    await this.withWriteLock(async () => {
      this.lateBefore = Math.max(this.lateBefore, minuteEnd);
      await c.run('BEGIN TRANSACTION');
      await c.run('SELECT count(*) FROM telemetry_meta');
    });
    try {
      const old = await this.readMeta(c);
      const w1m = Math.max(old.w1m, minuteEnd);
      const w1h = Math.max(old.w1h, floorTo(w1m, HOUR_MS));

      // Late points: recompute their minutes (while raw still holds the whole minute), then their hours
      // (while the minute roll-ups of the whole hour are still kept). Dirty minutes from old.w1m on are
      // rolled up below anyway.
      await c.run(
        `CREATE OR REPLACE TEMP TABLE tp_dirty_minutes AS
         SELECT DISTINCT robot_id, minute FROM rollup_dirty WHERE minute < $1 AND minute >= $2`,
        [this.bound(old.w1m), this.bound(old.cutRaw)],
      );
      await c.run('DELETE FROM rollup_dirty WHERE minute < $1', [big(w1m)]);
      const [dirtyMinutes, firstMinute, lastMinute] = await this.row(
        c,
        'SELECT count(DISTINCT minute), min(minute), max(minute) FROM tp_dirty_minutes',
      );
      if (dirtyMinutes && firstMinute != null && lastMinute != null) {
        const bucket = `(x.ts // ${MINUTE_MS}) * ${MINUTE_MS}`;
        await c.run(
          `DELETE FROM rollup_1m r USING tp_dirty_minutes d WHERE r.robot_id = d.robot_id AND r.bucket = d.minute`,
        );
        await this.rollUpRaw(
          c,
          firstMinute,
          lastMinute + MINUTE_MS,
          `EXISTS (SELECT 1 FROM tp_dirty_minutes d WHERE d.robot_id = x.robot_id AND d.minute = ${bucket})`,
        );
        result.rolled_up_minutes += dirtyMinutes;

        await c.run(
          `CREATE OR REPLACE TEMP TABLE tp_dirty_hours AS
           SELECT DISTINCT robot_id, (minute // ${HOUR_MS}) * ${HOUR_MS} AS hour FROM tp_dirty_minutes
           WHERE minute < $1 AND minute >= $2`,
          [this.bound(old.w1h), this.bound(old.cut1m)],
        );
        const [dirtyHours, firstHour, lastHour] = await this.row(
          c,
          'SELECT count(DISTINCT hour), min(hour), max(hour) FROM tp_dirty_hours',
        );
        if (dirtyHours && firstHour != null && lastHour != null) {
          await c.run(
            `DELETE FROM rollup_1h r USING tp_dirty_hours d WHERE r.robot_id = d.robot_id AND r.bucket = d.hour`,
          );
          await this.rollUpHours(
            c,
            firstHour,
            lastHour + HOUR_MS,
            `EXISTS (SELECT 1 FROM tp_dirty_hours d WHERE d.robot_id = x.robot_id AND d.hour = (x.bucket // ${HOUR_MS}) * ${HOUR_MS})`,
          );
          result.rolled_up_hours += dirtyHours;
        }
      }

      // Complete minutes and hours not rolled up yet.
      if (w1m > old.w1m) {
        await this.rollUpRaw(c, old.w1m, w1m);
        result.rolled_up_minutes += await this.scalar(
          c,
          'SELECT count(DISTINCT bucket) FROM rollup_1m WHERE bucket >= $1 AND bucket < $2',
          [this.bound(old.w1m), big(w1m)],
        );
      }
      if (w1h > old.w1h) {
        await this.rollUpHours(c, old.w1h, w1h);
        result.rolled_up_hours += await this.scalar(
          c,
          'SELECT count(DISTINCT bucket) FROM rollup_1h WHERE bucket >= $1 AND bucket < $2',
          [this.bound(old.w1h), big(w1h)],
        );
      }

      // Retention; cut-offs only move forward and never past what is rolled up.
      const cutRaw = Math.max(old.cutRaw, Math.min(floorTo(now - policy.raw_ms, MINUTE_MS), w1m));
      const cut1m = Math.max(old.cut1m, Math.min(floorTo(now - policy.minute_ms, HOUR_MS), w1h));
      const cut1h = floorTo(now - policy.hour_ms, HOUR_MS);
      if (Number.isFinite(cutRaw)) {
        for (const t of this.tables.values()) {
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
        await c.run('DELETE FROM rollup_1h WHERE bucket < $1', [this.bound(cut1h)])
      ).rowsChanged;

      const meta: [string, number][] = [
        ['watermark_1m', w1m],
        ['watermark_1h', w1h],
        ['cutoff_raw', cutRaw],
        ['cutoff_1m', cut1m],
      ];
      for (const [key, value] of meta) {
        if (Number.isFinite(value)) {
          await c.run('INSERT OR REPLACE INTO telemetry_meta VALUES ($1, $2)', [key, big(value)]);
        }
      }
      await this.withWriteLock(() => c.run('COMMIT'));
    } catch (err) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return result;
  }

  /** Minute roll-ups of raw rows (wide tables and extras) with `from <= ts < to` and `where` (on alias x). */
  private async rollUpRaw(c: DuckDBConnection, from: number, to: number, where = 'true'): Promise<void> {
    const params = [this.bound(from), big(to)];
    const bucket = `(x.ts // ${MINUTE_MS}) * ${MINUTE_MS}`;
    for (const t of this.tables.values()) {
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

  private async rollUpHours(c: DuckDBConnection, from: number, to: number, where = 'true'): Promise<void> {
    await c.run(
      `INSERT INTO rollup_1h
       SELECT (x.bucket // ${HOUR_MS}) * ${HOUR_MS}, x.robot_id, x.measurement, x.tags, x.field,
         min(x.min_v), max(x.max_v), sum(x.sum_v), sum(x.count_v), arg_max(x.last_v, x.last_ts), max(x.last_ts)
       FROM rollup_1m x WHERE x.bucket >= $1 AND x.bucket < $2 AND ${where}
       GROUP BY ALL`,
      [this.bound(from), big(to)],
    );
  }

  // ---------------------------------------------------------------------------------------------- range parts

  /**
   * Which stored table answers which part of [from, to). With W = roll-up watermarks and C = retention
   * cut-offs (C_raw ≤ W_1m and C_1m ≤ W_1h by construction):
   * - 1h buckets: hour roll-ups before W_1h, minute roll-ups up to W_1m, raw after (not rolled up yet);
   * - 1m buckets: hour roll-ups before C_1m (minutes deleted), minute roll-ups up to W_1m, raw after;
   * - raw buckets: raw from C_raw on, minute roll-ups before it, hour roll-ups before C_1m.
   * Roll-up rows are taken by bucket start, so windows not aligned to the roll-up are answered at its grain.
   */
  private segments(
    res: Source,
    from: number,
    to: number,
    m: Meta,
  ): { source: Source; from: number; to: number }[] {
    let a: number;
    let b: number;
    if (res === '1h') [a, b] = [m.w1h, m.w1m];
    else if (res === '1m') [a, b] = [m.cut1m, m.w1m];
    else [a, b] = [Math.min(m.cut1m, m.cutRaw), m.cutRaw];
    a = Math.min(a, b);
    const segs = [
      { source: '1h' as const, from, to: Math.min(to, a) },
      { source: '1m' as const, from: Math.max(from, a), to: Math.min(to, b) },
      { source: 'raw' as const, from: Math.max(from, b), to },
    ];
    return segs.filter((s) => s.from < s.to);
  }

  private async rangeRawWide(
    c: DuckDBConnection,
    t: RawTable,
    robot: string,
    fields: readonly string[],
    seg: { from: number; to: number },
    bucket: number,
    tagFilter: [string, string][],
    accOf: (field: string, tags: string) => SeriesAcc,
  ): Promise<void> {
    const params: DuckDBValue[] = [robot, big(seg.from), big(seg.to)];
    const tagWhere = tagFilter.map(([k, v]) => ` AND ${ident(k)} = $${params.push(v)}`).join('');
    const aggs = fields.map((f) => {
      const col = ident(f);
      return `min(${col}), max(${col}), sum(${col}), count(${col}), arg_max(${col}, ts)`;
    });
    const reader = await c.runAndReadAll(
      `SELECT ${bucketSql('ts', bucket)} AS t, ${t.tagsSql} AS tags, ${aggs.join(', ')}
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

  private async rangeNarrow(
    c: DuckDBConnection,
    table: 'raw_extra' | 'rollup_1m' | 'rollup_1h',
    t: RawTable,
    robot: string,
    fields: readonly string[],
    seg: { from: number; to: number },
    bucket: number,
    tagFilter: [string, string][],
    accOf: (field: string, tags: string) => SeriesAcc,
  ): Promise<void> {
    const params: DuckDBValue[] = [robot, t.measurement, big(seg.from), big(seg.to)];
    const inList = fields.map((f) => `$${params.push(f)}`).join(', ');
    const tagWhere = tagFilter
      .map(([k, v]) => ` AND json_extract_string(tags, $${params.push(`$.${k}`)}) = $${params.push(v)}`)
      .join('');
    const sql =
      table === 'raw_extra'
        ? `SELECT ${bucketSql('ts', bucket)}, tags, field, min(value), max(value), sum(value), count(value),
             arg_max(value, ts)
           FROM raw_extra WHERE robot_id = $1 AND measurement = $2 AND ts >= $3 AND ts < $4`
        : `SELECT ${bucketSql('bucket', bucket)}, tags, field, min(min_v), max(max_v), sum(sum_v), sum(count_v),
             arg_max(last_v, last_ts)
           FROM ${table} WHERE robot_id = $1 AND measurement = $2 AND bucket >= $3 AND bucket < $4`;
    const reader = await c.runAndReadAll(`${sql} AND field IN (${inList})${tagWhere} GROUP BY ALL`, params);
    for (const row of reader.getRows()) {
      const count = num(row[6]) ?? 0;
      if (count === 0) continue;
      addPartial(accOf(String(row[2]), String(row[1])), num(row[0])!, {
        min: num(row[3])!,
        max: num(row[4])!,
        sum: num(row[5])!,
        count,
        last: num(row[7]),
      });
    }
  }

  // ---------------------------------------------------------------------------------------------- lifecycle

  stats(): TelemetryStoreStats {
    return { ...this.counters };
  }

  /** Lets queued appends and a running maintenance finish, then closes everything. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.instance) return;
    await this.maintChain.catch(() => undefined);
    await this.withWriteLock(async () => {
      const readers: DuckDBConnection[] = [];
      while (readers.length < this.readerCount) readers.push(await this.acquireReader());
      for (const a of this.allAppenders()) a.closeSync();
      for (const c of [this.writer, this.maint, ...readers]) c?.closeSync();
      this.instance?.closeSync();
      this.instance = undefined;
    });
  }

  // ---------------------------------------------------------------------------------------------- helpers

  private tableOf(measurement: string): RawTable {
    const t = isMeasurementName(measurement) ? this.tables.get(measurement) : undefined;
    if (!t) throw new Error(`Unknown measurement ${JSON.stringify(measurement)}`);
    return t;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('DuckDbTelemetryStore is closed');
    if (!this.instance) throw new Error('DuckDbTelemetryStore.init() was not called');
  }

  /** A BIGINT bound; -∞ (no watermark or cut-off yet) becomes the smallest timestamp. */
  private bound(ms: number): bigint {
    return Number.isFinite(ms) ? big(ms) : -(2n ** 62n);
  }

  private async readMeta(c: DuckDBConnection): Promise<Meta> {
    const reader = await c.runAndReadAll('SELECT key, value FROM telemetry_meta');
    const values = new Map(reader.getRows().map(([k, v]) => [String(k), num(v) ?? Number.NEGATIVE_INFINITY]));
    const get = (key: string) => values.get(key) ?? Number.NEGATIVE_INFINITY;
    return {
      w1m: get('watermark_1m'),
      w1h: get('watermark_1h'),
      cutRaw: get('cutoff_raw'),
      cut1m: get('cutoff_1m'),
    };
  }

  private async scalar(c: DuckDBConnection, sql: string, params?: DuckDBValue[]): Promise<number> {
    return (await this.row(c, sql, params))[0] ?? 0;
  }

  /** The first row of a query, as numbers (null for NULL or a non-number). */
  private async row(c: DuckDBConnection, sql: string, params?: DuckDBValue[]): Promise<(number | null)[]> {
    const reader = await c.runAndReadAll(sql, params);
    return (reader.getRows()[0] ?? []).map(num);
  }

  private async openAppenders(): Promise<void> {
    const w = this.writer!;
    for (const t of this.tables.values()) t.appender = await w.createAppender(t.table);
    this.extraAppender = await w.createAppender('raw_extra');
    this.dirtyAppender = await w.createAppender('rollup_dirty');
  }

  private *allAppenders(): Generator<DuckDBAppender> {
    for (const t of this.tables.values()) if (t.appender) yield t.appender;
    if (this.extraAppender) yield this.extraAppender;
    if (this.dirtyAppender) yield this.dirtyAppender;
  }

  /** After a failed append: drop what is buffered and start over with fresh appenders. */
  private async resetAppenders(): Promise<void> {
    for (const a of this.allAppenders()) {
      try {
        a.clear();
        a.closeSync();
      } catch {
        // An appender in error state may refuse to close; it is replaced either way.
      }
    }
    for (const t of this.tables.values()) {
      t.appender = undefined;
      t.touched = false;
    }
    this.extraAppender = undefined;
    this.dirtyAppender = undefined;
    await this.openAppenders();
  }

  private noteUndeclaredTags(t: RawTable, tags: Readonly<Record<string, string>>): void {
    for (const k of Object.keys(tags)) {
      if (!t.tags.includes(k)) {
        this.warnOnce(
          `tag:${t.measurement}:${k}`,
          { measurement: t.measurement, tag: k },
          'undeclared telemetry tag not stored',
        );
      }
    }
  }

  private warnOnce(key: string, obj: object, msg: string): void {
    if (this.warned.has(key) || this.warned.size > 1000) return;
    this.warned.add(key);
    this.opts.logger?.warn(obj, msg);
  }

  private async withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.writeLockTail;
    let release!: () => void;
    this.writeLockTail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private serialMaint<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.maintChain.catch(() => undefined).then(fn);
    this.maintChain = run;
    return run;
  }

  private checkpoint(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.serialMaint(() => this.checkpointNow()).catch((err: unknown) => {
      this.opts.logger?.warn({ err }, 'telemetry checkpoint failed');
    });
  }

  private async checkpointNow(): Promise<void> {
    if (this.opts.path === ':memory:') return;
    await this.withWriteLock(() => this.maint!.run('CHECKPOINT'));
  }

  private acquireReader(): Promise<DuckDBConnection> {
    const c = this.idleReaders.pop();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.readerWaiters.push(resolve));
  }

  private async withReader<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.acquireReader();
    try {
      return await fn(c);
    } finally {
      const next = this.readerWaiters.shift();
      if (next) next(c);
      else this.idleReaders.push(c);
    }
  }
}
