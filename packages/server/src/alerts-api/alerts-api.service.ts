import {
  ALERT_STATS_DEFAULT_MS,
  type AlertChange,
  type AlertList,
  type AlertListQuery,
  type AlertStats,
  type AlertStatsQuery,
  type AlertView,
  type BulkAcknowledgeRequest,
  type CreateAlertRequest,
  encodeAlertCursor,
  resolveTime,
  type TimeParam,
} from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { EventPublisher } from '../core/event-bus';
import type { Database, Queryable } from '../db/database';
import { ApiError, conflict, notFound, robotNotFound } from '../errors';
import type { AlertFilter, AlertsRepository } from './alerts.repository';

/** Who asks (the request's user or API key) and from where: what the audit trail and `*_by` record. */
export type AlertActor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

export interface AlertsApiServiceOptions {
  db: Database;
  repo: AlertsRepository;
  audit: AuditTrail;
  events: EventPublisher;
  /** Whether a robot is known (a manual alert may name only a known robot). */
  robotExists: (robot_id: string) => Promise<boolean>;
  now?: () => number;
}

export const alertNotFound = (id: number) => notFound('alert_not_found', `No alert with id ${id}`);

/** The name `acknowledged_by` / `resolved_by` records: the user's name, the API key's name (at most 50 characters). */
function actorName(who: AlertActor): string {
  return (who.actor.name ?? who.actor.id ?? who.actor.type).slice(0, 50);
}

/**
 * What people do with alerts: read them (filtered, paged, counted), acknowledge, resolve, delete, and raise
 * one by hand. Every change is audited in its own transaction and then published as `alert.changed`, so
 * the live stream shows it and the alert engine can forget an alert a person resolved or deleted.
 */
export class AlertsApiService {
  private readonly now: () => number;

  constructor(private readonly opts: AlertsApiServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  async list(q: AlertListQuery): Promise<AlertList> {
    const filter = this.filterOf(q);
    const rows = await this.opts.repo.page(filter, q.limit, q.cursor);
    const page = rows.slice(0, q.limit);
    // Counted for the first page only, and only when it is not the last: the cursor carries the count on
    // (a later page needs no scan of up to 1,000 matches), and a first page that holds every match is its own count.
    const { total, capped } = q.cursor
      ? { total: q.cursor.total, capped: q.cursor.capped }
      : rows.length <= q.limit
        ? { total: rows.length, capped: false }
        : await this.opts.repo.count(filter);
    const last = page.at(-1);
    return {
      items: page.map((r) => r.view),
      next_cursor:
        rows.length > q.limit && last
          ? encodeAlertCursor({ created_us: last.created_us, id: last.view.id, total, capped })
          : null,
      total,
      total_capped: capped,
    };
  }

  async get(id: number): Promise<AlertView> {
    const alert = await this.opts.repo.findById(id);
    if (!alert) throw alertNotFound(id);
    return alert;
  }

  async stats(q: AlertStatsQuery): Promise<AlertStats> {
    const now = this.now();
    const to = q.to === undefined ? now : resolveTime(q.to, now);
    const fromParam: TimeParam | undefined = q.from ?? q.time_range;
    const from = fromParam === undefined ? to - ALERT_STATS_DEFAULT_MS : resolveTime(fromParam, now);
    const counts = await this.opts.repo.stats({ robot_ids: q.robot_id, from: Math.max(0, from), to }, q.top);
    return { from: new Date(Math.max(0, from)).toISOString(), to: new Date(to).toISOString(), ...counts };
  }

  /** Acknowledges an open alert; an acknowledged one is left as it is (200), a resolved one refused (409). */
  async acknowledge(id: number, note: string | undefined, who: AlertActor): Promise<AlertView> {
    const event = { ...who, action: 'alert.acknowledge', target: { type: 'alert', id: String(id) } };
    const { alert, changed } = await this.audited(event, { note }, async (tx) => {
      const acknowledged = await this.opts.repo.acknowledge(tx, id, actorName(who), note ?? null);
      if (acknowledged) {
        await this.opts.audit.record(
          { ...event, outcome: 'success', details: auditDetails(acknowledged, note) },
          tx,
        );
        return { alert: acknowledged, changed: true };
      }
      const current = await this.opts.repo.findById(id, tx);
      if (!current) throw alertNotFound(id);
      if (current.state === 'resolved') {
        throw conflict(`Alert ${id} is resolved: there is nothing left to acknowledge`, {
          state: current.state,
        });
      }
      return { alert: current, changed: false };
    });
    if (changed) this.publish('acknowledged', alert);
    return alert;
  }

  /** Acknowledges every open alert of the ids or the filter; the others (and unknown ids) are left alone. */
  async acknowledgeMany(body: BulkAcknowledgeRequest, who: AlertActor): Promise<{ acknowledged: number }> {
    const target = body.ids
      ? { ids: body.ids }
      : {
          filter: {
            robot_ids: body.filter?.robot_id === undefined ? undefined : [body.filter.robot_id],
            severities:
              body.filter?.severity === undefined
                ? undefined
                : Array.isArray(body.filter.severity)
                  ? body.filter.severity
                  : [body.filter.severity],
            alert_types: body.filter?.alert_type === undefined ? undefined : [body.filter.alert_type],
            rule_id: body.filter?.rule_id,
          } satisfies AlertFilter,
        };
    const alerts = await this.opts.db.transaction(async (tx) => {
      const changed = await this.opts.repo.acknowledgeMany(tx, target, actorName(who), body.note ?? null);
      await this.opts.audit.record(
        {
          ...who,
          action: 'alert.acknowledge_many',
          outcome: 'success',
          details: {
            ...(body.ids ? { ids: body.ids.length } : { filter: body.filter }),
            acknowledged: changed.length,
            // The first ids only: a bulk acknowledgement of thousands stays a small audit row.
            alert_ids: changed.slice(0, 100).map((a) => a.id),
            ...(body.note === undefined ? {} : { note: body.note }),
          },
        },
        tx,
      );
      return changed;
    });
    for (const alert of alerts) this.publish('acknowledged', alert);
    return { acknowledged: alerts.length };
  }

  /** Resolves an alert by hand; a resolved one is left as it is (200). */
  async resolve(id: number, note: string | undefined, who: AlertActor): Promise<AlertView> {
    const event = { ...who, action: 'alert.resolve', target: { type: 'alert', id: String(id) } };
    const { alert, changed } = await this.audited(event, { note }, async (tx) => {
      const resolved = await this.opts.repo.resolve(tx, id, actorName(who), note ?? null);
      if (resolved) {
        await this.opts.audit.record(
          { ...event, outcome: 'success', details: auditDetails(resolved, note) },
          tx,
        );
        return { alert: resolved, changed: true };
      }
      const current = await this.opts.repo.findById(id, tx);
      if (!current) throw alertNotFound(id);
      return { alert: current, changed: false };
    });
    if (changed) this.publish('resolved', alert);
    return alert;
  }

  async remove(id: number, who: AlertActor): Promise<AlertView> {
    const event = { ...who, action: 'alert.delete', target: { type: 'alert', id: String(id) } };
    const alert = await this.audited(event, {}, async (tx) => {
      const removed = await this.opts.repo.remove(tx, id);
      if (!removed) throw alertNotFound(id);
      await this.opts.audit.record({ ...event, outcome: 'success', details: auditDetails(removed) }, tx);
      return removed;
    });
    this.publish('deleted', alert);
    return alert;
  }

  /** A manual alert (the original's POST /alerts): open, about a known robot or the fleet. */
  async create(body: CreateAlertRequest, who: AlertActor): Promise<AlertView> {
    const robot_id = body.robot_id ?? null;
    const event = { ...who, action: 'alert.create' };
    const asked = { robot_id, severity: body.severity, title: body.title };
    // Asked before the transaction: the robots' own repository reads outside it (PGlite has one connection).
    if (robot_id !== null && !(await this.opts.robotExists(robot_id))) {
      const refusal = robotNotFound(robot_id);
      await this.recordRefusal(event, asked, refusal);
      throw refusal;
    }
    const alert = await this.audited(event, asked, async (tx) => {
      const created = await this.opts.repo.insert(tx, {
        robot_id,
        alert_type: body.alert_type,
        severity: body.severity,
        title: body.title,
        message: body.message,
        source: body.source ?? null,
        value: body.value ?? null,
        threshold: body.threshold ?? null,
        details: body.details ?? null,
      });
      await this.opts.audit.record(
        {
          ...event,
          target: { type: 'alert', id: String(created.id) },
          outcome: 'success',
          details: auditDetails(created),
        },
        tx,
      );
      return created;
    });
    this.publish('raised', alert);
    return alert;
  }

  private filterOf(q: AlertListQuery): AlertFilter {
    const now = this.now();
    const from = q.from ?? q.time_range;
    return {
      robot_ids: q.robot_id,
      severities: q.severity,
      alert_types: q.alert_type,
      rule_id: q.rule_id,
      states: q.state,
      acknowledged: q.acknowledged,
      resolved: q.resolved,
      muted: q.muted,
      from: from === undefined ? undefined : Math.max(0, resolveTime(from, now)),
      to: q.to === undefined ? undefined : resolveTime(q.to, now),
      search: q.search,
    };
  }

  private publish(change: AlertChange, alert: AlertView): void {
    this.opts.events.publish('alert.changed', { change, alert });
  }

  /**
   * Runs `change` in a transaction. A refusal it throws (404, 409) rolls it back and is then recorded on its
   * own as a `failure`, with what was asked.
   */
  private async audited<T>(
    event: Omit<AuditEntry, 'outcome'>,
    asked: Record<string, unknown>,
    change: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.opts.db.transaction(change);
    } catch (refusal) {
      if (refusal instanceof ApiError) await this.recordRefusal(event, asked, refusal);
      throw refusal;
    }
  }

  private recordRefusal(
    event: Omit<AuditEntry, 'outcome'>,
    asked: Record<string, unknown>,
    refusal: ApiError,
  ): Promise<void> {
    return this.opts.audit.record({
      ...event,
      outcome: 'failure',
      details: { code: refusal.code, reason: refusal.message, ...withoutUndefined(asked) },
    });
  }
}

/** What the audit trail keeps of an alert a person changed: enough to tell it apart, not its details. */
function auditDetails(alert: AlertView, note?: string): Record<string, unknown> {
  return {
    robot_id: alert.robot_id,
    alert_type: alert.alert_type,
    severity: alert.severity,
    state: alert.state,
    title: alert.title,
    ...(note === undefined ? {} : { note }),
  };
}

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
