import { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES } from '@tonypi/contracts';
import type { FastifyRequest } from 'fastify';
import type { EventPublisher } from '../core/event-bus';
import type { Queryable } from '../db/database';
import type { Logger } from '../logger';

export { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES };
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditActor {
  type: AuditActorType;
  /** users.id, an API key's id, a robot_id; null for anonymous and system. */
  id: string | null;
  /** The username or key name at the time. */
  name: string | null;
}

/** One row of `audit_events`, as the code that makes a change reports it. */
export interface AuditEntry {
  actor: AuditActor;
  /** `domain.verb`, e.g. `auth.login`, `user.create`, `robot.credentials.rotate`. */
  action: string;
  target?: { type: string; id: string };
  outcome: AuditOutcome;
  address?: string;
  user_agent?: string;
  /** What changed (field names, old → new role …): never a secret; secret-looking keys are dropped. */
  details?: Record<string, unknown>;
}

/** Keys whose values are never written to the audit trail, however the caller named them. */
const SECRET_KEY = /pass(word)?|secret|token|api_?key|private|credential|hash/i;
const MAX_TEXT = {
  actor_name: 100,
  action: 64,
  target_type: 32,
  target_id: 128,
  address: 64,
  user_agent: 256,
};

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[nested too deep]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => scrub(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) ? '[redacted]' : scrub(v, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string' && value.length > 1000) return `${value.slice(0, 1000)}…`;
  return value;
}

const clip = (v: string | null | undefined, max: number) => (v == null ? null : v.slice(0, max));

/**
 * Appends audit events. `record` inside a transaction (pass `tx`) makes the event part of the change:
 * both are written, or neither. Outside one, a failed write is logged and counted, never thrown at the
 * user whose change already happened.
 */
export class AuditTrail {
  readonly counters = { recorded: 0, write_errors: 0 };

  constructor(
    private readonly db: Queryable,
    private readonly logger: Logger,
    /** Where `audit.recorded` goes once an event is written (the server's log records it). */
    private readonly events?: EventPublisher,
  ) {}

  async record(entry: AuditEntry, tx?: Queryable): Promise<void> {
    const details =
      entry.details === undefined ? undefined : (scrub(entry.details) as Record<string, unknown>);
    const params = [
      entry.actor.type,
      clip(entry.actor.id, 64),
      clip(entry.actor.name, MAX_TEXT.actor_name),
      clip(entry.action, MAX_TEXT.action),
      clip(entry.target?.type, MAX_TEXT.target_type),
      clip(entry.target?.id, MAX_TEXT.target_id),
      entry.outcome,
      clip(entry.address, MAX_TEXT.address),
      clip(entry.user_agent, MAX_TEXT.user_agent),
      details === undefined ? null : JSON.stringify(details),
    ];
    const sql = `INSERT INTO audit_events
      (actor_type, actor_id, actor_name, action, target_type, target_id, outcome, address, user_agent, details)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
    if (tx) {
      await tx.query(sql, params);
      this.counters.recorded++;
      this.published(entry, details);
      return;
    }
    try {
      await this.db.query(sql, params);
      this.counters.recorded++;
      this.published(entry, details);
    } catch (err) {
      this.counters.write_errors++;
      this.logger.error({ err, action: entry.action, outcome: entry.outcome }, 'audit: event not written');
    }
  }

  /** Written (inside a transaction: written by it; one that rolls back later still told its listeners). */
  private published(entry: AuditEntry, details: Record<string, unknown> | undefined): void {
    if (!this.events?.hasSubscribers('audit.recorded')) return;
    const { actor, action, target, outcome, address } = entry;
    this.events.publish('audit.recorded', {
      actor,
      action,
      target,
      outcome,
      address,
      details,
      at: Date.now(),
    });
  }
}

/**
 * Who is calling and from where, for an audit entry: the signed-in user (or API key) of the request,
 * else anonymous. Spread it into the entry: `audit.record({ ...requestAuditor(req), action, … })`.
 */
export function requestAuditor(req: FastifyRequest): Pick<AuditEntry, 'actor' | 'address' | 'user_agent'> {
  const user = req.user as { sub?: string; username?: string; kind?: string } | undefined;
  const actor: AuditActor = user?.sub
    ? { type: user.kind === 'api_key' ? 'api_key' : 'user', id: user.sub, name: user.username ?? null }
    : { type: 'anonymous', id: null, name: null };
  const agent = req.headers['user-agent'];
  return { actor, address: req.ip, user_agent: typeof agent === 'string' ? agent : undefined };
}
