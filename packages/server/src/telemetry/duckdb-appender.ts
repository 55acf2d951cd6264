/**
 * The ingest hot path of the DuckDB telemetry store: points into the raw tables through DuckDB appenders on
 * the writer connection, late points noted in rollup_dirty, and what cannot be stored dropped with a warning.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { FIELD_NAME_RE, type MeasurementName, type TelemetryPoint } from '@tonypi/contracts';
import type { RawTable } from './duckdb-schema';
import { floorTo, tagsJson } from './duckdb-sql';
import { MINUTE_MS } from './range-buckets';
import { PartialAppendError, type TelemetryStoreStats } from './telemetry-store';

/** The last instant a JavaScript Date can hold (year 275760), in ms. */
const MAX_TS = 8.64e15;

/** Points appended and committed as one transaction between two returns to the event loop (~10-20 ms). */
const APPEND_CHUNK = 4096;

export type WarnLogger = { warn(obj: object, msg: string): void };

/** A raw table as the append path sees it: the parts of its layout the hot loop reads, and its appender. */
interface Target {
  readonly measurement: MeasurementName;
  readonly table: string;
  readonly tags: readonly string[];
  readonly columnIndex: ReadonlyMap<string, number>;
  /** One row of field values (the table's DOUBLE columns); NaN stands for NULL. */
  readonly row: Float64Array;
  appender: DuckDBAppender | undefined;
  /** Rows appended since the last flush. */
  touched: boolean;
}

/** What the current chunk appended (wide rows, extra rows), and what the whole call dropped. */
interface BatchCounts {
  wide: number;
  extras: number;
  dropped: number;
  /** robot → minutes (epoch ms) that received points after they were rolled up. */
  late: Map<string, Set<number>> | undefined;
}

export class TelemetryAppender {
  /**
   * Points before this time land in minutes already rolled up: they are recorded in rollup_dirty.
   * maintain() moves it forward, between two appends.
   */
  lateBefore: number;

  private readonly targets = new Map<string, Target>();
  private extraAppender: DuckDBAppender | undefined;
  private dirtyAppender: DuckDBAppender | undefined;
  /** Set when a failed append dropped the appenders: the next append opens new ones (or fails doing so). */
  private reopen = false;
  private readonly warned = new Set<string>();

  private constructor(
    /** Appenders and their transactions only: flushes are synchronous and must never wait behind a query. */
    private readonly writer: DuckDBConnection,
    tables: Iterable<RawTable>,
    lateBefore: number,
    /** The store's counters: points_written and rows_written grow here, chunk by chunk. */
    private readonly counters: TelemetryStoreStats,
    private readonly logger: WarnLogger | undefined,
  ) {
    this.lateBefore = lateBefore;
    for (const t of tables) {
      this.targets.set(t.measurement, {
        measurement: t.measurement,
        table: t.table,
        tags: t.tags,
        columnIndex: t.columnIndex,
        row: new Float64Array(t.columns.length),
        appender: undefined,
        touched: false,
      });
    }
  }

  static async open(
    writer: DuckDBConnection,
    tables: Iterable<RawTable>,
    lateBefore: number,
    counters: TelemetryStoreStats,
    logger: WarnLogger | undefined,
  ): Promise<TelemetryAppender> {
    const a = new TelemetryAppender(writer, tables, lateBefore, counters, logger);
    await a.openAppenders();
    return a;
  }

  /**
   * Appends in chunks of APPEND_CHUNK points, one transaction per chunk. Appending and flushing are
   * synchronous native calls (~20-40 ms per 10k wide rows together), so a 50k-point batch must not run as one
   * block: the asynchronous BEGIN and COMMIT around each chunk hand the event loop back in between (and the
   * commit's log write runs off it). The transaction makes a chunk all or nothing although it flushes several
   * appenders (one per measurement, raw_extra, rollup_dirty): a failure leaves whole chunks stored, so the
   * caller can be told how many points are stored (PartialAppendError) and retry exactly the rest. The caller
   * holds the store's write lock for the whole call, so no checkpoint or maintenance commit starts in between
   * and a flush never waits inside a native call.
   */
  async append(points: readonly TelemetryPoint[]): Promise<void> {
    const started = performance.now();
    const batch: BatchCounts = { wide: 0, extras: 0, dropped: 0, late: undefined };
    let committed = 0;
    try {
      if (this.reopen) {
        // Whatever a failed reopen left open goes first.
        this.dropAppenders();
        await this.openAppenders();
        this.reopen = false;
      }
      for (let start = 0; start < points.length; start += APPEND_CHUNK) {
        const end = Math.min(points.length, start + APPEND_CHUNK);
        await this.writer.run('BEGIN TRANSACTION');
        this.appendChunk(points, start, end, batch);
        this.flushAppenders(batch);
        await this.writer.run('COMMIT');
        committed = end;
        this.counters.points_written += batch.wide;
        this.counters.rows_written += batch.wide + batch.extras;
        batch.wide = 0;
        batch.extras = 0;
      }
    } catch (err) {
      await this.abandonChunk();
      if (committed === 0) throw err;
      throw new PartialAppendError(
        `${(err as Error).message} (after ${committed} of ${points.length} points were stored)`,
        committed,
        { cause: err },
      );
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
  }

  /** Closes the appenders (everything appended is flushed already). */
  closeSync(): void {
    for (const a of this.allAppenders()) a.closeSync();
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
      const t = this.targets.get(p.measurement);
      // Whole milliseconds: the BIGINT column rounds a fraction, the late-minute mark would floor it.
      const ts = Math.round(p.ts);
      const robot = p.robot_id;
      // Beyond the last representable date a BIGINT append throws, and the batch would fail on every retry.
      if (
        !t ||
        typeof ts !== 'number' ||
        ts - ts !== 0 ||
        ts < 0 ||
        ts > MAX_TS ||
        typeof robot !== 'string'
      ) {
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
      if (tags) {
        // Any key that is not declared (a typo like `servo` for `servo_id`) is not stored: say so once.
        for (const k in tags) {
          if (!t.tags.includes(k)) {
            this.noteUndeclaredTags(t, tags);
            break;
          }
        }
      }
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
    for (const t of this.targets.values()) {
      if (t.touched) {
        t.touched = false;
        t.appender!.flushSync();
      }
    }
    if (batch.extras > 0) this.extraAppender!.flushSync();
  }

  private async openAppenders(): Promise<void> {
    const w = this.writer;
    for (const t of this.targets.values()) t.appender = await w.createAppender(t.table);
    this.extraAppender = await w.createAppender('raw_extra');
    this.dirtyAppender = await w.createAppender('rollup_dirty');
  }

  private *allAppenders(): Generator<DuckDBAppender> {
    for (const t of this.targets.values()) if (t.appender) yield t.appender;
    if (this.extraAppender) yield this.extraAppender;
    if (this.dirtyAppender) yield this.dirtyAppender;
  }

  /**
   * After a failed chunk: roll its transaction back, drop what the appenders buffer, and have the next append
   * start with fresh ones. Never throws, so the caller reports the original failure.
   */
  private async abandonChunk(): Promise<void> {
    try {
      await this.writer.run('ROLLBACK');
    } catch {
      // No transaction open (BEGIN failed), or DuckDB ended it already with the failed commit.
    }
    this.dropAppenders();
    this.reopen = true;
  }

  /** Drops the appenders and what they buffer. */
  private dropAppenders(): void {
    for (const a of this.allAppenders()) {
      try {
        a.clear();
        a.closeSync();
      } catch {
        // An appender in error state may refuse to close; it is replaced either way.
      }
    }
    for (const t of this.targets.values()) {
      t.appender = undefined;
      t.touched = false;
    }
    this.extraAppender = undefined;
    this.dirtyAppender = undefined;
  }

  private noteUndeclaredTags(t: Target, tags: Readonly<Record<string, string>>): void {
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

  /** One warning per key, and at most ~1000 keys, so a misbehaving robot cannot flood the log. */
  private warnOnce(key: string, obj: object, msg: string): void {
    if (this.warned.has(key) || this.warned.size > 1000) return;
    this.warned.add(key);
    this.logger?.warn(obj, msg);
  }
}
