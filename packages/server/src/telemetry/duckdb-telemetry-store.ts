/**
 * TelemetryStore on embedded DuckDB: the connections, who may use them when, and the checkpoint timer. The
 * work itself lives beside it: tables in duckdb-schema.ts, the append path in duckdb-appender.ts, reads in
 * duckdb-queries.ts, roll-ups and retention in duckdb-rollups.ts.
 *
 * Connections: one writer (appenders and their per-chunk transactions only), one for maintenance and
 * checkpoints, and a small pool of readers, so a query never delays a flush and a long range query does not
 * hold up `latest`.
 *
 * Checkpoints: DuckDB's automatic checkpoint runs inside the commit that crosses the WAL threshold; with the
 * appender that commit was `flushSync()` on the event loop, and it stalled it for ~170 ms. Running CHECKPOINT
 * on another connection is not enough: a flush that starts while a checkpoint runs waits for it, again on the
 * event loop (measured up to ~450 ms). So the automatic checkpoint is off (threshold 1000 GB) and checkpoints
 * run explicitly on the maintenance connection (every `flushIntervalMs`, after maintain(), and DuckDB's own at
 * close) under a write lock that append() also holds: a checkpoint or the maintenance commit never overlaps a
 * flush; appends queue behind it asynchronously instead. The cost: append latency grows by the checkpoint time
 * (~0.3 s per 500k rows), and the WAL holds up to `flushIntervalMs` of data.
 *
 * Fatal errors: DuckDB invalidates the whole database after a fatal error (a checkpoint that cannot write the
 * file, as on a full disk) and refuses every later statement on every connection, even once the disk has room
 * again. The store notices (`unavailable()` says why), refuses appends and queries at once while it waits, and
 * reopens the database (a new instance, connections and appenders) on the first call after a backoff that
 * doubles while reopening fails. What the WAL held is replayed by the reopen; what an append was refused is
 * the caller's to keep and write again.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { MeasurementName, TelemetryPoint } from '@tonypi/contracts';
import { TelemetryAppender, type WarnLogger } from './duckdb-appender';
import {
  queryFields,
  queryLatest,
  queryRange,
  queryRangeJson,
  queryRollups,
  type RollupQuery,
  type RollupSeries,
  type WithReader,
} from './duckdb-queries';
import { type MaintenanceContext, rollUpAndExpire } from './duckdb-rollups';
import { createTables, type RawTable, readMeta } from './duckdb-schema';
import {
  DEFAULT_RANGE_CACHE_CELLS,
  DEFAULT_RANGE_TAIL_MAX_AGE_MS,
  RangeCache,
  type RangeCacheStats,
} from './range-cache';
import { StoreBusyError } from './store-busy-error';
import type {
  LatestPoint,
  MaintenanceResult,
  RangeJsonResult,
  RangeQuery,
  RangeResult,
  RetentionPolicy,
  TelemetryStore,
  TelemetryStoreStats,
} from './telemetry-store';
import { TelemetryStoreUnavailableError } from './telemetry-store';

export { TelemetryStoreUnavailableError };

export interface DuckDbTelemetryStoreOptions {
  /** Database file, or `':memory:'`. */
  path: string;
  /**
   * How often the write-ahead log is folded into the database file (a `CHECKPOINT` on a background
   * connection), ms. Default 10 000; 0 leaves it to `maintain()` and `close()`. Ignored for `':memory:'`.
   */
  flushIntervalMs?: number;
  logger?: WarnLogger;
  /**
   * After a fatal error: the wait before the first reopen, doubled after each failed one up to `max`, ms.
   * Default 1 s … 30 s.
   */
  reopenBackoffMs?: { first: number; max: number };
  /** Opens the DuckDB instance; tests inject faults here. Default `DuckDBInstance.create`. */
  openInstance?: (path: string, options: Record<string, string>) => Promise<DuckDBInstance>;
  /** Reader connections: queries running at once (default 2). */
  readers?: number;
  /**
   * Reads that may wait for a reader; one more is refused with StoreBusyError (default 4). Bounds how
   * long a query can wait, and what a crowd of dashboards can pile onto the store.
   */
  maxWaitingReads?: number;
  /**
   * Closed buckets of range answers kept between queries (range-cache.ts), counted in buckets over all
   * series; default 200 000 (≈ 40 MB), 0 keeps none.
   */
  rangeCacheCells?: number;
  /**
   * How long what a range query read after its closed buckets (the fresh tail) answers the next queries of the
   * same shape (RecentTails in range-cache.ts); default 1000 ms, 0 reads it for every query.
   */
  rangeTailMaxAgeMs?: number;
}

const DEFAULT_READERS = 2;
const DEFAULT_MAX_WAITING_READS = 4;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;
const DEFAULT_REOPEN_BACKOFF_MS = { first: 1000, max: 30_000 };
/** DuckDB's messages once the database is invalidated (the error that did it starts with "FATAL Error"). */
const FATAL_RE = /FATAL Error|database has been invalidated/i;

export class DuckDbTelemetryStore implements TelemetryStore {
  readonly kind = 'duckdb';

  private instance: DuckDBInstance | undefined;
  /** Appenders and their transactions only: flushes are synchronous and must never wait behind a query. */
  private writer: DuckDBConnection | undefined;
  /** Maintenance and checkpoints. */
  private maint: DuckDBConnection | undefined;
  private readonly idleReaders: DuckDBConnection[] = [];
  private readonly readerWaiters: { resolve: (c: DuckDBConnection) => void; reject: (e: Error) => void }[] =
    [];
  private readerCount = 0;
  /** Reader connections in use, and reads waiting for one (bounded: maxWaitingReads). */
  private activeReads = 0;
  private waitingReads = 0;
  /** Set while a checkpoint waits for running reads to end or runs: new reads wait for it. */
  private readGate: Promise<void> | undefined;
  private readonly readsDrained: (() => void)[] = [];

  private tables: ReadonlyMap<MeasurementName, RawTable> = new Map();
  private appender: TelemetryAppender | undefined;
  private maintenance: MaintenanceContext | undefined;
  private readonly withReaderFn: WithReader = (fn) => this.withReader(fn);
  private readonly rangeCache: RangeCache;

  /** Appends, checkpoints and the maintenance snapshot and commit take turns (FIFO). */
  private writeLockTail: Promise<void> = Promise.resolve();
  /** Maintenance and checkpoints run one at a time. */
  private maintChain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Why the database is unusable until reopened (DuckDB invalidated it), or undefined while it works. */
  private broken: string | undefined;
  private reopenAt = 0;
  private reopenDelayMs: number;
  private reopening: Promise<void> | undefined;
  private readonly counters: TelemetryStoreStats = {
    points_written: 0,
    rows_written: 0,
    flushes: 0,
    last_flush_ms: 0,
  };

  constructor(private readonly opts: DuckDbTelemetryStoreOptions) {
    this.reopenDelayMs = (opts.reopenBackoffMs ?? DEFAULT_REOPEN_BACKOFF_MS).first;
    this.rangeCache = new RangeCache(
      opts.rangeCacheCells ?? DEFAULT_RANGE_CACHE_CELLS,
      opts.rangeTailMaxAgeMs ?? DEFAULT_RANGE_TAIL_MAX_AGE_MS,
    );
  }

  async init(): Promise<void> {
    if (this.instance) throw new Error('DuckDbTelemetryStore.init() called twice');
    const inMemory = this.opts.path === ':memory:';
    await this.openConnections();

    const every = this.opts.flushIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!inMemory && every > 0) {
      this.timer = setInterval(() => void this.checkpoint(), every);
      this.timer.unref();
    }
  }

  async append(points: readonly TelemetryPoint[]): Promise<void> {
    this.assertOpen();
    if (points.length === 0) return;
    if (this.broken) await this.reopen();
    return this.withWriteLock(async () => {
      // Appends queued before close() still run; the connections close after them.
      if (!this.instance) throw this.notOpenError();
      try {
        await this.appender!.append(points);
      } catch (err) {
        this.noteFailure(err);
        throw err;
      }
    });
  }

  /** Why the store cannot write or read now (it waits to reopen the database after a fatal error), or null. */
  unavailable(): string | null {
    return this.broken ?? null;
  }

  /** The next call reopens a broken database at once, without waiting for the backoff (a last try at shutdown). */
  retryNow(): void {
    this.reopenAt = 0;
  }

  async latest(
    robot_id: string,
    opts: { measurement?: MeasurementName; lookback_ms?: number } = {},
  ): Promise<LatestPoint[]> {
    this.assertOpen();
    return queryLatest(this.withReaderFn, this.tables, robot_id, opts);
  }

  async range(q: RangeQuery): Promise<RangeResult> {
    this.assertOpen();
    return queryRange(this.withReaderFn, this.tables, q, this.rangeCache);
  }

  async rollups(q: RollupQuery): Promise<RollupSeries[]> {
    this.assertOpen();
    return queryRollups(this.withReaderFn, q);
  }

  async rangeJson(q: RangeQuery): Promise<RangeJsonResult> {
    this.assertOpen();
    return queryRangeJson(this.withReaderFn, this.tables, q, this.rangeCache);
  }

  async fields(robot_id: string, measurement: MeasurementName, lookback_ms?: number): Promise<string[]> {
    this.assertOpen();
    return queryFields(this.withReaderFn, this.tables, robot_id, measurement, lookback_ms);
  }

  /** Rolls up and applies retention (see duckdb-rollups.ts), then checkpoints. */
  async maintain(now: number, policy: RetentionPolicy): Promise<MaintenanceResult> {
    this.assertOpen();
    if (!Number.isFinite(now)) throw new Error('maintain: now must be a finite epoch ms');
    for (const [k, v] of Object.entries(policy)) {
      if (typeof v !== 'number' || !(v >= 0))
        throw new Error(`maintain: retention ${k} must be a number ≥ 0`);
    }
    if (this.broken) await this.reopen();
    return this.serialMaint(async () => {
      if (!this.instance) throw this.notOpenError();
      try {
        const result = await rollUpAndExpire(this.maintenance!, now, policy);
        // The minute watermark moved: the fresh tails read before it are not the tails of later queries.
        this.rangeCache.tails.clear();
        await this.checkpointNow();
        return result;
      } catch (err) {
        this.noteFailure(err);
        throw err;
      }
    });
  }

  stats(): TelemetryStoreStats {
    return { ...this.counters };
  }

  /** What the range cache holds and how often it answered (range-cache.ts). */
  rangeCacheStats(): RangeCacheStats {
    return this.rangeCache.stats();
  }

  /** Lets queued appends and a running maintenance finish, then closes everything. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.instance) return;
    await this.reopening?.catch(() => undefined);
    await this.maintChain.catch(() => undefined);
    await this.withWriteLock(async () => {
      // Every reader back in the pool: no query is running on a connection about to close.
      const readers: DuckDBConnection[] = [];
      while (readers.length < this.readerCount) readers.push(await this.acquireReader());
      this.closeConnections(readers);
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('DuckDbTelemetryStore is closed');
    if (!this.instance && !this.broken) throw new Error('DuckDbTelemetryStore.init() was not called');
  }

  private notOpenError(): Error {
    if (this.closed) return new Error('DuckDbTelemetryStore is closed');
    return new TelemetryStoreUnavailableError(`telemetry database unavailable: ${this.broken}`);
  }

  /** The instance, its connections, the tables, the appenders and the maintenance context. */
  private async openConnections(): Promise<void> {
    const open = this.opts.openInstance ?? ((path, options) => DuckDBInstance.create(path, options));
    const instance = await open(this.opts.path, { checkpoint_threshold: '1000GB' });
    const opened: DuckDBConnection[] = [];
    try {
      const writer = await instance.connect();
      opened.push(writer);
      const maint = await instance.connect();
      opened.push(maint);
      const readers: DuckDBConnection[] = [];
      const readerCount = this.opts.readers ?? DEFAULT_READERS;
      for (let i = 0; i < readerCount; i++) {
        readers.push(await instance.connect());
        opened.push(readers[i]!);
      }
      const tables = await createTables(maint);
      const meta = await readMeta(maint);
      const appender = await TelemetryAppender.open(
        writer,
        tables.values(),
        meta.w1m,
        this.counters,
        this.opts.logger,
      );
      // A reopened database is what its file and WAL held: nothing cached before may be assumed of it.
      this.rangeCache.clear();
      this.instance = instance;
      this.writer = writer;
      this.maint = maint;
      this.tables = tables;
      this.appender = appender;
      this.maintenance = {
        conn: maint,
        tables: [...tables.values()],
        withWriteLock: (fn) => this.withWriteLock(fn),
        markLateBefore: (ms) => {
          appender.lateBefore = Math.max(appender.lateBefore, ms);
        },
      };
      this.readerCount = readerCount;
      for (const r of readers) this.addReader(r);
    } catch (err) {
      for (const c of opened) closeQuietly(() => c.closeSync());
      closeQuietly(() => instance.closeSync());
      throw err;
    }
  }

  /** Closes the appenders, the connections (`readers`: every reader, back from the pool) and the instance. */
  private closeConnections(readers: DuckDBConnection[]): void {
    // An invalidated database refuses the appenders' last flush: close what can be closed.
    const quietly = this.broken ? closeQuietly : (fn: () => void) => fn();
    if (this.appender) quietly(() => this.appender!.closeSync());
    for (const c of [this.writer, this.maint, ...readers]) if (c) quietly(() => c.closeSync());
    if (this.instance) quietly(() => this.instance!.closeSync());
    this.appender = undefined;
    this.writer = undefined;
    this.maint = undefined;
    this.instance = undefined;
    this.readerCount = 0;
    // Whoever closed them held every reader: none is in use any more.
    this.activeReads = 0;
  }

  /** A fatal error invalidated the database: from now on calls fail at once until reopen() succeeds. */
  private noteFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.broken || !FATAL_RE.test(message)) return;
    // The whole message: DuckDB's "Original error" line after the first says what happened (the full disk).
    this.broken = message.replace(/\s*\n\s*/g, ' ').slice(0, 500);
    this.reopenAt = Date.now() + this.reopenDelayMs;
    this.opts.logger?.warn(
      { err: message.slice(0, 1000), reopen_in_ms: this.reopenDelayMs },
      'telemetry database invalidated by a fatal error; it is reopened once it can be written again',
    );
  }

  /**
   * Reopens the database after a fatal error, when the backoff is over; otherwise, or when reopening fails,
   * rejects with a TelemetryStoreUnavailableError. Waits for running maintenance, appends and queries first.
   */
  private reopen(): Promise<void> {
    if (this.reopening) return this.reopening;
    const wait = this.reopenAt - Date.now();
    if (wait > 0) {
      return Promise.reject(
        new TelemetryStoreUnavailableError(
          `telemetry database unavailable (${this.broken}); next reopen in ${Math.ceil(wait / 1000)} s`,
        ),
      );
    }
    const run = this.serialMaint(() => this.withWriteLock(() => this.reopenNow()));
    this.reopening = run;
    return run.finally(() => {
      this.reopening = undefined;
    });
  }

  private async reopenNow(): Promise<void> {
    if (!this.broken || this.closed) return;
    const readers: DuckDBConnection[] = [];
    while (readers.length < this.readerCount) readers.push(await this.acquireReader());
    this.closeConnections(readers);
    const backoff = this.opts.reopenBackoffMs ?? DEFAULT_REOPEN_BACKOFF_MS;
    try {
      await this.openConnections();
    } catch (err) {
      const message = (err as Error).message.split('\n')[0]!.slice(0, 300);
      this.reopenAt = Date.now() + this.reopenDelayMs;
      this.opts.logger?.warn(
        { err: message, broken: this.broken, retry_in_ms: this.reopenDelayMs },
        'telemetry database could not be reopened',
      );
      this.reopenDelayMs = Math.min(backoff.max, this.reopenDelayMs * 2);
      const unavailable = new TelemetryStoreUnavailableError(
        `telemetry database unavailable (${this.broken}); reopening it failed: ${message}`,
      );
      for (const w of this.readerWaiters.splice(0)) w.reject(unavailable);
      throw unavailable;
    }
    this.opts.logger?.warn({ after: this.broken }, 'telemetry database reopened');
    this.broken = undefined;
    this.reopenDelayMs = backoff.first;
    this.counters.reopens = (this.counters.reopens ?? 0) + 1;
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
    // A broken database is left alone until an append or a query reopens it.
    if (this.closed || this.broken) return Promise.resolve();
    return this.serialMaint(() => this.checkpointNow()).catch((err: unknown) => {
      this.noteFailure(err);
      this.opts.logger?.warn({ err }, 'telemetry checkpoint failed');
    });
  }

  private async checkpointNow(): Promise<void> {
    if (this.opts.path === ':memory:') return;
    await this.exclusiveOfReads(() =>
      this.withWriteLock(async () => {
        if (!this.maint) throw this.notOpenError();
        await this.maint.run('CHECKPOINT');
      }),
    );
  }

  /** A reader connection, now or when one is free; it counts as active until released. */
  private acquireReader(): Promise<DuckDBConnection> {
    const c = this.idleReaders.pop();
    if (c) {
      this.activeReads++;
      return Promise.resolve(c);
    }
    return new Promise((resolve, reject) => this.readerWaiters.push({ resolve, reject }));
  }

  /** A new reader connection joins the pool (at start and after a reopen). */
  private addReader(c: DuckDBConnection): void {
    const next = this.readerWaiters.shift();
    if (next) {
      this.activeReads++;
      next.resolve(c);
    } else this.idleReaders.push(c);
  }

  private releaseReader(c: DuckDBConnection): void {
    const next = this.readerWaiters.shift();
    // Handed on: it stays active, so a checkpoint waiting for reads to end keeps waiting.
    if (next) {
      next.resolve(c);
      return;
    }
    this.idleReaders.push(c);
    this.activeReads--;
    if (this.activeReads === 0) for (const drained of this.readsDrained.splice(0)) drained();
  }

  private async withReader<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.broken) await this.reopen();
    let c: DuckDBConnection;
    if (!this.readGate && this.idleReaders.length > 0) c = await this.acquireReader();
    else {
      const limit = this.opts.maxWaitingReads ?? DEFAULT_MAX_WAITING_READS;
      if (this.waitingReads >= limit) throw new StoreBusyError(this.waitingReads);
      this.waitingReads++;
      try {
        while (this.readGate) await this.readGate;
        c = await this.acquireReader();
      } finally {
        this.waitingReads--;
      }
    }
    try {
      return await fn(c);
    } catch (err) {
      this.noteFailure(err);
      throw err;
    } finally {
      this.releaseReader(c);
    }
  }

  /**
   * Runs `fn` with no read in progress; reads that arrive meanwhile wait. A CHECKPOINT needs every
   * table's checkpoint lock, and a running query holds its table's: a checkpoint started beside a
   * long range query waited for it while holding the lock every write needs, so the appender's
   * synchronous flush stalled the event loop for seconds (bench:load, docs/performance.md).
   */
  private async exclusiveOfReads<T>(fn: () => Promise<T>): Promise<T> {
    while (this.readGate) await this.readGate;
    let open!: () => void;
    this.readGate = new Promise<void>((resolve) => {
      open = resolve;
    });
    try {
      if (this.activeReads > 0) await new Promise<void>((resolve) => this.readsDrained.push(resolve));
      return await fn();
    } finally {
      this.readGate = undefined;
      open();
    }
  }
}

function closeQuietly(close: () => void): void {
  try {
    close();
  } catch {
    // Already closed, or refused by an invalidated database: nothing more to do with it.
  }
}
