import type { Queryable } from '../db/database';
import { escapeLike } from '../robots/robots.repository';
import type { AuditActorType, AuditOutcome } from './audit-trail';

export interface AuditFilter {
  /** An actor's id or name, exact. */
  actor?: string;
  /** An action, or a prefix when it ends in `.` or `.*` (`user.` matches `user.create`, `user.password.reset`). */
  action?: string;
  target_type?: string;
  target_id?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  to?: number;
  outcome?: AuditOutcome;
  /** Only events older than this id (a cursor: the previous page's `next_before_id`). */
  before_id?: number;
  limit?: number;
  offset?: number;
}

export interface AuditEventDto {
  id: number;
  ts: string;
  actor: { type: AuditActorType; id: string | null; name: string | null };
  action: string;
  target: { type: string; id: string | null } | null;
  outcome: AuditOutcome;
  address: string | null;
  user_agent: string | null;
  details: unknown;
}

interface AuditRow {
  id: number;
  ts: Date;
  actor_type: AuditActorType;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: AuditOutcome;
  address: string | null;
  user_agent: string | null;
  details: unknown;
}

/** Reads the audit trail, newest first (by id: the order the events were written in). */
export class AuditLog {
  constructor(private readonly db: Queryable) {}

  async query(
    filter: AuditFilter = {},
  ): Promise<{ items: AuditEventDto[]; total: number; next_before_id: number | null }> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.actor !== undefined) {
      const p = param(filter.actor);
      conditions.push(`(actor_id = ${p} OR actor_name = ${p})`);
    }
    if (filter.action !== undefined) {
      const prefix = /\.\*?$/.exec(filter.action);
      if (prefix) {
        conditions.push(
          `action LIKE ${param(`${escapeLike(filter.action.slice(0, prefix.index + 1))}%`)} ESCAPE '\\'`,
        );
      } else {
        conditions.push(`action = ${param(filter.action)}`);
      }
    }
    if (filter.target_type !== undefined) conditions.push(`target_type = ${param(filter.target_type)}`);
    if (filter.target_id !== undefined) conditions.push(`target_id = ${param(filter.target_id)}`);
    if (filter.from !== undefined) conditions.push(`ts >= ${param(new Date(filter.from))}`);
    if (filter.to !== undefined) conditions.push(`ts <= ${param(new Date(filter.to))}`);
    if (filter.outcome !== undefined) conditions.push(`outcome = ${param(filter.outcome)}`);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const countParams = [...params];
    const cursor =
      filter.before_id !== undefined
        ? `${where ? `${where} AND` : 'WHERE'} id < ${param(filter.before_id)}`
        : where;
    const limit = filter.limit ?? 50;
    const [page, count] = await Promise.all([
      this.db.query<AuditRow>(
        `SELECT id, ts, actor_type, actor_id, actor_name, action, target_type, target_id, outcome, address,
                user_agent, details
           FROM audit_events ${cursor} ORDER BY id DESC LIMIT ${param(limit + 1)} OFFSET ${param(filter.offset ?? 0)}`,
        params,
      ),
      this.db.query<{ total: number }>(
        `SELECT count(*)::int AS total FROM audit_events ${where}`,
        countParams,
      ),
    ]);
    // One row more than asked says whether an older page exists.
    const rows = page.rows.slice(0, limit);
    const more = page.rows.length > limit;
    return {
      items: rows.map(toDto),
      total: count.rows[0]?.total ?? 0,
      next_before_id: more ? Number(rows.at(-1)?.id) : null,
    };
  }
}

function toDto(row: AuditRow): AuditEventDto {
  return {
    id: Number(row.id),
    ts: row.ts.toISOString(),
    actor: { type: row.actor_type, id: row.actor_id, name: row.actor_name },
    action: row.action,
    target: row.target_type === null ? null : { type: row.target_type, id: row.target_id },
    outcome: row.outcome,
    address: row.address,
    user_agent: row.user_agent,
    details: row.details ?? null,
  };
}
