import type { IngestRejectReason, TelemetryPoint } from '@tonypi/contracts';
import type { IngestRole } from '../broker/message-bus';
import type { LiveHub } from '../live/live-hub';
import type { Logger } from '../logger';
import type { RobotRegistry } from '../robots/robot-registry';
import type { TelemetryStore } from '../telemetry/telemetry-store';
import { LagReservoir } from './lag-reservoir';
import { type NormalizedMessage, normalize } from './normalize';
import { RejectionLog } from './rejection-log';

export interface IngestPipelineOptions {
  store: TelemetryStore;
  registry: RobotRegistry;
  live: LiveHub;
  logger: Logger;
  /** Most points waiting for the store; beyond it, messages' points are shed (counted as `overload`). */
  queueLimit: number;
  clockSkewMaxMs: number;
  /** How often waiting points are written. */
  flushIntervalMs?: number;
  /** A batch this large is written at once, without waiting for the interval. */
  maxBatchPoints?: number;
  now?: () => number;
}

export interface IngestStats {
  messages_accepted: number;
  messages_rejected: number;
  rejected: Record<string, number>;
  ignored_outbound: number;
  clock_skew_corrected: number;
  points_received: number;
  points_stored: number;
  points_shed: number;
  queue_points: number;
  queue_limit: number;
  store_errors: number;
  /** Whether the last write to the telemetry store succeeded (true before the first one). */
  store_ok: boolean;
  /** The last store error's message, while the store is failing. */
  store_error: string | null;
  flushes: number;
  last_flush_ms: number;
  /** Event time (the robot's `ts`, skew-bounded) → stored, ms, over the last 20 000 messages. */
  store_lag_ms: { p50: number | null; p99: number | null };
}

/**
 * MQTT message → validated model → telemetry store (batched), robot registry and live hub.
 * `handle` runs on the broker's delivery path: it never awaits and never throws.
 */
export class IngestPipeline {
  private pending: TelemetryPoint[] = [];
  /** Event times of the messages whose points are pending (for the lag figures). */
  private pendingEventTs: number[] = [];
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly rejections: RejectionLog;
  private readonly lag = new LagReservoir(20_000);
  private storeError: string | null = null;
  private readonly counters = {
    messages_accepted: 0,
    messages_rejected: 0,
    ignored_outbound: 0,
    clock_skew_corrected: 0,
    points_received: 0,
    points_stored: 0,
    points_shed: 0,
    store_errors: 0,
    flushes: 0,
    last_flush_ms: 0,
  };

  constructor(private readonly opts: IngestPipelineOptions) {
    this.now = opts.now ?? Date.now;
    this.flushIntervalMs = opts.flushIntervalMs ?? 100;
    this.maxBatch = opts.maxBatchPoints ?? 50_000;
    this.rejections = new RejectionLog(opts.logger, 10_000);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * One MQTT message. `role` says what this server does with it: everything (`all`: the embedded
   * broker, or a lone server), or, when several servers share an external broker, only store its
   * points (`store`: the shared subscription hands each message to one server) or only observe
   * it (`observe`: every server's plain subscription, for its registry and live stream).
   */
  readonly handle = (topic: string, payload: Buffer, role: IngestRole = 'all'): void => {
    const receivedAt = this.now();
    // Rejections are counted where the message is observed, not a second time where it is stored.
    const counting = role !== 'store';
    let result: ReturnType<typeof normalize>;
    try {
      result = normalize(topic, payload, { receivedAt, clockSkewMaxMs: this.opts.clockSkewMaxMs });
    } catch (err) {
      // A bug, not bad input: count it and keep going.
      if (counting) this.reject('invalid_payload', `internal: ${(err as Error).message}`, undefined, topic);
      return;
    }
    if (!result.ok) {
      if (!counting) return;
      if (result.reason === 'outbound') this.counters.ignored_outbound++;
      else this.reject(result.reason, result.detail, result.robot_id, topic);
      return;
    }
    const msg = result.message;
    if (!this.opts.registry.accepts(msg.robot_id)) {
      if (counting) {
        this.reject(
          'unknown_robot',
          'robot is not registered and AUTO_REGISTER_ROBOTS is off',
          msg.robot_id,
          topic,
        );
      }
      return;
    }
    if (role !== 'store') this.observe(msg, receivedAt);
    if (role !== 'observe') this.enqueue(msg, topic);
  };

  /** Registry and live stream: what this server's users see of the message. */
  private observe(msg: NormalizedMessage, receivedAt: number): void {
    this.counters.messages_accepted++;
    if (msg.skewed) this.counters.clock_skew_corrected++;
    this.opts.registry.observe(msg, receivedAt);
    const live = this.opts.live;
    for (const p of msg.points) live.telemetry(p);
    const e = msg.event;
    if (!e) return;
    const robot_id = msg.robot_id;
    const ts = msg.ts;
    if (e.type === 'log')
      live.event('log', { robot_id, ts, level: e.level, message: e.message, source: e.source });
    else if (e.type === 'scan') {
      live.event('scan', { robot_id, ts, code: e.code, station_name: e.station_name, action: e.action });
    } else if (e.type === 'job') live.event('job', { robot_id, ts, data: e.data });
    else if (e.type === 'vision') live.event('vision', { robot_id, ts, data: e.data });
  }

  /** Points wait for the next batched write; beyond the queue limit they are shed, counted. */
  private enqueue(msg: NormalizedMessage, topic: string): void {
    const points = msg.points;
    if (points.length === 0) return;
    this.counters.points_received += points.length;
    if (this.pending.length + points.length > this.opts.queueLimit) {
      // Shed the newest: the store is behind. The message was still observed (status, live view).
      this.counters.points_shed += points.length;
      this.rejections.note(
        'overload',
        msg.robot_id,
        `store queue full (${this.opts.queueLimit} points)`,
        topic,
      );
      return;
    }
    for (const p of points) this.pending.push(p);
    this.pendingEventTs.push(msg.ts);
    if (this.pending.length >= this.maxBatch) void this.flush();
  }

  private reject(
    reason: IngestRejectReason,
    detail: string,
    robot_id: string | undefined,
    topic: string,
  ): void {
    this.counters.messages_rejected++;
    this.rejections.note(reason, robot_id, detail, topic);
  }

  /** Writes what is waiting. One write at a time; callers may await the current one. */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.pending.length === 0) return Promise.resolve();
    this.inFlight = this.writeBatch().finally(() => {
      this.inFlight = undefined;
      // More piled up while writing: keep going without waiting for the timer.
      if (this.pending.length >= this.maxBatch) void this.flush();
    });
    return this.inFlight;
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending;
    const eventTs = this.pendingEventTs;
    this.pending = [];
    this.pendingEventTs = [];
    const started = this.now();
    try {
      await this.opts.store.append(batch);
      const done = this.now();
      this.counters.points_stored += batch.length;
      this.counters.flushes++;
      this.counters.last_flush_ms = done - started;
      this.storeError = null;
      for (const ts of eventTs) this.lag.add(done - ts);
    } catch (err) {
      this.counters.store_errors++;
      this.storeError = (err as Error).message.slice(0, 300);
      this.opts.logger.error({ err, points: batch.length }, 'telemetry store write failed');
      if (this.pending.length + batch.length <= this.opts.queueLimit) {
        // Put the batch back in front: retried with the next flush.
        this.pending = batch.concat(this.pending);
        this.pendingEventTs = eventTs.concat(this.pendingEventTs);
      } else {
        this.counters.points_shed += batch.length;
        this.rejections.note('overload', undefined, `dropped ${batch.length} points after a store error`, '');
      }
    }
  }

  /** Stops the timer and writes everything still waiting (graceful shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (let attempt = 0; attempt < 5 && (this.pending.length > 0 || this.inFlight); attempt++) {
      await this.flush();
    }
    this.rejections.flushSummary();
  }

  stats(): IngestStats {
    return {
      ...this.counters,
      rejected: this.rejections.counts(),
      store_ok: this.storeError === null,
      store_error: this.storeError,
      queue_points: this.pending.length,
      queue_limit: this.opts.queueLimit,
      store_lag_ms: { p50: this.lag.quantile(0.5), p99: this.lag.quantile(0.99) },
    };
  }
}
