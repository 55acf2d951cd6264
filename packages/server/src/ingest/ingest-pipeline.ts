import type {
  DecodedMessage,
  IngestDropReason,
  IngestRejectReason,
  IngestStats,
  TelemetryPoint,
} from '@tonypi/contracts';
import type { IngestRole } from '../broker/message-bus';
import type { EventPublisher } from '../core/event-bus';
import type { Logger } from '../logger';
import { PartialAppendError, storeErrorText, type TelemetryStore } from '../telemetry/telemetry-store';
import { LagReservoir } from './lag-reservoir';
import { normalize } from './normalize';
import { RejectionLog } from './rejection-log';

/** How much of a rejected payload `ingest.rejected` carries. */
const REJECTED_EXCERPT_BYTES = 256;
/** Waits between stop()'s attempts to write what is left while the store fails (1.5 s in all). */
const STOP_RETRY_DELAYS_MS = [100, 200, 400, 800] as const;
/** stop() makes at most this many writes, so points that keep arriving cannot hold up the shutdown. */
const STOP_MAX_WRITES = 20;
/** While the store fails, at most one error line per this interval (each flush fails, ~10 a second). */
const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

/** Which robots' messages are taken in (the robot registry answers). */
export interface RobotAdmission {
  /**
   * Undefined when a message from this robot is accepted, else why not. With `register`, an unknown robot that
   * may register itself is registered now.
   */
  admit(robot_id: string, register: boolean): { reason: IngestRejectReason; detail: string } | undefined;
}

export interface IngestPipelineOptions {
  store: TelemetryStore;
  admission: RobotAdmission;
  /** Where accepted messages go beside the store: `robot.message`, and one event per structured kind. */
  events: EventPublisher;
  logger: Logger;
  /**
   * Most points waiting for the store, the batch being written included; beyond it, messages' points are shed
   * (counted as `overload`).
   */
  queueLimit: number;
  clockSkewMaxMs: number;
  /** How often waiting points are written. */
  flushIntervalMs?: number;
  /** A batch this large is written at once, without waiting for the interval. */
  maxBatchPoints?: number;
  now?: () => number;
}

/** The ingest's figures, as health reports them: one definition, in contracts. */
export type { IngestStats } from '@tonypi/contracts';

/**
 * MQTT message → validated model → telemetry store (batched) and the event bus (the registry, the live
 * stream and whoever else subscribes).
 * `handle` runs on the broker's delivery path: it never awaits and never throws.
 */
export class IngestPipeline {
  private pending: TelemetryPoint[] = [];
  /** Event times of the messages whose points are pending (for the lag figures). */
  private pendingEventTs: number[] = [];
  private inFlight: Promise<void> | undefined;
  /** Points of the batch being written: still queued (the write may fail and put them back). */
  private inFlightPoints = 0;
  /** Points still waiting at the end of stop(), which it could not write. */
  private notStoredAtShutdown = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly rejections: RejectionLog;
  private readonly drops: RejectionLog<IngestDropReason>;
  private readonly lag = new LagReservoir(20_000);
  private storeError: string | null = null;
  /** Store-error log lines: when the last one was written, failures since then, and whether one is out. */
  private storeErrorLoggedAt = Number.NEGATIVE_INFINITY;
  private storeErrorsNotLogged = 0;
  private storeErrorLogged = false;
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
    this.drops = new RejectionLog<IngestDropReason>(opts.logger, 10_000, Date.now, {
      each: 'ingest: field dropped',
      summary: 'ingest: dropped fields not logged individually',
    });
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
   * `identity`: the robot that published it, where the broker knows (the embedded one: the authenticated
   * robot, whose client id is its robot id; an anonymous client's identity is its client id). A message about
   * another robot — in its topic, or the payload's `robot_id` on `tonypi/battery` and `tonypi/location` — is
   * refused (`acl_denied`). Undefined: the server's own publish, or an external broker (which enforces its ACL).
   * `own`: the server's own publish (a command, an answer to a scan), as the embedded broker tells: it comes
   * back on a server → robot topic and is not counted as `ignored_outbound`, which counts others' publishes.
   */
  readonly handle = (
    topic: string,
    payload: Buffer,
    role: IngestRole = 'all',
    identity?: string,
    own = false,
  ): void => {
    const receivedAt = this.now();
    // Rejections are counted where the message is observed, not a second time where it is stored.
    const counting = role !== 'store';
    let result: ReturnType<typeof normalize>;
    try {
      result = normalize(topic, payload, { receivedAt, clockSkewMaxMs: this.opts.clockSkewMaxMs });
    } catch (err) {
      // A bug, not bad input: count it and keep going.
      if (counting)
        this.reject(
          'invalid_payload',
          `internal: ${(err as Error).message}`,
          undefined,
          topic,
          payload,
          identity,
        );
      return;
    }
    if (!result.ok) {
      if (!counting) return;
      if (result.reason === 'outbound') {
        if (!own) this.counters.ignored_outbound++;
      } else this.reject(result.reason, result.detail, result.robot_id, topic, payload, identity);
      return;
    }
    const msg = result.message;
    if (identity !== undefined && identity !== msg.robot_id) {
      if (counting)
        this.reject(
          'acl_denied',
          `published by robot ${identity.slice(0, 64)}`,
          msg.robot_id,
          topic,
          payload,
          identity,
        );
      return;
    }
    const refused = this.opts.admission.admit(msg.robot_id, role !== 'store');
    if (refused) {
      if (counting) this.reject(refused.reason, refused.detail, msg.robot_id, topic, payload, identity);
      return;
    }
    if (role !== 'store') this.observe(msg);
    if (msg.dropped && counting)
      for (const d of msg.dropped) this.drops.note(d.reason, msg.robot_id, d.detail, topic);
    if (role !== 'observe') this.enqueue(msg, topic);
  };

  /** What this server's users see of the message: published to the registry, the live stream, …. */
  private observe(msg: DecodedMessage): void {
    this.counters.messages_accepted++;
    if (msg.skewed) this.counters.clock_skew_corrected++;
    const events = this.opts.events;
    events.publish('robot.message', msg);
    const e = msg.event;
    if (!e) return;
    const robot_id = msg.robot_id;
    const ts = msg.ts;
    switch (e.type) {
      case 'log':
        events.publish('robot.log', { robot_id, ts, level: e.level, message: e.message, source: e.source });
        break;
      case 'scan':
        events.publish('robot.scan', {
          robot_id,
          ts,
          code: e.code,
          station_name: e.station_name,
          action: e.action,
        });
        break;
      case 'job':
        events.publish('robot.job', { robot_id, ts, data: e.data });
        break;
      case 'vision':
        events.publish('robot.vision', { robot_id, ts, data: e.data });
        break;
      case 'command_response': {
        const { type: _type, ...response } = e;
        events.publish('robot.command_response', { robot_id, ts, ...response });
        break;
      }
    }
  }

  /** Points wait for the next batched write; beyond the queue limit they are shed, counted. */
  private enqueue(msg: DecodedMessage, topic: string): void {
    const points = msg.points;
    if (points.length === 0) return;
    this.counters.points_received += points.length;
    if (this.pending.length + this.inFlightPoints + points.length > this.opts.queueLimit) {
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
    payload: Buffer,
    publisher: string | undefined,
  ): void {
    this.counters.messages_rejected++;
    this.rejections.note(reason, robot_id, detail, topic);
    // For the robot's diagnostics: a view of the payload's first bytes, no copy (whoever keeps it copies).
    const events = this.opts.events;
    if (events.hasSubscribers('ingest.rejected')) {
      events.publish('ingest.rejected', {
        robot_id,
        publisher,
        reason,
        detail: detail.slice(0, 500),
        topic: topic.slice(0, 200),
        received_at: this.now(),
        excerpt: payload.subarray(0, REJECTED_EXCERPT_BYTES),
        payload_bytes: payload.length,
      });
    }
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
    this.inFlightPoints = batch.length;
    const started = this.now();
    try {
      await this.opts.store.append(batch);
      const done = this.now();
      this.counters.points_stored += batch.length;
      this.inFlightPoints = 0;
      this.counters.flushes++;
      this.counters.last_flush_ms = done - started;
      this.storeError = null;
      for (const ts of eventTs) this.lag.add(done - ts);
      if (this.storeErrorLogged) this.logStoreRecovered();
    } catch (err) {
      this.counters.store_errors++;
      this.storeError = storeErrorText(err);
      // Stored points are not written again: a retry of the whole batch would store them twice.
      const stored =
        err instanceof PartialAppendError ? Math.max(0, Math.min(batch.length, Math.floor(err.stored))) : 0;
      this.counters.points_stored += stored;
      const rest = stored > 0 ? batch.slice(stored) : batch;
      this.logStoreError(err, batch.length, stored);
      this.inFlightPoints = 0;
      // The batch counted against the limit while it was written, so it always fits back in.
      if (this.pending.length + rest.length <= this.opts.queueLimit) {
        // Put the rest back in front: retried with the next flush.
        this.pending = rest.concat(this.pending);
        // eventTs has one entry per message, not per point: which messages the stored part covered is not
        // known, and tracking it per point would cost more on the hot path than the figure is worth. So a
        // partly stored batch gives no lag samples; a wholly failed one keeps its messages' (the outage
        // shows in the figures).
        if (stored === 0) this.pendingEventTs = eventTs.concat(this.pendingEventTs);
      } else {
        this.counters.points_shed += rest.length;
        this.rejections.note('overload', undefined, `dropped ${rest.length} points after a store error`, '');
      }
    }
  }

  /** The first store error at once, then one line per interval with how many failures it did not log. */
  private logStoreError(err: unknown, points: number, stored: number): void {
    const now = this.now();
    if (now - this.storeErrorLoggedAt < STORE_ERROR_LOG_INTERVAL_MS) {
      this.storeErrorsNotLogged++;
      return;
    }
    const suppressed = this.storeErrorsNotLogged;
    this.storeErrorLoggedAt = now;
    this.storeErrorsNotLogged = 0;
    this.storeErrorLogged = true;
    this.opts.logger.error({ err, points, stored, suppressed }, 'telemetry store write failed');
  }

  /** Closes an outage that was logged, with the failures not logged since its last line. */
  private logStoreRecovered(): void {
    this.opts.logger.info({ suppressed: this.storeErrorsNotLogged }, 'telemetry store writes succeed again');
    this.storeErrorsNotLogged = 0;
    this.storeErrorLogged = false;
  }

  /**
   * Stops the timer and writes everything still waiting (graceful shutdown). While the store fails it tries
   * again after short waits; what it still cannot write is counted as shed and logged as an error.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A store that waits out a backoff before it recovers gets its chance now.
    this.opts.store.retryNow?.();
    let failures = 0;
    for (let writes = 0; writes < STOP_MAX_WRITES && (this.pending.length > 0 || this.inFlight); writes++) {
      const errorsBefore = this.counters.store_errors;
      await this.flush();
      if (this.counters.store_errors === errorsBefore) continue;
      const delay = STOP_RETRY_DELAYS_MS[failures++];
      if (delay === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    // A write that flush() chained on by itself ends before stop() does; what it puts back is lost below.
    await this.inFlight;
    const lost = this.pending.length;
    if (lost > 0) {
      this.counters.points_shed += lost;
      this.notStoredAtShutdown = lost;
      this.pending = [];
      this.pendingEventTs = [];
      this.opts.logger.error(
        { points: lost, store_error: this.storeError },
        'telemetry points not stored at shutdown',
      );
    }
    if (this.storeErrorsNotLogged > 0) {
      this.opts.logger.warn({ suppressed: this.storeErrorsNotLogged }, 'telemetry store errors not logged');
      this.storeErrorsNotLogged = 0;
    }
    this.rejections.flushSummary();
    this.drops.flushSummary();
    this.logLossSummary();
  }

  /** The last word on the ingest at shutdown: every point received since the start stored, or how many not. */
  private logLossSummary(): void {
    const c = this.counters;
    const summary = {
      points_received: c.points_received,
      points_stored: c.points_stored,
      points_lost: c.points_shed,
      shed_queue_full: c.points_shed - this.notStoredAtShutdown,
      not_stored_at_shutdown: this.notStoredAtShutdown,
    };
    if (c.points_shed > 0) {
      this.opts.logger.error(
        summary,
        `telemetry points lost since the start: ${c.points_shed} of ${c.points_received}`,
      );
    } else {
      this.opts.logger.info(summary, 'telemetry points lost since the start: none');
    }
  }

  stats(): IngestStats {
    // The store may know more than the last write: its database waits to be reopened after a fatal error.
    const unavailable = this.opts.store.unavailable?.() ?? null;
    return {
      ...this.counters,
      rejected: this.rejections.counts(),
      fields_dropped: this.drops.counts(),
      store_ok: this.storeError === null && unavailable === null,
      store_error: this.storeError ?? unavailable,
      queue_points: this.pending.length + this.inFlightPoints,
      queue_limit: this.opts.queueLimit,
      // A copy: the reservoir keeps handing out the object it caches.
      store_lag_ms: { ...this.lag.quantiles() },
    };
  }
}
