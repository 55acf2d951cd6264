import type {
  RegisterRobotRequest,
  Robot,
  RobotStats,
  RobotWithCredentials,
  TimeParam,
  UpdateRobotRequest,
} from '@tonypi/contracts';
import type { z } from 'zod';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { Database } from '../db/database';
import { ApiError, badRequest, conflict, robotNotFound } from '../errors';
import type { BrokerAccounts } from './broker-accounts';
import type { RobotActivity } from './robot-activity';
import type { RobotActivityRepository } from './robot-activity.repository';
import type { RobotAdminRepository, RobotFields } from './robot-admin.repository';
import type { RobotCredentials } from './robot-credentials';
import type { RobotRegistry } from './robot-registry';
import type { RobotsService } from './robots.service';

type RobotDto = z.infer<typeof Robot>;
type Registration = z.infer<typeof RegisterRobotRequest>;
type Changes = z.infer<typeof UpdateRobotRequest>;
type WithCredentials = z.infer<typeof RobotWithCredentials>;
type Stats = z.infer<typeof RobotStats>;

/** Who makes a change, for its audit row (`requestAuditor(req)`, or the system). */
export type Auditor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

const SIMULATOR: Auditor = { actor: { type: 'system', id: null, name: 'simulator' } };
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export interface RobotAdminDeps {
  db: Database;
  repo: RobotAdminRepository;
  activityRepo: RobotActivityRepository;
  activity: RobotActivity;
  credentials: RobotCredentials;
  registry: RobotRegistry;
  robots: RobotsService;
  audit: AuditTrail;
  /** Closes a robot's MQTT session (the embedded broker); undefined with an external broker. */
  sessions?: { disconnect(robot_id: string): boolean };
  /**
   * The external broker's robot accounts (MQTT_DYNSEC), changed inside each change's transaction: a change
   * the broker did not take is rolled back (503), so a secret shown to an admin is one the broker accepts.
   */
  accounts?: BrokerAccounts;
  /** Where robots connect, as the credentials answer says. */
  mqttUrl: string;
  now?: () => number;
}

/**
 * Registering robots and their credentials (issue #12 §2). Each change and its audit row are one transaction;
 * the in-memory state (credentials the broker checks, the registry) follows once it is committed, then the
 * robot's MQTT session is closed where the change requires it.
 */
export class RobotAdminService {
  private readonly now: () => number;

  constructor(private readonly deps: RobotAdminDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Registers a new robot (201), or claims one that registered itself on first contact or has no credentials
   * yet (200): either way it is active and gets credentials, shown in this answer only. A robot that has
   * credentials already is a 409 (rotate them instead); so is a deleted one (restore it first).
   */
  async register(input: Registration, who: Auditor): Promise<{ created: boolean; body: WithCredentials }> {
    const { robot_id, ...fields } = input;
    const { registry, credentials, audit } = this.deps;
    const issued = credentials.issue(robot_id);
    const outcome = await this.audited(who, 'robot.register', robot_id, async () =>
      this.deps.db.transaction(async (tx) => {
        const existing = await this.deps.repo.lock(tx, robot_id);
        if (existing?.row.deleted_at) {
          throw conflict(`Robot ${robot_id} is deleted: restore it (POST /robots/${robot_id}/restore)`);
        }
        if (existing?.hasCredentials) {
          throw conflict(
            `Robot ${robot_id} is registered with credentials already: rotate them (POST /robots/${robot_id}/credentials/rotate)`,
          );
        }
        const row = existing
          ? await this.deps.repo.update(tx, robot_id, toFields(fields), true)
          : await this.deps.repo.insert(tx, robot_id, toFields(fields));
        await this.deps.repo.insertCredentials(tx, robot_id, issued.hash);
        await this.toBroker(tx, (a) => a.provision(robot_id, issued.secret));
        await audit.record(
          {
            ...who,
            action: existing ? 'robot.claim' : 'robot.register',
            target: { type: 'robot', id: robot_id },
            outcome: 'success',
            details: {
              fields: Object.keys(fields),
              ...(existing ? { registration_was: existing.row.registration } : {}),
            },
          },
          tx,
        );
        return { row, created: !existing };
      }),
    );
    credentials.setCredentials(robot_id, issued.hash);
    registry.track(outcome.row);
    // An anonymous session under this id ends: from now on the robot connects with its secret only.
    this.deps.sessions?.disconnect(robot_id);
    this.deps.robots.invalidateList();
    return {
      created: outcome.created,
      body: { robot: this.deps.robots.toDto(outcome.row), mqtt: this.mqtt(robot_id, issued.secret) },
    };
  }

  async update(robot_id: string, changes: Changes, who: Auditor): Promise<RobotDto> {
    const fields = toFields(changes);
    if (Object.keys(changes).length === 0) throw badRequest('Nothing to change: the body names no field');
    const row = await this.audited(who, 'robot.update', robot_id, () =>
      this.deps.db.transaction(async (tx) => {
        const existing = await this.requireLocked(tx, robot_id);
        if (existing.row.deleted_at) throw conflict(`Robot ${robot_id} is deleted: restore it first`);
        const row = await this.deps.repo.update(tx, robot_id, fields);
        await this.deps.audit.record(
          {
            ...who,
            action: 'robot.update',
            target: { type: 'robot', id: robot_id },
            outcome: 'success',
            details: { fields: Object.keys(changes) },
          },
          tx,
        );
        return row;
      }),
    );
    this.deps.registry.track(row);
    this.deps.robots.invalidateList();
    return this.deps.robots.toDto(row);
  }

  /** Soft delete: history kept, the robot's session closed, its messages and connections refused. */
  async remove(robot_id: string, who: Auditor): Promise<RobotDto> {
    const row = await this.audited(who, 'robot.delete', robot_id, () =>
      this.deps.db.transaction(async (tx) => {
        const existing = await this.requireLocked(tx, robot_id);
        if (existing.row.deleted_at) throw conflict(`Robot ${robot_id} is deleted already`);
        const row = await this.deps.repo.setDeleted(tx, robot_id, true);
        await this.toBroker(tx, (a) => a.disable(robot_id));
        await this.deps.audit.record(
          { ...who, action: 'robot.delete', target: { type: 'robot', id: robot_id }, outcome: 'success' },
          tx,
        );
        return row;
      }),
    );
    // First refuse, then close: the robot cannot reconnect in between.
    this.deps.credentials.setDeleted(robot_id, true);
    this.deps.registry.remove(robot_id);
    this.deps.sessions?.disconnect(robot_id);
    this.deps.robots.invalidateList();
    return this.deps.robots.toDto(row);
  }

  /** Undoes a delete; the robot's credentials (if any) work again. */
  async restore(robot_id: string, who: Auditor): Promise<RobotDto> {
    const row = await this.audited(who, 'robot.restore', robot_id, () =>
      this.deps.db.transaction(async (tx) => {
        const existing = await this.requireLocked(tx, robot_id);
        if (!existing.row.deleted_at) throw conflict(`Robot ${robot_id} is not deleted`);
        const row = await this.deps.repo.setDeleted(tx, robot_id, false);
        await this.toBroker(tx, (a) => a.enable(robot_id));
        await this.deps.audit.record(
          { ...who, action: 'robot.restore', target: { type: 'robot', id: robot_id }, outcome: 'success' },
          tx,
        );
        return row;
      }),
    );
    this.deps.credentials.setDeleted(robot_id, false);
    this.deps.registry.track(row);
    this.deps.robots.invalidateList();
    return this.deps.robots.toDto(row);
  }

  /** A new secret, shown once; the old one stops working and the robot's session is closed. */
  async rotate(robot_id: string, who: Auditor): Promise<WithCredentials> {
    const issued = this.deps.credentials.issue(robot_id);
    const row = await this.audited(who, 'robot.credentials.rotate', robot_id, () =>
      this.deps.db.transaction(async (tx) => {
        const existing = await this.requireLocked(tx, robot_id);
        if (existing.row.deleted_at) throw conflict(`Robot ${robot_id} is deleted: restore it first`);
        if (!existing.hasCredentials) {
          throw conflict(`Robot ${robot_id} has no credentials: register (claim) it with POST /robots`);
        }
        await this.deps.repo.replaceCredentials(tx, robot_id, issued.hash);
        await this.toBroker(tx, (a) => a.provision(robot_id, issued.secret));
        await this.deps.audit.record(
          {
            ...who,
            action: 'robot.credentials.rotate',
            target: { type: 'robot', id: robot_id },
            outcome: 'success',
          },
          tx,
        );
        return existing.row;
      }),
    );
    this.deps.credentials.setCredentials(robot_id, issued.hash);
    this.deps.sessions?.disconnect(robot_id);
    return { robot: this.deps.robots.toDto(row), mqtt: this.mqtt(robot_id, issued.secret) };
  }

  /**
   * Uptime share, messages and last message per channel over [from, to), counted by the hour: the period is
   * widened to whole hours (its end no later than now), and the answer names the period it covers.
   */
  async stats(robot_id: string, query: { from?: TimeParam; to?: TimeParam }): Promise<Stats> {
    await this.deps.robots.require(robot_id);
    const now = this.now();
    const at = (t: TimeParam) => ('at' in t ? t.at : now - t.ago_ms);
    const toRaw = query.to ? at(query.to) : now;
    const fromRaw = query.from ? at(query.from) : toRaw - DAY_MS;
    if (fromRaw >= toRaw) throw badRequest('`from` must be before `to`');
    const from = fromRaw - (fromRaw % HOUR_MS);
    const to = Math.min(now, Math.ceil(toRaw / HOUR_MS) * HOUR_MS);
    await this.deps.activity.flush();
    const summary = await this.deps.activityRepo.summarize(robot_id, from, Math.max(to, from + 1));
    const span = Math.max(1, to - from);
    return {
      robot_id,
      from: new Date(from).toISOString(),
      to: new Date(Math.max(to, from)).toISOString(),
      uptime_share: Math.min(1, summary.online_ms / span),
      online_s: Math.round(summary.online_ms / 1000),
      messages: summary.messages,
      last_seen: Object.fromEntries(
        Object.entries(summary.last_seen).map(([channel, d]) => [channel, d.toISOString()]),
      ),
    };
  }

  /**
   * The secret a robot of the server's own simulated fleet connects with: `known` (kept from the last start)
   * while it still works, else new credentials — registered, or rotated when the robot has some — audited as
   * the system's. Undefined for a robot an admin deleted: it stays out of the fleet.
   */
  async provisionSimulated(robot_id: string, known: string | undefined): Promise<string | undefined> {
    const { credentials } = this.deps;
    if (credentials.isDeleted(robot_id)) return undefined;
    if (known !== undefined && credentials.verify(robot_id, Buffer.from(known))) return known;
    if (credentials.hasCredentials(robot_id)) return (await this.rotate(robot_id, SIMULATOR)).mqtt.password;
    const { body } = await this.register({ robot_id, tags: ['simulated'] }, SIMULATOR);
    return body.mqtt.password;
  }

  /** A change to the broker's accounts, if the server manages them; one the broker refused is a 503. */
  private async toBroker(
    tx: Parameters<RobotAdminRepository['lock']>[0],
    change: (accounts: BrokerAccounts) => Promise<void>,
  ): Promise<void> {
    const { accounts } = this.deps;
    if (!accounts) return;
    await this.deps.repo.lockBrokerAccounts(tx, 'change');
    try {
      await change(accounts);
    } catch (err) {
      throw new ApiError(
        503,
        'service_unavailable',
        `The MQTT broker did not take the change, nothing was changed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private mqtt(robot_id: string, secret: string): WithCredentials['mqtt'] {
    return { username: robot_id, password: secret, url: this.deps.mqttUrl };
  }

  private async requireLocked(tx: Parameters<RobotAdminRepository['lock']>[0], robot_id: string) {
    const existing = await this.deps.repo.lock(tx, robot_id);
    if (!existing) throw robotNotFound(robot_id);
    return existing;
  }

  /** Runs a change; a refused one (404, 409 …) leaves an audit row of its own, outcome `failure`. */
  private async audited<T>(
    who: Auditor,
    action: string,
    robot_id: string,
    change: () => Promise<T>,
  ): Promise<T> {
    // A robot seen for the first time reaches the table with the registry's next flush: change (or claim) that
    // row, rather than miss it or create a twin.
    if (this.deps.registry.hasUnwrittenRobots) await this.deps.registry.flush();
    try {
      return await change();
    } catch (err) {
      if (err instanceof ApiError) {
        await this.deps.audit.record({
          ...who,
          action,
          target: { type: 'robot', id: robot_id },
          outcome: 'failure',
          details: { code: err.code, message: err.message },
        });
      }
      throw err;
    }
  }
}

/** The request's fields as the repository takes them (same names; `thresholds` partial). */
function toFields(input: Changes): RobotFields {
  const fields: RobotFields = {};
  if (input.name !== undefined) fields.name = input.name;
  if (input.description !== undefined) fields.description = input.description;
  if (input.location !== undefined) fields.location = input.location;
  if (input.ip_address !== undefined) fields.ip_address = input.ip_address;
  if (input.camera_url !== undefined) fields.camera_url = input.camera_url;
  if (input.thresholds !== undefined) fields.thresholds = input.thresholds;
  if (input.settings !== undefined) fields.settings = input.settings;
  if (input.tags !== undefined) fields.tags = input.tags;
  return fields;
}
