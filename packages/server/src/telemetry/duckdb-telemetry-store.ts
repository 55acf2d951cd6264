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
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { MeasurementName, TelemetryPoint } from '@tonypi/contracts';
import { TelemetryAppender, type WarnLogger } from './duckdb-appender';
import { queryFields, queryLatest, queryRange, type WithReader } from './duckdb-queries';
import { type MaintenanceContext, rollUpAndExpire } from './duckdb-rollups';
import { createTables, type RawTable, readMeta } from './duckdb-schema';
import { StoreBusyError } from './store-busy-error';
import type {
  LatestPoint,
  MaintenanceResult,
  RangeQuery,
  RangeResult,
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
  logger?: WarnLogger;
  /** Reader connections: queries running at once (default 2). */
  readers?: number;
  /**
   * Reads that may wait for a reader; one more is refused with StoreBusyError (default 4). Bounds how
   * long a query can wait, and what a crowd of dashboards can pile onto the store.
   */
  maxWaitingReads?: number;
}

const DEFAULT_READERS = 2;
const DEFAULT_MAX_WAITING_READS = 4;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

export class DuckDbTelemetryStore implements TelemetryStore {
  readonly kind = 'duckdb';

  private instance: DuckDBInstance | undefined;
  /** Appenders and their transactions only: flushes are synchronous and must never wait behind a query. */
  private writer: DuckDBConnection | undefined;
  /** Maintenance and checkpoints. */
  private maint: DuckDBConnection | undefined;
  private readonly idleReaders: DuckDBConnection[] = [];
  private readonly readerWaiters: ((c: DuckDBConnection) => void)[] = [];
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

  /** Appends, checkpoints and the maintenance snapshot and commit take turns (FIFO). */
  private writeLockTail: Promise<void> = Promise.resolve();
  /** Maintenance and checkpoints run one at a time. */
  private maintChain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
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
    const readers = this.opts.readers ?? DEFAULT_READERS;
    for (let i = 0; i < readers; i++) this.idleReaders.push(await this.instance.connect());
    this.readerCount = readers;

    const maint = this.maint;
    this.tables = await createTables(maint);
    const meta = await readMeta(maint);
    this.appender = await TelemetryAppender.open(
      this.writer,
      this.tables.values(),
      meta.w1m,
      this.counters,
      this.opts.logger,
    );
    const appender = this.appender;
    this.maintenance = {
      conn: maint,
      tables: [...this.tables.values()],
      withWriteLock: (fn) => this.withWriteLock(fn),
      markLateBefore: (ms) => {
        appender.lateBefore = Math.max(appender.lateBefore, ms);
      },
    };

    const every = this.opts.flushIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!inMemory && every > 0) {
      this.timer = setInterval(() => void this.checkpoint(), every);
      this.timer.unref();
    }
  }

  async append(points: readonly TelemetryPoint[]): Promise<void> {
    this.assertOpen();
    if (points.length === 0) return;
    return this.withWriteLock(async () => {
      // Appends queued before close() still run; the connections close after them.
      if (!this.instance) throw new Error('DuckDbTelemetryStore is closed');
      await this.appender!.append(points);
    });
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
    return queryRange(this.withReaderFn, this.tables, q);
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
    return this.serialMaint(async () => {
      const result = await rollUpAndExpire(this.maintenance!, now, policy);
      await this.checkpointNow();
      return result;
    });
  }

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
      // Every reader back in the pool: no query is running on a connection about to close.
      const readers: DuckDBConnection[] = [];
      while (readers.length < this.readerCount) readers.push(await this.acquireReader());
      this.appender?.closeSync();
      for (const c of [this.writer, this.maint, ...readers]) c?.closeSync();
      this.instance?.closeSync();
      this.instance = undefined;
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('DuckDbTelemetryStore is closed');
    if (!this.instance) throw new Error('DuckDbTelemetryStore.init() was not called');
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
    await this.exclusiveOfReads(() => this.withWriteLock(() => this.maint!.run('CHECKPOINT')));
  }

  /** A reader connection, now or when one is free; it counts as active until released. */
  private acquireReader(): Promise<DuckDBConnection> {
    const c = this.idleReaders.pop();
    if (c) {
      this.activeReads++;
      return Promise.resolve(c);
    }
    return new Promise((resolve) => this.readerWaiters.push(resolve));
  }

  private releaseReader(c: DuckDBConnection): void {
    const next = this.readerWaiters.shift();
    // Handed on: it stays active, so a checkpoint waiting for reads to end keeps waiting.
    if (next) {
      next(c);
      return;
    }
    this.idleReaders.push(c);
    this.activeReads--;
    if (this.activeReads === 0) for (const drained of this.readsDrained.splice(0)) drained();
  }

  private async withReader<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
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
