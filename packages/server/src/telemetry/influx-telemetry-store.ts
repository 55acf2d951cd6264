/**
 * TelemetryStore on InfluxDB over its v1 HTTP API, the subset that runs unchanged on 1.x, 2.x (v1
 * compatibility API, token as password) and 3.x: gzip line-protocol writes at precision=ms, one InfluxQL
 * statement per query, three databases (influx-schema.ts), roll-ups and retention by the server
 * (influx-rollups.ts).
 *
 * Buffering: append() writes the batch it is given, in chunks of ≤ 5,000 lines, in order, one append at a
 * time, and resolves once InfluxDB has every chunk. It keeps nothing: when InfluxDB fails, append rejects —
 * with a PartialAppendError naming the chunks already written, so the caller resends only the rest — and the
 * ingest puts the rest back into its bounded queue, retrying on its next flush. While InfluxDB is down, appends
 * and reads fail at once (no request until the writer's backoff is over), `unavailable()` says why (health
 * shows it), and once a write gets through the queue drains in order. One buffer, the ingest's, bounded by
 * INGEST_QUEUE_LIMIT.
 */
import type { MeasurementName, TelemetryPoint } from '@tonypi/contracts';
import { StartupError } from '../startup-error';
import { InfluxHttp } from './influx-http';
import { encodePoint, pointTags, quoteIdent } from './influx-line-protocol';
import {
  type InfluxReadContext,
  queryFields,
  queryLatest,
  queryRange,
  queryRollups,
  type RollupQuery,
  type RollupSeries,
} from './influx-queries';
import { floorTo, type LateAggregates, rollUpAndExpire } from './influx-rollups';
import {
  NO_WATERMARKS,
  readWatermarks,
  type TierDatabases,
  tierDatabases,
  type Watermarks,
} from './influx-schema';
import { InfluxWriter, type InfluxWriterOptions, MAX_LINES_PER_WRITE } from './influx-writer';
import { MINUTE_MS } from './range-buckets';
import {
  type LatestPoint,
  type MaintenanceResult,
  PartialAppendError,
  type RangeQuery,
  type RangeResult,
  type RetentionPolicy,
  type TelemetryStore,
  type TelemetryStoreStats,
  TelemetryStoreUnavailableError,
} from './telemetry-store';

export interface InfluxTelemetryStoreOptions {
  /** `http(s)://host:port` (a path prefix allowed), no credentials. */
  baseUrl: string;
  username?: string;
  password?: string;
  /** The databases' name prefix: `<db>_raw`, `<db>_1m`, `<db>_1h`. Default `fleet`. */
  db?: string;
  /** How long after a minute ends it is rolled up, ms (late or offline-buffered telemetry). Default 60 000. */
  rollupGraceMs?: number;
  /** How long range queries trust the watermarks they read, ms (another server's maintenance moves them). Default 5 000. */
  watermarkMaxAgeMs?: number;
  requestTimeoutMs?: number;
  /** Write requests of one append in flight at once. Default 2. */
  writeConcurrency?: number;
  writer?: InfluxWriterOptions;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}

/** `influx://user:password@host:8086/?db=fleet` (`influxs://` for https) as store options. */
export function influxOptionsFromUrl(url: string): InfluxTelemetryStoreOptions {
  const u = new URL(url);
  if (u.protocol !== 'influx:' && u.protocol !== 'influxs:')
    throw new Error(`not an influx URL: ${u.protocol}`);
  const db = u.searchParams.get('db') ?? 'fleet';
  if (!/^[A-Za-z0-9_-]{1,48}$/.test(db)) {
    throw new StartupError(`TELEMETRY_URL: db=${JSON.stringify(db)} must be 1–48 letters, digits, _ or -`);
  }
  const path = u.pathname.replace(/\/+$/, '');
  return {
    baseUrl: `${u.protocol === 'influxs:' ? 'https' : 'http'}://${u.host}${path}`,
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    db,
  };
}

type Flavour = '1.x' | '2.x' | '3.x' | 'unknown';

export class InfluxTelemetryStore implements TelemetryStore {
  readonly kind = 'influxdb';
  readonly dbs: TierDatabases;
  private readonly http: InfluxHttp;
  private readonly writer: InfluxWriter;
  private flavour: Flavour = 'unknown';
  private version = '';
  private closed = false;
  private initDone = false;
  /** Appends (and maintenance's read of raw) take turns, so chunks reach InfluxDB in order. */
  private appendTail: Promise<unknown> = Promise.resolve();
  private maintChain: Promise<unknown> = Promise.resolve();
  /** Points before this are late (their minute is rolled up): their aggregates become corrections. */
  private lateBefore = Number.NEGATIVE_INFINITY;
  private late: LateAggregates = new Map();
  private revision = Math.floor(Math.random() * 1e6);
  private watermarkCache: { at: number; value: Promise<Watermarks> } | undefined;
  private readonly read: InfluxReadContext;
  private readonly counters: TelemetryStoreStats & { points_rejected: number } = {
    points_written: 0,
    rows_written: 0,
    flushes: 0,
    last_flush_ms: 0,
    points_rejected: 0,
  };

  constructor(private readonly opts: InfluxTelemetryStoreOptions) {
    this.dbs = tierDatabases(opts.db ?? 'fleet');
    this.http = new InfluxHttp({
      baseUrl: opts.baseUrl,
      username: opts.username,
      password: opts.password,
      timeoutMs: opts.requestTimeoutMs,
    });
    this.writer = new InfluxWriter(this.http, opts.writer);
    this.read = { http: this.http, dbs: this.dbs, watermarks: () => this.watermarks() };
  }

  /** Which InfluxDB answers, as /ping told at init (`1.x 1.6.7~rc0`). */
  describe(): string {
    return `${this.flavour} ${this.version}`.trim();
  }

  /**
   * Finds out the flavour (/ping), creates the three databases where it may (1.x with an admin user), and
   * checks each answers. A database that is missing and cannot be created stops the start with the operator's
   * steps (README "InfluxDB"); 3.x creates databases on their first write, so there it is not an error.
   */
  async init(): Promise<void> {
    if (this.initDone) throw new Error('InfluxTelemetryStore.init() called twice');
    let ping: Awaited<ReturnType<InfluxHttp['ping']>>;
    try {
      ping = await this.http.ping();
    } catch (err) {
      throw new StartupError(`TELEMETRY_URL: ${(err as Error).message}`, { cause: err });
    }
    this.version = ping.version;
    this.flavour =
      /^(Core|Enterprise)$/i.test(ping.build) || ping.status === 200
        ? '3.x'
        : /^v?2\./.test(ping.version)
          ? '2.x'
          : /^v?1\./.test(ping.version)
            ? '1.x'
            : 'unknown';
    if (ping.status === 401 || ping.status === 403) {
      throw new StartupError(`TELEMETRY_URL: InfluxDB refused the credentials (${ping.status} on /ping)`);
    }
    for (const db of Object.values(this.dbs)) await this.ensureDatabase(db);
    const w = await readWatermarks(this.http, this.dbs).catch(() => NO_WATERMARKS);
    this.lateBefore = w.w1m;
    this.initDone = true;
  }

  private async ensureDatabase(db: string): Promise<void> {
    if (this.flavour === '1.x' || this.flavour === 'unknown') {
      // Idempotent on 1.x; needs an admin (else "requires admin privilege": then the operator made them).
      await this.http.query(db, `CREATE DATABASE ${quoteIdent(db)}`).catch(() => undefined);
    }
    if (this.flavour === '3.x') return;
    try {
      await this.http.query(db, 'SHOW MEASUREMENTS LIMIT 1');
    } catch (err) {
      throw new StartupError(
        `TELEMETRY_URL: InfluxDB database ${db} cannot be read (${(err as Error).message}); create ${Object.values(this.dbs).join(', ')} as the README's "InfluxDB" section says`,
        { cause: err },
      );
    }
    if (this.flavour !== '2.x') {
      const names = await this.http.query(db, 'SHOW DATABASES').catch(() => []);
      const found = names[0]?.values.some((v) => v[0] === db);
      if (names.length > 0 && !found) {
        throw new StartupError(
          `TELEMETRY_URL: InfluxDB has no database ${db} and this user may not create it; create ${Object.values(this.dbs).join(', ')} (README, "InfluxDB")`,
        );
      }
    }
  }

  async append(points: readonly TelemetryPoint[]): Promise<void> {
    this.assertOpen();
    if (points.length === 0) return;
    const run = this.appendTail.catch(() => undefined).then(() => this.appendNow(points));
    this.appendTail = run;
    return run;
  }

  /**
   * Writes the batch in chunks, up to `writeConcurrency` requests at once (InfluxDB takes ~30 % more with two
   * writers, reference §1.4, and the next chunk is encoded while one is in flight). What is stored is the run
   * of chunks from the start that all succeeded; a chunk after a failed one that did get through is written
   * again with the rest, which InfluxDB takes as the same points (same series and time), not new ones.
   */
  private async appendNow(points: readonly TelemetryPoint[]): Promise<void> {
    this.writer.assertMayTry();
    const started = Date.now();
    const concurrency = Math.max(1, this.opts.writeConcurrency ?? 2);
    const inFlight: { end: number; lines: number; error: Promise<unknown> }[] = [];
    let next = 0;
    let done = 0;
    let failure: unknown;
    while (done < points.length) {
      while (next < points.length && inFlight.length < concurrency) {
        const lines: string[] = [];
        let end = next;
        for (; end < points.length && lines.length < MAX_LINES_PER_WRITE; end++) {
          const line = encodePoint(points[end]!);
          if (line) lines.push(line);
          else this.counters.points_rejected++;
        }
        const error = this.writer.write(this.dbs.raw, lines).then(
          () => undefined,
          (err: unknown) => err ?? new Error('InfluxDB write failed'),
        );
        inFlight.push({ end, lines: lines.length, error });
        next = end;
      }
      const chunk = inFlight.shift()!;
      failure = await chunk.error;
      if (failure !== undefined) {
        // Nothing after it counts as stored: wait for those requests, then say where the stored run ends.
        await Promise.all(inFlight.map((c) => c.error));
        break;
      }
      for (let i = done; i < chunk.end; i++) this.noteLate(points[i]!);
      this.counters.points_written += chunk.lines;
      this.counters.rows_written += chunk.lines;
      this.counters.flushes++;
      done = chunk.end;
    }
    if (failure !== undefined) {
      if (done === 0) throw failure;
      throw new PartialAppendError(
        `stored ${done} of ${points.length} points: ${(failure as Error).message}`,
        done,
        { cause: failure },
      );
    }
    this.counters.last_flush_ms = Date.now() - started;
  }

  /** A point stored after its minute was rolled up: its values join the next correction of that minute. */
  private noteLate(p: TelemetryPoint): void {
    if (!(p.ts < this.lateBefore)) return;
    const tags = pointTags(p);
    const minute = floorTo(p.ts, MINUTE_MS);
    const tagsJson = JSON.stringify(tags);
    for (const [field, v] of Object.entries(p.fields)) {
      if (!Number.isFinite(v)) continue;
      const key = `${p.measurement}\u0000${tagsJson}\u0000${field}\u0000${minute}`;
      const a = this.late.get(key);
      if (!a) this.late.set(key, { min: v, max: v, sum: v, count: 1, last: v, lastTs: p.ts });
      else {
        a.min = Math.min(a.min, v);
        a.max = Math.max(a.max, v);
        a.sum += v;
        a.count++;
        if (p.ts >= a.lastTs) [a.last, a.lastTs] = [v, p.ts];
      }
    }
  }

  unavailable(): string | null {
    return this.writer.unavailable();
  }

  retryNow(): void {
    this.writer.retryNow();
  }

  async latest(
    robot_id: string,
    opts: { measurement?: MeasurementName; lookback_ms?: number } = {},
  ): Promise<LatestPoint[]> {
    this.assertReadable();
    return queryLatest(this.read, robot_id, opts);
  }

  async range(q: RangeQuery): Promise<RangeResult> {
    this.assertReadable();
    return queryRange(this.read, q);
  }

  async rollups(q: RollupQuery): Promise<RollupSeries[]> {
    this.assertReadable();
    return queryRollups(this.read, q);
  }

  async fields(robot_id: string, measurement: MeasurementName, lookback_ms?: number): Promise<string[]> {
    this.assertReadable();
    return queryFields(this.read, robot_id, measurement, lookback_ms);
  }

  async maintain(now: number, policy: RetentionPolicy): Promise<MaintenanceResult> {
    this.assertOpen();
    if (!Number.isFinite(now)) throw new Error('maintain: now must be a finite epoch ms');
    for (const [k, v] of Object.entries(policy)) {
      if (typeof v !== 'number' || !(v >= 0))
        throw new Error(`maintain: retention ${k} must be a number ≥ 0`);
    }
    const run = this.maintChain
      .catch(() => undefined)
      .then(async () => {
        this.writer.assertMayTry();
        try {
          return await rollUpAndExpire(
            {
              http: this.http,
              dbs: this.dbs,
              write: (db, lines) => this.writer.write(db, lines),
              betweenAppends: (fn) => this.betweenAppends(fn),
              seenWatermark: (w1m) => {
                this.lateBefore = Math.max(this.lateBefore, w1m);
              },
              takeLate: () => {
                const taken = this.late;
                this.late = new Map();
                return taken;
              },
              canDelete: this.flavour !== '3.x',
              graceMs: this.opts.rollupGraceMs ?? 60_000,
              nextRevision: () => this.revision++,
            },
            now,
            policy,
          );
        } finally {
          this.watermarkCache = undefined;
        }
      });
    this.maintChain = run;
    return run;
  }

  /** Runs `fn` with no append in flight; `markLate(ms)`: appends from then on treat points before `ms` as late. */
  private betweenAppends<T>(fn: (markLate: (ms: number) => void) => Promise<T>): Promise<T> {
    const run = this.appendTail
      .catch(() => undefined)
      .then(() =>
        fn((ms) => {
          this.lateBefore = Math.max(this.lateBefore, ms);
        }),
      );
    this.appendTail = run;
    return run;
  }

  stats(): TelemetryStoreStats {
    return { ...this.counters };
  }

  /** What the writer did: requests, retries, lines written and refused. */
  writerStats(): InfluxWriter['stats'] {
    return { ...this.writer.stats };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appendTail.catch(() => undefined);
    await this.maintChain.catch(() => undefined);
  }

  private watermarks(): Promise<Watermarks> {
    const maxAge = this.opts.watermarkMaxAgeMs ?? 5000;
    const cached = this.watermarkCache;
    if (cached && Date.now() - cached.at < maxAge) return cached.value;
    const value = readWatermarks(this.http, this.dbs);
    this.watermarkCache = { at: Date.now(), value };
    value.catch(() => {
      if (this.watermarkCache?.value === value) this.watermarkCache = undefined;
    });
    return value;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('InfluxTelemetryStore is closed');
    if (!this.initDone) throw new Error('InfluxTelemetryStore.init() was not called');
  }

  /** Reads fail at once while InfluxDB is known to be unreachable, instead of each waiting for its time-out. */
  private assertReadable(): void {
    this.assertOpen();
    const down = this.writer.unreachable();
    if (down) {
      try {
        this.writer.assertMayTry();
      } catch {
        throw new TelemetryStoreUnavailableError(down);
      }
    }
  }
}
