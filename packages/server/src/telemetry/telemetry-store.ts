import type { MeasurementName, Resolution, TelemetryPoint } from '@tonypi/contracts';

/** A range query: one robot, one measurement, some fields, a time window, a wanted point count. */
export interface RangeQuery {
  robot_id: string;
  measurement: MeasurementName;
  /** Field names; empty means every known field of the measurement. Unknown (extra) fields may be named too. */
  fields: readonly string[];
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** About how many buckets the caller wants across the window (e.g. chart width). Default 500, max 10 000. */
  points?: number;
  /** Restrict to series whose tags match, e.g. `{ servo_id: '3' }`. */
  tags?: Readonly<Record<string, string>>;
}

export interface RangeBucket {
  /** Bucket start, epoch ms. */
  t: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  count: number;
}

export interface RangeSeries {
  field: string;
  tags: Record<string, string>;
  buckets: RangeBucket[];
}

export interface RangeResult {
  /** Which stored resolution answered: the coarsest that still gives the requested point count. */
  resolution: Resolution;
  bucket_ms: number;
  series: RangeSeries[];
}

/**
 * A range answer with its series as the API's JSON text in UTF-8: the `series` array of TelemetryResponse
 * (bucket times ISO-8601), exactly JSON.stringify of what `range` gives mapped to the API shape.
 */
export interface RangeJsonResult {
  resolution: Resolution;
  bucket_ms: number;
  /** In pieces, to be joined once (Buffer.concat) with what surrounds it. */
  series_json: Buffer[];
}

export interface LatestPoint {
  measurement: MeasurementName;
  tags: Record<string, string>;
  ts: number;
  fields: Record<string, number>;
}

export interface RetentionPolicy {
  /** How long raw points are kept (ms). Default 7 days. */
  raw_ms: number;
  /** How long one-minute roll-ups are kept (ms). Default 90 days. */
  minute_ms: number;
  /** How long one-hour roll-ups are kept (ms). Default 730 days. */
  hour_ms: number;
}

export interface MaintenanceResult {
  rolled_up_minutes: number;
  rolled_up_hours: number;
  deleted_raw: number;
  deleted_minute: number;
  deleted_hour: number;
}

export interface TelemetryStoreStats {
  points_written: number;
  rows_written: number;
  flushes: number;
  last_flush_ms: number;
  /** Times the store reopened its database after a fatal error (stores that can). */
  reopens?: number;
}

/**
 * Thrown instead of running a statement while the store cannot work (e.g. its database waits to be reopened
 * after a fatal error such as a full disk). Readers get 503 with Retry-After; the ingest keeps its queue.
 */
export class TelemetryStoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TelemetryStoreUnavailableError';
  }
}

/**
 * An append that failed part-way: the first `stored` points of the batch (at least one, fewer than all) are
 * stored (or were dropped as unstorable), the rest are not. A caller that retries writes
 * `points.slice(stored)`, so nothing is stored twice.
 */
export class PartialAppendError extends Error {
  constructor(
    message: string,
    readonly stored: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PartialAppendError';
  }
}

/**
 * Where telemetry lives. Implementations: DuckDB (embedded, default), InfluxDB (later).
 * All of them pass the same contract suite (`telemetry-store.contract.ts`).
 */
export interface TelemetryStore {
  readonly kind: string;
  /** Creates tables/databases as needed. Called once before anything else. */
  init(): Promise<void>;
  /**
   * Stores a batch durably enough that a following query sees it. Points may mix measurements and robots.
   * Resolves when every point is stored (or dropped as unstorable, e.g. an unknown measurement). Rejects
   * otherwise: a PartialAppendError says the first `stored` points of the batch are done with and only the
   * rest should be written again; any other error means none of the batch was stored.
   */
  append(points: readonly TelemetryPoint[]): Promise<void>;
  /** The newest point of every series of a robot (all measurements, or one), looking back at most `lookback_ms`. */
  latest(
    robot_id: string,
    opts?: { measurement?: MeasurementName; lookback_ms?: number },
  ): Promise<LatestPoint[]>;
  range(query: RangeQuery): Promise<RangeResult>;
  /**
   * Many robots' roll-ups of one measurement at once, in buckets of `bucket_ms` (reports over a fleet); a store
   * without it is read robot by robot with `range`.
   */
  rollups?(query: {
    measurement: string;
    robot_ids?: readonly string[];
    from: number;
    to: number;
    bucket_ms: number;
  }): Promise<
    {
      robot_id: string;
      field: string;
      tags: Record<string, string>;
      bucket_ms: number;
      buckets: { t: number; avg: number | null; min: number | null; max: number | null; count: number }[];
    }[]
  >;
  /**
   * The same answer as text, for stores that keep prepared answers (the DuckDB store's closed buckets): the
   * API sends it as is. Stores without it are answered through `range`.
   */
  rangeJson?(query: RangeQuery): Promise<RangeJsonResult>;
  /** Field names (known and extra) that hold data for a robot and measurement in the last `lookback_ms`. */
  fields(robot_id: string, measurement: MeasurementName, lookback_ms?: number): Promise<string[]>;
  /** Rolls raw points up into minute/hour buckets and deletes what the policy no longer keeps. */
  maintain(now: number, policy: RetentionPolicy): Promise<MaintenanceResult>;
  stats(): TelemetryStoreStats;
  /**
   * Why the store cannot be used now, e.g. its embedded database was invalidated by a fatal error (a full
   * disk) and waits to be reopened; null while it works. Stores that cannot tell leave it out.
   */
  unavailable?(): string | null;
  /** Makes the next call try to recover at once instead of after its backoff (the last flush at shutdown). */
  retryNow?(): void;
  close(): Promise<void>;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  raw_ms: 7 * 24 * 3600_000,
  minute_ms: 90 * 24 * 3600_000,
  hour_ms: 730 * 24 * 3600_000,
};

/** DuckDB's sentence before the cause, on every write after a fatal error. */
const INVALIDATED =
  /database has been invalidated because of a previous fatal error\. The database must be restarted prior to being used again\.\s*Original error:\s*/;

/**
 * A store error as health shows it (`ingest.store_error`, the telemetry component's `detail`), at most 300
 * characters. DuckDB's long "database has been invalidated … Original error:" sentence is shortened so the
 * cause (e.g. "No space left on device") fits.
 */
export function storeErrorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(INVALIDATED, 'database invalidated by ').slice(0, 300);
}
