import type {
  AlertRule,
  AlertRuleListQuery,
  AlertSilence,
  AlertSilenceListQuery,
  CreateAlertRuleRequest,
  CreateAlertSilenceRequest,
  UpdateAlertRuleRequest,
} from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { Database } from '../db/database';
import { conflict, notFound, robotNotFound, validationError } from '../errors';
import { isUniqueViolation } from '../users/users.repository';
import type { AlertConfigCache } from './alert-config-cache';
import { type FieldProblem, type RuleRow, type RuleSpec, ruleProblems, scopeKey } from './alert-rules';
import type { AlertRulesRepository, SilenceRow } from './alert-rules.repository';

type Auditor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

const ruleNotFound = (id: number) => notFound('alert_rule_not_found', `No alert rule with id ${id}`);
const silenceNotFound = (id: number) => notFound('alert_silence_not_found', `No alert silence with id ${id}`);

export function ruleView(row: RuleRow): AlertRule {
  return {
    id: row.id,
    robot_id: row.robot_id,
    name: row.name,
    measurement: row.measurement,
    field: row.field,
    tag_filter: row.tag_filter ?? {},
    direction: row.direction,
    warning_level: row.warning_level,
    critical_level: row.critical_level,
    clear_level: row.clear_level,
    sustained_s: row.sustained_s,
    enabled: row.enabled,
    is_default: row.is_default,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    updated_by: row.updated_by,
  };
}

export function silenceView(row: SilenceRow, now = Date.now()): AlertSilence {
  return {
    id: row.id,
    robot_id: row.robot_id,
    rule_id: row.rule_id,
    starts_at: row.starts_at.toISOString(),
    ends_at: row.ends_at.toISOString(),
    reason: row.reason,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    active: row.starts_at.getTime() <= now && now < row.ends_at.getTime(),
  };
}

/** Alert rules and silences: validation, the audit trail, and the engine's cache kept current. */
export class AlertRulesService {
  constructor(
    private readonly db: Database,
    private readonly repo: AlertRulesRepository,
    private readonly audit: AuditTrail,
    private readonly cache: AlertConfigCache,
    /** Whether a robot id is known (a rule or silence for an unknown robot is a 404, not a rule that never fires). */
    private readonly knowsRobot: (robot_id: string) => boolean,
  ) {}

  /** Reads rules and silences again now (after changes written around the API, e.g. a bulk load). */
  refresh(): Promise<void> {
    return this.cache.reload();
  }

  async list(
    q: AlertRuleListQuery,
  ): Promise<{ items: Array<AlertRule & { overridden: boolean }>; total: number }> {
    const rows = await this.repo.listRules(q);
    // With a robot: its own rules replace the fleet's of the same scope (enabled or not).
    const own = new Set(rows.filter((r) => r.robot_id !== null).map(scopeKey));
    const items = rows.map((r) => ({
      ...ruleView(r),
      overridden: q.robot_id !== undefined && r.robot_id === null && own.has(scopeKey(r)),
    }));
    return { items, total: items.length };
  }

  async get(id: number): Promise<AlertRule> {
    const row = await this.repo.getRule(id);
    if (!row) throw ruleNotFound(id);
    return ruleView(row);
  }

  async create(body: CreateAlertRuleRequest, by: Auditor): Promise<AlertRule> {
    const spec: RuleSpec = {
      robot_id: body.robot_id ?? null,
      name: body.name ?? `${body.measurement}.${body.field} ${body.direction}`,
      measurement: body.measurement,
      field: body.field,
      tag_filter: body.tag_filter ?? {},
      direction: body.direction,
      warning_level: body.warning_level ?? null,
      critical_level: body.critical_level ?? null,
      clear_level: body.clear_level ?? null,
      sustained_s: body.sustained_s ?? 0,
      enabled: body.enabled ?? true,
    };
    check(ruleProblems(spec));
    this.checkRobot(spec.robot_id);
    const row = await this.scoped(() =>
      this.db.transaction(async (tx) => {
        const created = await this.repo.insertRule(spec, by.actor.name, tx);
        await this.audit.record(
          {
            ...by,
            action: 'alert_rule.create',
            target: { type: 'alert_rule', id: String(created.id) },
            outcome: 'success',
            details: { rule: ruleView(created) },
          },
          tx,
        );
        return created;
      }),
    );
    await this.cache.reload();
    return ruleView(row);
  }

  async update(id: number, body: UpdateAlertRuleRequest, by: Auditor): Promise<AlertRule> {
    const row = await this.scoped(() =>
      this.db.transaction(async (tx) => {
        const before = await this.repo.getRule(id, tx);
        if (!before) throw ruleNotFound(id);
        const spec: RuleSpec = {
          robot_id: body.robot_id !== undefined ? body.robot_id : before.robot_id,
          name: body.name ?? before.name,
          measurement: body.measurement ?? before.measurement,
          field: body.field ?? before.field,
          tag_filter: body.tag_filter ?? before.tag_filter,
          direction: body.direction ?? before.direction,
          warning_level: body.warning_level !== undefined ? body.warning_level : before.warning_level,
          critical_level: body.critical_level !== undefined ? body.critical_level : before.critical_level,
          clear_level: body.clear_level !== undefined ? body.clear_level : before.clear_level,
          sustained_s: body.sustained_s ?? before.sustained_s,
          enabled: body.enabled ?? before.enabled,
        };
        if (before.is_default && scopeKey(spec) + spec.robot_id !== scopeKey(before) + before.robot_id) {
          throw conflict(
            'A default rule keeps its scope (robot, measurement, field, tag filter): create a rule instead',
          );
        }
        check(ruleProblems(spec));
        if (spec.robot_id !== before.robot_id) this.checkRobot(spec.robot_id);
        const after = await this.repo.updateRule(id, spec, by.actor.name, tx);
        await this.audit.record(
          {
            ...by,
            action: 'alert_rule.update',
            target: { type: 'alert_rule', id: String(id) },
            outcome: 'success',
            details: { changed: changes(ruleView(before), ruleView(after)) },
          },
          tx,
        );
        return after;
      }),
    );
    await this.cache.reload();
    return ruleView(row);
  }

  async remove(id: number, by: Auditor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const before = await this.repo.getRule(id, tx);
      if (!before) throw ruleNotFound(id);
      if (before.is_default) {
        throw conflict(
          'A default rule cannot be deleted (it would come back at the next start): disable it with enabled: false',
        );
      }
      await this.repo.deleteRule(id, tx);
      await this.audit.record(
        {
          ...by,
          action: 'alert_rule.delete',
          target: { type: 'alert_rule', id: String(id) },
          outcome: 'success',
          details: { rule: ruleView(before) },
        },
        tx,
      );
    });
    await this.cache.reload();
  }

  async resetDefaults(by: Auditor): Promise<{ items: AlertRule[]; total: number }> {
    const rows = await this.db.transaction(async (tx) => {
      const reset = await this.repo.resetDefaults(by.actor.name, tx);
      await this.audit.record(
        {
          ...by,
          action: 'alert_rule.reset_defaults',
          target: { type: 'alert_rule', id: 'defaults' },
          outcome: 'success',
          details: { rules: reset.map((r) => r.id) },
        },
        tx,
      );
      return reset;
    });
    await this.cache.reload();
    return { items: rows.map(ruleView), total: rows.length };
  }

  async listSilences(q: AlertSilenceListQuery): Promise<{ items: AlertSilence[]; total: number }> {
    const now = Date.now();
    let items = (await this.repo.listSilences({ robot_id: q.robot_id, includeEnded: q.include_ended })).map(
      (r) => silenceView(r, now),
    );
    if (q.active !== undefined) items = items.filter((s) => s.active === q.active);
    return { items, total: items.length };
  }

  async createSilence(body: CreateAlertSilenceRequest, by: Auditor): Promise<AlertSilence> {
    const problems: FieldProblem[] = [];
    const now = Date.now();
    const starts = body.starts_at ? new Date(body.starts_at) : new Date(now);
    let ends: Date | undefined;
    if (body.ends_at !== undefined && body.duration_s !== undefined) {
      problems.push({ field: 'body.duration_s', message: 'give either ends_at or duration_s, not both' });
    } else if (body.ends_at !== undefined) ends = new Date(body.ends_at);
    else if (body.duration_s !== undefined) ends = new Date(starts.getTime() + body.duration_s * 1000);
    else problems.push({ field: 'body.ends_at', message: 'ends_at or duration_s is needed' });
    if (ends && ends.getTime() <= starts.getTime()) {
      problems.push({ field: 'body.ends_at', message: 'must be after starts_at' });
    } else if (ends && ends.getTime() <= now) {
      problems.push({ field: 'body.ends_at', message: 'must be in the future' });
    }
    check(problems);
    this.checkRobot(body.robot_id ?? null);
    const row = await this.db.transaction(async (tx) => {
      if (body.rule_id != null && !(await this.repo.getRule(body.rule_id, tx)))
        throw ruleNotFound(body.rule_id);
      const created = await this.repo.insertSilence(
        {
          robot_id: body.robot_id ?? null,
          rule_id: body.rule_id ?? null,
          starts_at: starts,
          ends_at: ends!,
          reason: body.reason,
          created_by: by.actor.name,
        },
        tx,
      );
      await this.audit.record(
        {
          ...by,
          action: 'alert_silence.create',
          target: { type: 'alert_silence', id: String(created.id) },
          outcome: 'success',
          details: { silence: silenceView(created, now) },
        },
        tx,
      );
      return created;
    });
    await this.cache.reload();
    return silenceView(row);
  }

  /** Ends a silence now (409 when it has ended already). */
  async endSilence(id: number, by: Auditor): Promise<AlertSilence> {
    const row = await this.db.transaction(async (tx) => {
      const before = await this.repo.getSilence(id, tx);
      if (!before) throw silenceNotFound(id);
      if (before.ends_at.getTime() <= Date.now()) throw conflict(`Silence ${id} has ended already`);
      const ended = (await this.repo.endSilence(id, tx))!;
      await this.audit.record(
        {
          ...by,
          action: 'alert_silence.end',
          target: { type: 'alert_silence', id: String(id) },
          outcome: 'success',
          details: { reason: before.reason, ends_at: ended.ends_at.toISOString() },
        },
        tx,
      );
      return ended;
    });
    await this.cache.reload();
    return silenceView(row);
  }

  private checkRobot(robot_id: string | null): void {
    if (robot_id !== null && !this.knowsRobot(robot_id)) throw robotNotFound(robot_id);
  }

  /** A taken scope is a 409 naming it. */
  private async scoped<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw conflict(
          'A rule of this scope exists already (same robot or fleet, measurement, field and tag filter): change that one',
        );
      }
      throw err;
    }
  }
}

function check(problems: FieldProblem[]): void {
  if (problems.length > 0) throw validationError(problems);
}

function changes(before: AlertRule, after: AlertRule): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const k of Object.keys(after) as Array<keyof AlertRule>) {
    if (k === 'updated_at' || k === 'updated_by') continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out[k] = { from: before[k], to: after[k] };
  }
  return out;
}
