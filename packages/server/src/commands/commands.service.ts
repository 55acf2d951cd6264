import { createHash, randomUUID } from 'node:crypto';
import {
  COMMAND_PARAMS,
  type CommandAccepted,
  type CommandList,
  type CommandListQuery,
  type CommandRequest,
  type CommandResponseEvent,
  type CommandState,
  type CommandType,
  type CommandView,
  defaultCommandTimeoutS,
  type EmergencyStopAccepted,
  type EmergencyStopView,
  POWER_COMMANDS,
  type RobotStatus,
  type Role,
  roleMay,
  topics,
} from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { MessageBus } from '../broker/message-bus';
import type { EventPublisher, EventSubscriber } from '../core/event-bus';
import { ApiError, forbidden, notFound, robotNotFound, validationError } from '../errors';
import type { Logger } from '../logger';
import type { RobotRegistry } from '../robots/robot-registry';
import { CommandRateLimit } from './command-rate-limit';
import {
  type CommandRow,
  type CommandsRepository,
  decodeCursor,
  encodeCursor,
  type NewCommand,
  toView,
} from './commands.repository';

/** Who asks: the audit's actor and request fields, and the role that decides what they may send. */
export type Requester = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'> & { role: Role };

/** A retry with the same Idempotency-Key within this long answers the first command again. */
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
const MAX_IDEMPOTENCY_KEY = 200;
/** How often unfinished commands past their deadline are timed out. */
const SWEEP_INTERVAL_MS = 250;
/** An emergency stop's robot has this long to confirm it before its row times out. */
const STOP_TIMEOUT_S = 5;

export class RateLimitedError extends ApiError {
  constructor(readonly retryAfterS: number) {
    super(429, 'rate_limited', `Too many commands: try again in ${retryAfterS} s`, {
      retry_after_s: retryAfterS,
    });
  }
}

export interface CommandServiceOptions {
  repo: CommandsRepository;
  bus: MessageBus;
  registry: RobotRegistry;
  events: EventPublisher & EventSubscriber;
  audit: AuditTrail;
  logger: Logger;
  rate: { perS: number; burst: number };
  now?: () => number;
}

/**
 * How long a stop or resume waits for the broker to confirm its publishes before holding or releasing the
 * robots and storing the rows anyway (an external broker that is unreachable never confirms).
 */
const PUBLISH_WAIT_MS = 2000;

/** A stop a robot has not received yet (it was offline): sent again when it comes back. */
interface HeldStop {
  reason: string;
  batch_id: string;
  requested_by: string | null;
  requested_by_id: string | null;
}

/**
 * Commands and emergency stops (issue #7 §3): validated against the vocabulary, stored, published at
 * QoS 1 in the protocol the robot speaks, matched with the robot's answers, timed out, queued for robots
 * that are offline when asked. Every change of a row is published as `command.changed` (the live stream).
 */
export class CommandService {
  readonly counters = {
    sent: 0,
    responses: 0,
    responses_unmatched: 0,
    timed_out: 0,
    publish_errors: 0,
    rate_limited: 0,
  };
  private readonly now: () => number;
  private readonly rate: CommandRateLimit;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** Rows published before their insert finished (emergency stops): an answer waits for the insert. */
  private readonly inserting = new Map<string, Promise<unknown>>();
  /** Held robots that have not received their stop: it goes out again when they reconnect. */
  private readonly undelivered = new Map<string, HeldStop>();
  /** Each held robot's newest stop: what is sent again if it drops off before resuming. */
  private readonly lastStop = new Map<string, HeldStop>();
  private readonly offs: Array<() => void> = [];
  /** Robots' answers waiting for the batch being written (see onResponse). */
  private answers: CommandResponseEvent[] = [];
  private writingAnswers: Promise<void> | undefined;
  /** Each robot's status as the last `robot.status` said: to tell a robot coming back from one already here. */
  private readonly lastStatus = new Map<string, RobotStatus>();
  /** Work started from event handlers, awaited at stop. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: CommandServiceOptions) {
    this.now = o.now ?? Date.now;
    this.rate = new CommandRateLimit(o.rate, this.now);
  }

  async start(): Promise<void> {
    // Emergency stops outlive a restart: a robot whose newest stop/resume is a stop is held again.
    for (const last of await this.o.repo.latestStopOrResume()) {
      if (last.command !== 'emergency_stop' || !last.batch_id) continue;
      const reason = typeof last.params.reason === 'string' ? last.params.reason : 'emergency stop';
      this.o.registry.holdEmergencyStop(last.robot_id, reason);
      const held: HeldStop = {
        reason,
        batch_id: last.batch_id,
        requested_by: last.requested_by,
        requested_by_id: last.requested_by_id,
      };
      this.lastStop.set(last.robot_id, held);
      if (this.o.registry.get(last.robot_id)?.status === 'offline') this.undelivered.set(last.robot_id, held);
      // Already back (robots connect as soon as the broker runs): it gets the stop now.
      else this.track(this.stopRobots([last.robot_id], last.batch_id, reason, systemActor(held), false));
    }
    for (const r of this.o.registry.all()) this.lastStatus.set(r.robot_id, r.status);
    this.offs.push(
      this.o.events.subscribe('robot.command_response', (e) => this.track(this.onResponse(e))),
      this.o.events.subscribe('robot.status', (change) => {
        // A robot not seen before was offline (registered, never connected).
        const before = this.lastStatus.get(change.robot_id) ?? 'offline';
        this.lastStatus.set(change.robot_id, change.status);
        if (change.status === 'offline') this.noteOffline(change.robot_id);
        // Only a robot coming back has anything waiting (not one changing between online and stopped).
        else if (before === 'offline') this.track(this.onBack(change.robot_id));
      }),
    );
    this.sweepTimer = setInterval(() => this.track(this.sweep()), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const off of this.offs.splice(0)) off();
    await Promise.allSettled([...this.inFlight]);
  }

  // --- commands ---

  /** POST /robots/{id}/commands. */
  async issue(
    robot_id: string,
    req: CommandRequest,
    who: Requester,
    idempotencyKey?: string,
  ): Promise<CommandAccepted> {
    const robot = this.o.registry.get(robot_id);
    if (!robot) throw robotNotFound(robot_id);
    const wait = this.rate.take(who.actor.id ?? 'anonymous');
    if (wait > 0) {
      this.counters.rate_limited++;
      throw new RateLimitedError(wait);
    }
    if (POWER_COMMANDS.has(req.command) && !roleMay(who.role, 'robots:power')) {
      throw forbidden(`Your role (${who.role}) may not send ${req.command}: robots:power`, 'robots:power');
    }
    const parsed = COMMAND_PARAMS[req.command].safeParse(req.params);
    if (!parsed.success) {
      throw validationError(
        parsed.error.issues.map((i) => ({
          field: ['body', 'params', ...i.path.map(String)].join('.'),
          message: i.message,
        })),
      );
    }
    const params = parsed.data as Record<string, unknown>;
    if (req.command === 'resume') {
      const { command_id, status } = await this.resumeOne(robot_id, {}, who);
      return { command_id, status };
    }

    let request_hash: string | undefined;
    if (idempotencyKey !== undefined) {
      if (
        idempotencyKey.length === 0 ||
        idempotencyKey.length > MAX_IDEMPOTENCY_KEY ||
        /[^\x21-\x7e]/.test(idempotencyKey)
      ) {
        throw validationError([
          {
            field: 'headers.idempotency-key',
            message: `1 to ${MAX_IDEMPOTENCY_KEY} printable characters without spaces`,
          },
        ]);
      }
      request_hash = createHash('sha256')
        .update(
          JSON.stringify([robot_id, req.command, req.params, req.timeout_s ?? null, req.queue_ttl_s ?? null]),
        )
        .digest('hex');
      const replay = await this.replay(who, idempotencyKey, request_hash);
      if (replay) return replay;
    }

    const now = this.now();
    const timeout_s = req.timeout_s ?? defaultCommandTimeoutS(req.command, params);
    const offline = robot.status === 'offline';
    const base = {
      robot_id,
      command: req.command,
      params,
      timeout_s,
      requested_by: who.actor.name,
      requested_by_id: who.actor.id,
    };
    if (offline && req.queue_ttl_s === undefined) {
      const row = await this.o.repo.insert({
        ...base,
        id: randomUUID(),
        status: 'rejected',
        message: 'robot_offline: the robot is offline (send queue_ttl_s to queue the command)',
        deadline_at: null,
      });
      this.changed(row);
      void this.o.audit.record({
        ...who,
        action: 'command.send',
        target: { type: 'robot', id: robot_id },
        outcome: 'failure',
        details: { command_id: row?.id, command: req.command, reason: 'robot_offline' },
      });
      throw new ApiError(409, 'robot_offline', `Robot ${robot_id} is offline`, {
        command_id: row?.id,
        hint: 'send queue_ttl_s to have it sent when the robot comes back',
      });
    }
    const queue_until = offline ? new Date(now + req.queue_ttl_s! * 1000) : null;
    const fresh: NewCommand = {
      ...base,
      id: randomUUID(),
      status: 'pending',
      message: offline ? `queued until ${queue_until!.toISOString()}: the robot is offline` : null,
      queue_until,
      deadline_at: queue_until ?? new Date(now + timeout_s * 1000),
      idempotency_key: idempotencyKey ?? null,
      request_hash: request_hash ?? null,
    };
    const row = await this.o.repo.insert(fresh);
    if (!row) {
      // A concurrent request with the same key inserted first: answer as it does.
      const replay = await this.replay(who, idempotencyKey!, request_hash!);
      if (replay) return replay;
      throw new ApiError(409, 'idempotency_key_reused', 'Idempotency-Key is in use by another command');
    }
    this.changed(row);
    void this.o.audit.record({
      ...who,
      action: 'command.send',
      target: { type: 'robot', id: robot_id },
      outcome: 'success',
      details: { command_id: row.id, command: row.command, params, ...(offline ? { queued: true } : {}) },
    });
    if (!offline) this.track(this.dispatch(row));
    return { command_id: row.id, status: 'pending' };
  }

  private async replay(who: Requester, key: string, hash: string): Promise<CommandAccepted | undefined> {
    const first = await this.o.repo.findByIdempotencyKey(who.actor.id ?? 'anonymous', key);
    if (!first) return undefined;
    if (first.created_at.getTime() < this.now() - IDEMPOTENCY_WINDOW_MS) {
      await this.o.repo.releaseIdempotencyKey(
        who.actor.id ?? 'anonymous',
        key,
        new Date(this.now() - IDEMPOTENCY_WINDOW_MS),
      );
      return undefined;
    }
    if (first.request_hash !== hash) {
      throw new ApiError(
        409,
        'idempotency_key_reused',
        'This Idempotency-Key was used for a different command in the last 24 h',
        { command_id: first.id },
      );
    }
    return { command_id: first.id, status: first.status };
  }

  async get(command_id: string): Promise<CommandView> {
    const row = await this.o.repo.findById(command_id);
    if (!row) throw notFound('command_not_found', `No command with id ${command_id}`);
    return toView(row);
  }

  async history(robot_id: string, q: CommandListQuery): Promise<CommandList> {
    if (!this.o.registry.get(robot_id) && !this.o.registry.isDeleted(robot_id)) throw robotNotFound(robot_id);
    let after: { created_at: Date; id: string } | undefined;
    if (q.cursor !== undefined) {
      after = decodeCursor(q.cursor);
      if (!after)
        throw validationError([{ field: 'querystring.cursor', message: 'not a cursor of this list' }]);
    }
    const rows = await this.o.repo.paginate(robot_id, {
      status: q.status,
      command: q.command,
      limit: q.limit + 1,
      after,
    });
    const page = rows.slice(0, q.limit);
    return {
      items: page.map(toView),
      next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!) : null,
    };
  }

  // --- emergency stop and resume ---

  /** POST /robots/{id}/emergency-stop: never rate limited, never queued behind anything. */
  async emergencyStop(robot_id: string, reason: string, who: Requester): Promise<EmergencyStopAccepted> {
    if (!this.o.registry.get(robot_id)) throw robotNotFound(robot_id);
    const stop_id = randomUUID();
    await this.stopRobots([robot_id], stop_id, reason, who, false);
    void this.o.audit.record({
      ...who,
      action: 'robot.emergency_stop',
      target: { type: 'robot', id: robot_id },
      outcome: 'success',
      details: { stop_id, reason },
    });
    return { stop_id, action: 'emergency_stop', robots: 1 };
  }

  /** POST /fleet/emergency-stop: every known robot, and the broadcasts for any the server does not know. */
  async fleetEmergencyStop(reason: string, who: Requester): Promise<EmergencyStopAccepted> {
    const stop_id = randomUUID();
    const ids = [...this.o.registry.all()].map((r) => r.robot_id);
    await this.stopRobots(ids, stop_id, reason, who, true);
    void this.o.audit.record({
      ...who,
      action: 'fleet.emergency_stop',
      target: { type: 'fleet', id: stop_id },
      outcome: 'success',
      details: { stop_id, reason, robots: ids.length },
    });
    return { stop_id, action: 'emergency_stop', robots: ids.length };
  }

  /**
   * Publishes first (broadcasts, then one message per robot that is online), stores the rows meanwhile, and
   * holds the robots stopped once the broker has the messages (publishAndStore). Each hold fires
   * `robot.status`, whose subscribers (the alert engine, the log, the live stream) start database work that
   * runs on this thread (PGlite): done first, it kept the stop messages from the robots' sockets for most of a
   * second.
   */
  private async stopRobots(
    ids: readonly string[],
    stop_id: string,
    reason: string,
    who: Pick<Requester, 'actor'>,
    broadcast: boolean,
  ): Promise<void> {
    const now = this.now();
    const ts = new Date(now).toISOString();
    const publishes: Promise<void>[] = [];
    if (broadcast) {
      publishes.push(
        this.publish(topics.broadcast, { type: 'emergency_stop', reason, ts: now }),
        this.publish(topics.legacy.emergencyStopBroadcast, {
          type: 'emergency_stop',
          id: stop_id,
          reason,
          timestamp: ts,
        }),
      );
    }
    const rows: NewCommand[] = [];
    for (const robot_id of ids) {
      const robot = this.o.registry.get(robot_id);
      const online = robot !== undefined && robot.status !== 'offline';
      const id = randomUUID();
      if (online) publishes.push(this.publishStop(robot_id, robot.protocol === 'legacy', id, reason, now));
      rows.push({
        id,
        robot_id,
        command: 'emergency_stop',
        params: { reason },
        status: online ? 'sent' : 'rejected',
        message: online ? null : 'robot_offline: held stopped; the stop is sent when the robot reconnects',
        timeout_s: STOP_TIMEOUT_S,
        deadline_at: online ? new Date(now + STOP_TIMEOUT_S * 1000) : null,
        batch_id: stop_id,
        requested_by: who.actor.name,
        requested_by_id: who.actor.id,
      });
    }
    const held: HeldStop = {
      reason,
      batch_id: stop_id,
      requested_by: who.actor.name,
      requested_by_id: who.actor.id,
    };
    const { stored, published } = await this.publishAndStore(rows, publishes, () => {
      for (const row of rows) {
        this.lastStop.set(row.robot_id, held);
        // Before the hold: the status change it publishes must not find this stop undelivered.
        if (row.status === 'sent') this.undelivered.delete(row.robot_id);
        else this.undelivered.set(row.robot_id, held);
        this.o.registry.holdEmergencyStop(row.robot_id, reason);
      }
    });
    for (const row of stored) {
      if (row.status === 'sent') this.counters.sent++;
      this.changed(row);
    }
    this.reportPublishFailures(published, publishes.length, { stop_id }, 'emergency stop: publishing failed');
  }

  /**
   * The rows of a stop or resume are stored while the broker delivers its messages, not after: the insert
   * goes in the database's urgent lane one turn of the event loop after the publishes began (their writes to
   * the robots' sockets go first), so a robot's acknowledgement no longer waits for the broker's confirmation
   * and then the insert. `apply` (the hold or the release) runs once the broker has the messages: each fires
   * `robot.status`, whose subscribers (alerts, the log, the live stream) start work of their own. A robot that
   * answers before its row is stored waits for it (`inserting`).
   */
  private async publishAndStore(
    rows: NewCommand[],
    publishes: Promise<void>[],
    apply: () => void,
  ): Promise<{ stored: CommandRow[]; published: Array<PromiseSettledResult<void>> | undefined }> {
    const insert = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.o.repo.insertMany(rows),
    );
    // Awaited below; a failure must not also surface as an unhandled rejection while the broker confirms.
    insert.catch(() => undefined);
    for (const r of rows) this.inserting.set(r.id, insert);
    try {
      const published = await settledWithin(publishes, PUBLISH_WAIT_MS);
      apply();
      return { stored: await insert, published };
    } finally {
      for (const r of rows) this.inserting.delete(r.id);
    }
  }

  /** Logs publishes that failed, or that the broker had not confirmed when the bookkeeping went ahead. */
  private reportPublishFailures(
    published: Array<PromiseSettledResult<void>> | undefined,
    total: number,
    ids: Record<string, string>,
    msg: string,
  ): void {
    if (published === undefined) {
      this.o.logger.error(
        { ...ids, publishes: total, wait_ms: PUBLISH_WAIT_MS },
        `${msg}: the broker did not confirm within the wait`,
      );
      return;
    }
    const failed = published.filter((p) => p.status === 'rejected');
    if (failed.length > 0) {
      this.counters.publish_errors += failed.length;
      this.o.logger.error(
        { err: (failed[0] as PromiseRejectedResult).reason, failed: failed.length, ...ids },
        msg,
      );
    }
  }

  private publishStop(
    robot_id: string,
    legacy: boolean,
    id: string,
    reason: string,
    now: number,
  ): Promise<void> {
    return legacy
      ? this.publish(topics.legacy.emergencyStop(robot_id), {
          type: 'emergency_stop',
          id,
          reason,
          timestamp: new Date(now).toISOString(),
        })
      : this.publish(topics.command(robot_id), {
          command_id: id,
          type: 'emergency_stop',
          params: { reason },
          ts: now,
          timeout_s: STOP_TIMEOUT_S,
        });
  }

  /** POST /robots/{id}/resume. */
  async resume(robot_id: string, reason: string | undefined, who: Requester): Promise<EmergencyStopAccepted> {
    if (!this.o.registry.get(robot_id)) throw robotNotFound(robot_id);
    const { batch_id } = await this.resumeOne(robot_id, { reason }, who);
    return { stop_id: batch_id, action: 'resume', robots: 1 };
  }

  private async resumeOne(
    robot_id: string,
    opts: { reason?: string },
    who: Requester,
  ): Promise<{ batch_id: string; command_id: string; status: CommandState }> {
    const batch_id = randomUUID();
    const [row] = await this.resumeRobots([robot_id], batch_id, who, false);
    void this.o.audit.record({
      ...who,
      action: 'robot.resume',
      target: { type: 'robot', id: robot_id },
      outcome: 'success',
      details: { resume_id: batch_id, ...(opts.reason ? { reason: opts.reason } : {}) },
    });
    // `rejected` when the robot is offline (the hold is released all the same).
    return { batch_id, command_id: row!.id, status: row!.status === 'rejected' ? 'rejected' : 'pending' };
  }

  /** POST /fleet/resume: every robot held or reporting an emergency stop. */
  async fleetResume(reason: string | undefined, who: Requester): Promise<EmergencyStopAccepted> {
    const batch_id = randomUUID();
    const ids = [...this.o.registry.all()]
      .filter((r) => r.status === 'emergency_stopped' || this.o.registry.isEmergencyHeld(r.robot_id))
      .map((r) => r.robot_id);
    await this.resumeRobots(ids, batch_id, who, true);
    void this.o.audit.record({
      ...who,
      action: 'fleet.resume',
      target: { type: 'fleet', id: batch_id },
      outcome: 'success',
      details: { resume_id: batch_id, robots: ids.length, ...(reason ? { reason } : {}) },
    });
    return { stop_id: batch_id, action: 'resume', robots: ids.length };
  }

  private async resumeRobots(
    ids: readonly string[],
    batch_id: string,
    who: Pick<Requester, 'actor'>,
    broadcast: boolean,
  ): Promise<CommandRow[]> {
    const now = this.now();
    // As for a stop: published first, stored meanwhile (one statement, the rows as `sent`), then released.
    const publishes: Promise<void>[] = [];
    if (broadcast) {
      publishes.push(
        this.publish(topics.broadcast, { type: 'resume', ts: now }),
        this.publish(topics.legacy.commandBroadcast, {
          type: 'resume',
          id: batch_id,
          timestamp: new Date(now).toISOString(),
        }),
      );
    }
    const rows: NewCommand[] = ids.map((robot_id) => {
      const robot = this.o.registry.get(robot_id);
      const online = robot !== undefined && robot.status !== 'offline';
      const row = {
        id: randomUUID(),
        robot_id,
        command: 'resume' as const,
        params: {},
        status: online ? ('sent' as const) : ('rejected' as const),
        message: online
          ? null
          : 'robot_offline: released; the robot reports its own state when it reconnects',
        timeout_s: STOP_TIMEOUT_S,
        deadline_at: online ? new Date(now + STOP_TIMEOUT_S * 1000) : null,
        batch_id,
        requested_by: who.actor.name,
        requested_by_id: who.actor.id,
      };
      if (online) publishes.push(this.publish(...wireMessage(row, robot.protocol === 'legacy', now)));
      return row;
    });
    const { stored, published } = await this.publishAndStore(rows, publishes, () => {
      for (const robot_id of ids) {
        this.o.registry.releaseEmergencyStop(robot_id);
        this.undelivered.delete(robot_id);
        this.lastStop.delete(robot_id);
      }
    });
    for (const row of stored) {
      if (row.status === 'sent') this.counters.sent++;
      this.changed(row);
    }
    this.reportPublishFailures(published, publishes.length, { batch_id }, 'resume: publishing failed');
    return stored;
  }

  async getStop(stop_id: string): Promise<EmergencyStopView> {
    const rows = await this.o.repo.listBatch(stop_id);
    const first = rows[0];
    if (!first) throw notFound('emergency_stop_not_found', `No emergency stop or resume with id ${stop_id}`);
    const robots = new Set(rows.map((r) => r.robot_id));
    const confirmed = new Set(
      rows.filter((r) => r.status === 'acknowledged' || r.status === 'succeeded').map((r) => r.robot_id),
    );
    const by_status: Record<string, number> = {};
    for (const r of rows) by_status[r.status] = (by_status[r.status] ?? 0) + 1;
    const reason = first.params.reason;
    return {
      stop_id,
      action: first.command === 'resume' ? 'resume' : 'emergency_stop',
      reason: typeof reason === 'string' ? reason : null,
      requested_by: first.requested_by,
      created_at: first.created_at.toISOString(),
      robots: robots.size,
      acknowledged: confirmed.size,
      by_status,
      items: rows.map(toView),
    };
  }

  // --- the robot side ---

  /** Publishes a stored row in the robot's protocol and marks it sent. */
  private async dispatch(row: CommandRow): Promise<void> {
    const legacy = this.o.registry.get(row.robot_id)?.protocol === 'legacy';
    try {
      await this.publish(...wireMessage(row, legacy, this.now()));
    } catch (err) {
      this.counters.publish_errors++;
      this.o.logger.error({ err, command_id: row.id }, 'command: publishing failed');
      const failed = await this.o.repo.transition(row.id, 'rejected', {
        message: `the broker did not take the command: ${(err as Error).message}`.slice(0, 500),
      });
      this.changed(failed);
      return;
    }
    await this.markSent(row.id);
  }

  private async markSent(id: string): Promise<void> {
    this.counters.sent++;
    this.changed(await this.o.repo.transition(id, 'sent'));
  }

  private publish(topic: string, body: Record<string, unknown>): Promise<void> {
    return this.o.bus.publish(topic, JSON.stringify(body), { qos: 1 });
  }

  /**
   * Answers are written in batches: those read in the same turn of the event loop, then whatever arrived
   * while the previous batch was being written, one statement each (acknowledgements and results together).
   * A fleet stop's two hundred answers cost a few statements, not two hundred, and a lone answer is written
   * at once.
   */
  private onResponse(e: CommandResponseEvent): Promise<void> {
    this.counters.responses++;
    this.answers.push(e);
    this.writingAnswers ??= this.writeAnswers();
    return this.writingAnswers;
  }

  private async writeAnswers(): Promise<void> {
    try {
      // Answers read in the same turn of the event loop (a fleet's, from a hundred sockets) go in one batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.answers.length > 0) {
        const batch = this.answers.splice(0);
        const waits = batch.map((e) => this.inserting.get(e.command_id)).filter((p) => p !== undefined);
        if (waits.length > 0) await Promise.allSettled(waits);
        // Per command and robot, the first acknowledgement and the first result of the batch (a row never
        // finishes twice), written as one answer: the result, acknowledged too when both came.
        const byCommand = new Map<string, { ack?: Answer; final?: Answer }>();
        for (const e of batch) {
          const answer = toAnswer(e);
          const key = answerKey(answer);
          const seen = byCommand.get(key) ?? {};
          byCommand.set(key, seen);
          if (answer.status === 'acknowledged') seen.ack ??= answer;
          else seen.final ??= answer;
        }
        const answers = [...byCommand.values()].map(({ ack, final }) =>
          final
            ? { ...final, acked: ack !== undefined, message: final.message ?? ack?.message ?? null }
            : ack!,
        );
        let matched = 0;
        for (const row of await this.o.repo.applyAnswers(answers)) {
          const { ack, final } = byCommand.get(answerKey({ robot_id: row.robot_id, id: row.id }))!;
          matched += (ack ? 1 : 0) + (final ? 1 : 0);
          this.changed(row);
        }
        // Unknown, another robot's, or finished already (a late answer after the time-out).
        this.counters.responses_unmatched += batch.length - matched;
      }
    } finally {
      this.writingAnswers = undefined;
    }
  }

  private noteOffline(robot_id: string): void {
    if (!this.o.registry.isEmergencyHeld(robot_id) || this.undelivered.has(robot_id)) return;
    // It may have gone before the stop reached it: send it again when it is back.
    const last = this.lastStop.get(robot_id);
    if (last) this.undelivered.set(robot_id, last);
  }

  /** A robot came back: an emergency stop it missed goes first, then what was queued for it. */
  private async onBack(robot_id: string): Promise<void> {
    const stop = this.undelivered.get(robot_id);
    if (stop && this.o.registry.isEmergencyHeld(robot_id)) {
      this.undelivered.delete(robot_id);
      await this.stopRobots([robot_id], stop.batch_id, stop.reason, systemActor(stop), false);
    }
    const now = this.now();
    for (const queued of await this.o.repo.queuedFor(robot_id, new Date(now))) {
      const sent = await this.o.repo.markQueuedSent(
        queued.id,
        new Date(this.now() + queued.timeout_s * 1000),
      );
      if (!sent) continue;
      const legacy = this.o.registry.get(robot_id)?.protocol === 'legacy';
      try {
        await this.publish(...wireMessage(sent, legacy, this.now()));
        this.counters.sent++;
        this.changed(sent);
      } catch (err) {
        this.counters.publish_errors++;
        this.o.logger.error({ err, command_id: sent.id }, 'command: publishing a queued command failed');
      }
    }
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const row of await this.o.repo.expire(new Date(this.now()))) {
        if (row.status === 'timed_out') this.counters.timed_out++;
        this.changed(row);
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'command time-out sweep failed; retrying');
    } finally {
      this.sweeping = false;
    }
  }

  private changed(row: CommandRow | undefined): void {
    if (row) this.o.events.publish('command.changed', toView(row));
  }

  private track(p: Promise<unknown>): void {
    const tracked = p
      .catch((err) => this.o.logger.error({ err }, 'command handling failed'))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}

/** Every promise settled, or undefined when `ms` passed first. */
async function settledWithin<T>(
  ps: ReadonlyArray<Promise<T>>,
  ms: number,
): Promise<Array<PromiseSettledResult<T>> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(ps), late]);
  } finally {
    clearTimeout(timer);
  }
}

type Answer = Parameters<CommandsRepository['applyAnswers']>[0][number];

/**
 * A robot's answer as the repository writes it: `succeeded` or `failed` (by status, else by success), else
 * `acknowledged`.
 */
function toAnswer(e: CommandResponseEvent): Answer {
  const status =
    e.status === 'succeeded' || (e.status === undefined && e.success === true)
      ? 'succeeded'
      : e.status === 'failed' || (e.status === undefined && e.success === false)
        ? 'failed'
        : 'acknowledged';
  return {
    id: e.command_id,
    robot_id: e.robot_id,
    status,
    message: e.message ?? null,
    result: e.data.result,
  };
}

const answerKey = (a: Pick<Answer, 'robot_id' | 'id'>) => `${a.robot_id}\u0000${a.id}`;

/** A stop the server sends again on its own, in the name of who asked for it. */
function systemActor(stop: HeldStop): Pick<Requester, 'actor'> {
  return { actor: { type: 'system', id: stop.requested_by_id, name: stop.requested_by } };
}

/**
 * The message a robot understands: canonical `{command_id, type, params, ts, timeout_s}` on its command
 * topic; the original client's `{type, id, …params}` on `tonypi/commands/{id}` (it dispatches on `type`
 * and reads `distance`/`speed`, `angle`: both names are sent).
 */
export function wireMessage(
  row: Pick<CommandRow, 'id' | 'robot_id' | 'command' | 'params' | 'timeout_s'>,
  legacy: boolean,
  now: number,
): [string, Record<string, unknown>] {
  if (!legacy) {
    return [
      topics.command(row.robot_id),
      { command_id: row.id, type: row.command, params: row.params, ts: now, timeout_s: row.timeout_s },
    ];
  }
  const p = row.params;
  const aliases: Record<string, unknown> = {};
  if (row.command === 'move') {
    aliases.distance = p.distance_m;
    aliases.speed = p.speed_mps;
  }
  if (row.command === 'turn') aliases.angle = p.angle_deg;
  const topic =
    row.command === 'emergency_stop'
      ? topics.legacy.emergencyStop(row.robot_id)
      : topics.legacy.command(row.robot_id);
  return [topic, { ...p, ...aliases, type: row.command, id: row.id, timestamp: new Date(now).toISOString() }];
}

export type { CommandType };
