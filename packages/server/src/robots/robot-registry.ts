import {
  type DecodedMessage,
  type IngestRejectReason,
  type LiveServerEvents,
  type MeasurementName,
  type RobotLocation,
  type RobotRegistration,
  type RobotStatus,
  servableUrl,
  type TopicLayout,
} from '@tonypi/contracts';
import type { EventPublisher, EventSubscriber } from '../core/event-bus';
import type { Logger } from '../logger';
import type { RobotRow, RobotsRepository } from './robots.repository';

/** A robot whose database write fails this many times in a row on its own is given up on (logged). */
const MAX_WRITE_ATTEMPTS = 3;

/** What the server knows of a robot right now, beside its database row. */
export interface RobotRuntime {
  robot_id: string;
  status: RobotStatus;
  /** Epoch ms of the last message. */
  last_seen: number | null;
  protocol: TopicLayout;
  ip_address?: string;
  camera_url?: string;
  location?: RobotLocation;
  status_reason?: string | null;
  /** `pending` while a self-registered robot is not yet confirmed. */
  registration: RobotRegistration;
  /** A pending robot: when its current run of messages (without going offline) began; null while offline. */
  talking_since: number | null;
  messages: number;
  /** Newest fields per measurement (servos: per servo id), since this server started. */
  latest: Partial<Record<MeasurementName, { ts: number; fields: Record<string, number> }>>;
  servos: Record<string, { ts: number; fields: Record<string, number> }>;
}

/** A robot's status changed: what the live stream's `status` event carries. */
export type StatusChange = LiveServerEvents['status'];

/** How many robots may register themselves, and when one is confirmed. */
export interface RegistrationLimits {
  /** New robots a minute, as a burst of this size refilled evenly over the minute. */
  perMinute: number;
  /** Robots pending (registered themselves, not confirmed) at most. */
  pendingMax: number;
  /** A pending robot is confirmed (`active`) once it has kept sending this long without going offline. */
  confirmAfterMs: number;
}

export const DEFAULT_REGISTRATION_LIMITS: RegistrationLimits = {
  perMinute: 120,
  pendingMax: 1000,
  confirmAfterMs: 60_000,
};

/** Why a robot's message is not accepted. */
export interface Refusal {
  reason: IngestRejectReason;
  detail: string;
}

export interface RobotRegistryOptions {
  repo: RobotsRepository;
  logger: Logger;
  autoRegister: boolean;
  registration?: RegistrationLimits;
  /**
   * Mark every robot offline at start. Right when this server is the only one (embedded broker);
   * with several servers on one broker the others still hear the robots, so keep what is stored.
   */
  resetStatusesOnStart: boolean;
  /** A robot silent this long is offline (the legacy client has no Last Will). */
  offlineAfterMs: number;
  flushIntervalMs?: number;
  /** Where status changes go (`robot.status`). */
  events: EventPublisher;
  now?: () => number;
}

/**
 * The robots' live state. Updated synchronously per message (no I/O on the ingest path) and
 * written to the database in one coalesced batch per interval.
 */
export class RobotRegistry {
  private readonly robots = new Map<string, RobotRuntime>();
  /** Robots an admin deleted: their messages are refused (`robot_deleted`) until restored. */
  private readonly deleted = new Set<string>();
  private readonly unregistered = new Set<string>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** A flush is writing robots seen for the first time. */
  private registering = false;
  private readonly now: () => number;
  /** Failed single-robot writes in a row, per robot. */
  private readonly failures = new Map<string, number>();
  private readonly limits: RegistrationLimits;
  /** Registrations the rate allows right now (a token bucket), and when it was last refilled. */
  private tokens: number;
  private tokensAt: number;
  private pending = 0;
  /** Robots confirmed since their registration was last written. */
  private readonly confirmed = new Set<string>();
  /**
   * Robots an emergency stop holds, with its reason: they show `emergency_stopped` (unless offline) until
   * resumed, whatever their own status messages say meanwhile (the commands domain holds and releases).
   */
  private readonly stopHeld = new Map<string, string>();
  readonly counters = { registered: 0, flushes: 0, flush_errors: 0, dropped_writes: 0 };

  constructor(private readonly opts: RobotRegistryOptions) {
    this.now = opts.now ?? Date.now;
    this.limits = opts.registration ?? DEFAULT_REGISTRATION_LIMITS;
    this.tokens = this.limits.perMinute;
    this.tokensAt = this.now();
  }

  /** Loads known robots; on a lone server nothing is online before it says so. */
  async start(): Promise<void> {
    const reset = this.opts.resetStatusesOnStart;
    if (reset) await this.opts.repo.markAllOffline();
    const { items } = await this.opts.repo.list({
      sort: 'robot_id',
      order: 'asc',
      limit: 100_000,
      offset: 0,
    });
    for (const row of items) {
      if (row.deleted_at) this.deleted.add(row.robot_id);
      // `maintenance` is an operator's word: neither a restart nor silence overrides it.
      else this.robots.set(row.robot_id, runtimeOf(row, reset && row.status !== 'maintenance'));
    }
    for (const r of this.robots.values()) if (r.registration === 'pending') this.pending++;
    const interval = this.opts.flushIntervalMs ?? 500;
    this.timer = setInterval(() => {
      this.sweepSilent();
      void this.flush();
    }, interval);
    this.timer.unref();
  }

  /** Whether messages from this robot are accepted (a robot not yet known is not registered here). */
  accepts(robot_id: string): boolean {
    return this.admit(robot_id, false) === undefined;
  }

  /**
   * Whether a message from this robot is accepted: a known robot's always; an unknown robot's when it may
   * register itself (AUTO_REGISTER_ROBOTS, within the rate and the pending total). With `register`, an unknown
   * robot that may is registered now, as pending, and takes its share of the rate.
   */
  admit(robot_id: string, register = true): Refusal | undefined {
    if (this.robots.has(robot_id)) return undefined;
    if (this.deleted.has(robot_id)) {
      return {
        reason: 'robot_deleted',
        detail: 'an admin deleted this robot (restore it to accept it again)',
      };
    }
    if (!this.opts.autoRegister) {
      return { reason: 'unknown_robot', detail: 'robot is not registered and AUTO_REGISTER_ROBOTS is off' };
    }
    const { perMinute, pendingMax } = this.limits;
    if (this.pending >= pendingMax) {
      return {
        reason: 'registration_limited',
        detail: `${this.pending} robots await confirmation (ROBOT_PENDING_MAX ${pendingMax})`,
      };
    }
    const now = this.now();
    this.tokens = Math.min(perMinute, this.tokens + ((now - this.tokensAt) * perMinute) / 60_000);
    this.tokensAt = now;
    if (this.tokens < 1) {
      return {
        reason: 'registration_limited',
        detail: `more than ${perMinute} new robots a minute (ROBOT_AUTO_REGISTER_PER_MIN)`,
      };
    }
    if (!register) return undefined;
    this.tokens--;
    this.pending++;
    this.robots.set(robot_id, {
      robot_id,
      status: 'offline',
      last_seen: null,
      protocol: 'canonical',
      registration: 'pending',
      talking_since: null,
      messages: 0,
      latest: Object.create(null),
      servos: Object.create(null),
    });
    this.unregistered.add(robot_id);
    return undefined;
  }

  /**
   * An admin registered, claimed, edited or restored the robot (its row is committed): its runtime follows the
   * row — active, no longer deleted — and keeps what this server saw of it.
   */
  track(row: RobotRow): void {
    this.deleted.delete(row.robot_id);
    const robot = this.robots.get(row.robot_id);
    if (!robot) {
      this.robots.set(row.robot_id, runtimeOf(row, false));
      if (row.registration === 'pending') this.pending++;
      return;
    }
    if (robot.registration === 'pending' && row.registration === 'active') {
      robot.registration = 'active';
      robot.talking_since = null;
      this.confirmed.delete(row.robot_id);
      this.pending--;
    }
  }

  /** An admin deleted the robot (committed): it leaves the live state; its messages are refused from now on. */
  remove(robot_id: string): void {
    const robot = this.robots.get(robot_id);
    this.deleted.add(robot_id);
    if (!robot) return;
    this.robots.delete(robot_id);
    this.unregistered.delete(robot_id);
    this.dirty.delete(robot_id);
    this.confirmed.delete(robot_id);
    if (robot.registration === 'pending') this.pending--;
    if (robot.status !== 'offline') {
      this.opts.events.publish('robot.status', {
        robot_id,
        status: 'offline',
        ts: this.now(),
        reason: 'robot deleted',
      });
    }
  }

  isDeleted(robot_id: string): boolean {
    return this.deleted.has(robot_id);
  }

  /** Robots that registered themselves and are not confirmed yet. */
  get pendingCount(): number {
    return this.pending;
  }

  get(robot_id: string): RobotRuntime | undefined {
    return this.robots.get(robot_id);
  }

  all(): IterableIterator<RobotRuntime> {
    return this.robots.values();
  }

  /** Whether a robot seen for the first time is not in the database yet (waiting for, or in, a flush). */
  get hasUnwrittenRobots(): boolean {
    return this.unregistered.size > 0 || this.registering;
  }

  get size(): number {
    return this.robots.size;
  }

  onlineCount(): number {
    let n = 0;
    for (const r of this.robots.values()) if (r.status !== 'offline') n++;
    return n;
  }

  /** Keeps up with every message the ingest accepts (`robot.message`); returns the unsubscribe. */
  follow(events: EventSubscriber): () => void {
    return events.subscribe('robot.message', (msg) => this.observe(msg));
  }

  observe(msg: DecodedMessage, receivedAt = msg.received_at): void {
    let robot = this.robots.get(msg.robot_id);
    if (!robot) {
      // A caller that skipped admit(): the same limits apply.
      if (this.admit(msg.robot_id) !== undefined) return;
      robot = this.robots.get(msg.robot_id)!;
    }
    robot.messages++;
    robot.last_seen = receivedAt;
    robot.protocol = msg.layout;
    for (const p of msg.points) {
      if (p.measurement === 'servos') {
        const id = p.tags?.servo_id;
        if (id !== undefined) robot.servos[id] = { ts: p.ts, fields: p.fields as Record<string, number> };
      } else {
        const prev = robot.latest[p.measurement];
        // A legacy sensor message carries one reading: merge, so the latest view stays whole.
        if (!prev) robot.latest[p.measurement] = { ts: p.ts, fields: { ...p.fields } };
        else if (prev.ts <= p.ts) {
          Object.assign(prev.fields, p.fields);
          prev.ts = p.ts;
        }
      }
    }
    if (msg.location) robot.location = msg.location;
    const s = msg.status;
    if (s) {
      if (s.ip_address !== undefined) robot.ip_address = s.ip_address;
      if (s.camera_url !== undefined) robot.camera_url = s.camera_url;
    }
    // Any message but an explicit offline means the robot is alive.
    let next: RobotStatus = s?.status ?? (robot.status === 'offline' ? 'online' : robot.status);
    const held = this.stopHeld.get(robot.robot_id);
    if (held !== undefined && next !== 'offline') next = 'emergency_stopped';
    if (
      next !== robot.status ||
      (held === undefined && s?.status && s.reason !== undefined && s.reason !== robot.status_reason)
    ) {
      robot.status = next;
      robot.status_reason = held ?? s?.reason ?? null;
      this.opts.events.publish('robot.status', {
        robot_id: robot.robot_id,
        status: next,
        ts: msg.ts,
        ip_address: robot.ip_address,
        camera_url: robot.camera_url,
        reason: robot.status_reason,
      });
    }
    if (robot.registration === 'pending') this.confirmIfTalking(robot, receivedAt);
    this.dirty.add(robot.robot_id);
  }

  /** An emergency stop was sent: the robot shows `emergency_stopped` from now until `releaseEmergencyStop`. */
  holdEmergencyStop(robot_id: string, reason: string): void {
    this.stopHeld.set(robot_id, reason);
    const robot = this.robots.get(robot_id);
    if (!robot || robot.status === 'offline' || robot.status === 'emergency_stopped') return;
    this.changeStatus(robot, 'emergency_stopped', reason);
  }

  /** Resumed: the robot's own status counts again (online until it says otherwise). */
  releaseEmergencyStop(robot_id: string): void {
    if (!this.stopHeld.delete(robot_id)) return;
    const robot = this.robots.get(robot_id);
    if (robot?.status === 'emergency_stopped') this.changeStatus(robot, 'online', 'resumed');
  }

  isEmergencyHeld(robot_id: string): boolean {
    return this.stopHeld.has(robot_id);
  }

  private changeStatus(robot: RobotRuntime, status: RobotStatus, reason: string): void {
    robot.status = status;
    robot.status_reason = reason;
    this.dirty.add(robot.robot_id);
    this.opts.events.publish('robot.status', {
      robot_id: robot.robot_id,
      status,
      ts: this.now(),
      ip_address: robot.ip_address,
      camera_url: robot.camera_url,
      reason,
    });
  }

  /** A pending robot is confirmed once its messages have kept coming, without it going offline, long enough. */
  private confirmIfTalking(robot: RobotRuntime, receivedAt: number): void {
    if (robot.status === 'offline') {
      robot.talking_since = null;
      return;
    }
    robot.talking_since ??= receivedAt;
    if (receivedAt - robot.talking_since < this.limits.confirmAfterMs) return;
    robot.registration = 'active';
    robot.talking_since = null;
    this.confirmed.add(robot.robot_id);
    this.pending--;
    this.opts.logger.info({ robot_id: robot.robot_id }, 'robot confirmed: registration active');
  }

  /** Robots that went quiet without a Last Will become offline. */
  sweepSilent(): void {
    const now = this.now();
    for (const robot of this.robots.values()) {
      if (robot.status === 'offline' || robot.status === 'maintenance' || robot.last_seen === null) continue;
      if (now - robot.last_seen < this.opts.offlineAfterMs) continue;
      robot.status = 'offline';
      robot.talking_since = null;
      robot.status_reason = `no message for ${Math.round(this.opts.offlineAfterMs / 1000)} s`;
      this.dirty.add(robot.robot_id);
      this.opts.events.publish('robot.status', {
        robot_id: robot.robot_id,
        status: 'offline',
        ts: now,
        reason: robot.status_reason,
      });
    }
  }

  /** Writes what changed since the last flush; one flush at a time. */
  /**
   * Writes what changed; resolves once everything observed before the call is written. One write
   * runs at a time: a call during a write waits for it, then writes what came in meanwhile.
   */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    this.flushing = this.writeDirty().finally(() => {
      this.flushing = undefined;
      this.registering = false;
    });
    return this.flushing;
  }

  private async writeDirty(): Promise<void> {
    if (this.dirty.size === 0 && this.unregistered.size === 0) return;
    const fresh = [...this.unregistered];
    const dirty = [...this.dirty];
    this.unregistered.clear();
    this.dirty.clear();
    this.registering = fresh.length > 0;
    try {
      await this.write(fresh, dirty);
      this.counters.flushes++;
    } catch (err) {
      this.counters.flush_errors++;
      this.opts.logger.error({ err }, 'robot registry: database write failed; retrying robot by robot');
      // One bad value must not keep every robot's state out of the database: write them one by one,
      // keep what failed for the next flush, and give up on a robot after repeated failures.
      const freshSet = new Set(fresh);
      const dirtySet = new Set(dirty);
      for (const id of new Set([...fresh, ...dirty])) {
        const isFresh = freshSet.has(id);
        const isDirty = dirtySet.has(id);
        try {
          await this.write(isFresh ? [id] : [], isDirty ? [id] : []);
          this.failures.delete(id);
        } catch (robotErr) {
          const failures = (this.failures.get(id) ?? 0) + 1;
          if (failures >= MAX_WRITE_ATTEMPTS) {
            this.failures.delete(id);
            this.counters.dropped_writes++;
            this.opts.logger.error(
              { err: robotErr, robot_id: id },
              'robot registry: giving up on this write',
            );
            continue;
          }
          this.failures.set(id, failures);
          if (isFresh) this.unregistered.add(id);
          if (isDirty) this.dirty.add(id);
        }
      }
    }
  }

  private async write(fresh: readonly string[], dirty: readonly string[]): Promise<void> {
    if (fresh.length > 0) {
      const created = await this.opts.repo.registerMany(
        fresh.map((robot_id) => {
          const r = this.robots.get(robot_id)!;
          return { robot_id, protocol: r.protocol, seen_at: new Date(r.last_seen ?? this.now()) };
        }),
      );
      this.counters.registered += created.length;
      for (const id of created) this.opts.logger.info({ robot_id: id }, 'robot registered on first contact');
    }
    if (dirty.length > 0) {
      const confirmed = dirty.filter((id) => this.confirmed.has(id));
      await this.opts.repo.recordSeen(
        dirty.map((robot_id) => {
          const r = this.robots.get(robot_id)!;
          return {
            robot_id,
            last_seen: new Date(r.last_seen ?? this.now()),
            status: r.status,
            protocol: r.protocol,
            registration: this.confirmed.has(robot_id) ? 'active' : undefined,
            ip_address: r.ip_address,
            camera_url: r.camera_url,
            location: r.location,
          };
        }),
      );
      for (const id of confirmed) this.confirmed.delete(id);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.flush();
  }
}

/** A robot's runtime as its row describes it (`offline`: whatever the row says, it is not online now). */
function runtimeOf(row: RobotRow, offline: boolean): RobotRuntime {
  return {
    robot_id: row.robot_id,
    status: offline ? 'offline' : row.status,
    last_seen: row.last_seen ? row.last_seen.getTime() : null,
    protocol: row.protocol === 'legacy' ? 'legacy' : 'canonical',
    ip_address: row.ip_address ?? undefined,
    // Rows written before camera URLs were checked may hold a `javascript:` one: never served.
    camera_url: servableUrl(row.camera_url) ?? undefined,
    location: row.location ?? undefined,
    registration: row.registration,
    talking_since: null,
    messages: 0,
    latest: Object.create(null),
    servos: Object.create(null),
  };
}
