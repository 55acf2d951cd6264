import type { Queryable } from '../db/database';
import { DEFAULT_RULES, type RuleRow, type RuleSpec } from './alert-rules';

const RULE_COLUMNS =
  'id, robot_id, name, measurement, field, tag_filter, direction, warning_level, critical_level, clear_level, ' +
  'sustained_s, enabled, is_default, created_at, updated_at, updated_by';

/** `uq_alert_rules_scope` of migration 0007, as ON CONFLICT names it. */
const RULE_SCOPE = `((COALESCE(robot_id, '')), measurement, field, tag_filter)`;

export interface SilenceRow {
  id: number;
  robot_id: string | null;
  rule_id: number | null;
  starts_at: Date;
  ends_at: Date;
  reason: string;
  created_by: string | null;
  created_at: Date;
}

const SILENCE_COLUMNS = 'id, robot_id, rule_id, starts_at, ends_at, reason, created_by, created_at';

export interface RuleFilter {
  robot_id?: string;
  measurement?: string;
  enabled?: boolean;
}

/** `alert_rules` and `alert_silences`. */
export class AlertRulesRepository {
  constructor(private readonly db: Queryable) {}

  fingerprint(): Promise<string> {
    return configFingerprint(this.db);
  }

  async listRules(filter: RuleFilter = {}, q: Queryable = this.db): Promise<RuleRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.robot_id !== undefined) {
      params.push(filter.robot_id);
      where.push(`(robot_id IS NULL OR robot_id = $${params.length})`);
    }
    if (filter.measurement !== undefined) {
      params.push(filter.measurement);
      where.push(`measurement = $${params.length}`);
    }
    if (filter.enabled !== undefined) {
      params.push(filter.enabled);
      where.push(`enabled = $${params.length}`);
    }
    const { rows } = await q.query<RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM alert_rules ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY robot_id NULLS FIRST, measurement, field, id`,
      params,
    );
    return rows;
  }

  async getRule(id: number, q: Queryable = this.db): Promise<RuleRow | undefined> {
    const { rows } = await q.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1`, [id]);
    return rows[0];
  }

  /** Throws a unique violation (23505) when the robot (or the fleet) has a rule of this scope already. */
  async insertRule(
    spec: RuleSpec,
    by: string | null,
    q: Queryable = this.db,
    isDefault = false,
  ): Promise<RuleRow> {
    const { rows } = await q.query<RuleRow>(
      `INSERT INTO alert_rules (robot_id, name, measurement, field, tag_filter, direction, warning_level,
         critical_level, clear_level, sustained_s, enabled, is_default, updated_by)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)
       RETURNING ${RULE_COLUMNS}`,
      [...specParams(spec), isDefault, by],
    );
    return rows[0]!;
  }

  /** Throws a unique violation (23505) when the new scope is taken. */
  async updateRule(id: number, spec: RuleSpec, by: string | null, q: Queryable = this.db): Promise<RuleRow> {
    const { rows } = await q.query<RuleRow>(
      `UPDATE alert_rules SET robot_id = $1, name = $2, measurement = $3, field = $4, tag_filter = $5::jsonb,
         direction = $6, warning_level = $7, critical_level = $8, clear_level = $9, sustained_s = $10,
         enabled = $11, updated_by = $12, updated_at = CURRENT_TIMESTAMP
       WHERE id = $13 RETURNING ${RULE_COLUMNS}`,
      [...specParams(spec), by, id],
    );
    return rows[0]!;
  }

  async deleteRule(id: number, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query('DELETE FROM alert_rules WHERE id = $1', [id]);
    return rowCount > 0;
  }

  /** The built-in rules that are missing (at start; several servers may do it at once). Returns how many. */
  async insertMissingDefaults(q: Queryable = this.db): Promise<number> {
    let inserted = 0;
    for (const spec of DEFAULT_RULES) {
      const { rowCount } = await q.query(
        `INSERT INTO alert_rules (robot_id, name, measurement, field, tag_filter, direction, warning_level,
           critical_level, clear_level, sustained_s, enabled, is_default, updated_by)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, TRUE, NULL)
         ON CONFLICT ${RULE_SCOPE} DO NOTHING`,
        specParams(spec),
      );
      inserted += rowCount;
    }
    return inserted;
  }

  /** The built-in rules as shipped: missing ones inserted, changed ones set back (and enabled). */
  async resetDefaults(by: string | null, q: Queryable): Promise<RuleRow[]> {
    const out: RuleRow[] = [];
    for (const spec of DEFAULT_RULES) {
      const { rows } = await q.query<RuleRow>(
        `INSERT INTO alert_rules (robot_id, name, measurement, field, tag_filter, direction, warning_level,
           critical_level, clear_level, sustained_s, enabled, is_default, updated_by)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, TRUE, $12)
         ON CONFLICT ${RULE_SCOPE} DO UPDATE SET name = EXCLUDED.name, direction = EXCLUDED.direction,
           warning_level = EXCLUDED.warning_level, critical_level = EXCLUDED.critical_level,
           clear_level = EXCLUDED.clear_level, sustained_s = EXCLUDED.sustained_s, enabled = TRUE,
           is_default = TRUE, updated_by = EXCLUDED.updated_by, updated_at = CURRENT_TIMESTAMP
         RETURNING ${RULE_COLUMNS}`,
        [...specParams(spec), by],
      );
      out.push(rows[0]!);
    }
    return out;
  }

  /** Silences that have not ended (and, with `includeEnded`, those that have), newest first. */
  async listSilences(
    filter: { robot_id?: string; includeEnded?: boolean } = {},
    q: Queryable = this.db,
  ): Promise<SilenceRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (!filter.includeEnded) where.push('ends_at > CURRENT_TIMESTAMP');
    if (filter.robot_id !== undefined) {
      params.push(filter.robot_id);
      where.push(`(robot_id IS NULL OR robot_id = $${params.length})`);
    }
    const { rows } = await q.query<SilenceRow>(
      `SELECT ${SILENCE_COLUMNS} FROM alert_silences ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY starts_at DESC, id DESC LIMIT 1000`,
      params,
    );
    return rows;
  }

  async getSilence(id: number, q: Queryable = this.db): Promise<SilenceRow | undefined> {
    const { rows } = await q.query<SilenceRow>(
      `SELECT ${SILENCE_COLUMNS} FROM alert_silences WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async insertSilence(
    s: Pick<SilenceRow, 'robot_id' | 'rule_id' | 'starts_at' | 'ends_at' | 'reason' | 'created_by'>,
    q: Queryable,
  ): Promise<SilenceRow> {
    const { rows } = await q.query<SilenceRow>(
      `INSERT INTO alert_silences (robot_id, rule_id, starts_at, ends_at, reason, created_by)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${SILENCE_COLUMNS}`,
      [s.robot_id, s.rule_id, s.starts_at, s.ends_at, s.reason, s.created_by],
    );
    return rows[0]!;
  }

  /**
   * Ends a silence now: one not started yet is shortened to nothing (its start, as ends_at must follow
   * starts_at, a microsecond later). Returns the row as it is after.
   */
  async endSilence(id: number, q: Queryable): Promise<SilenceRow | undefined> {
    const { rows } = await q.query<SilenceRow>(
      `UPDATE alert_silences SET ends_at = GREATEST(starts_at + INTERVAL '1 millisecond', CURRENT_TIMESTAMP)
       WHERE id = $1 RETURNING ${SILENCE_COLUMNS}`,
      [id],
    );
    return rows[0];
  }
}

/**
 * A cheap digest of both tables: it changes with any insert, update or delete of a rule or silence, so a
 * periodic refresh reads the tables only when another server changed them.
 */
export async function configFingerprint(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ fp: string }>(
    `SELECT (SELECT count(*) || ':' || COALESCE(max(id), 0) || ':' || COALESCE(max(updated_at)::text, '')
               FROM alert_rules)
       || '/' ||
           (SELECT count(*) || ':' || COALESCE(max(id), 0) || ':' ||
                   COALESCE(sum(extract(epoch FROM ends_at)), 0)::text FROM alert_silences) AS fp`,
  );
  return rows[0]?.fp ?? '';
}

function specParams(s: RuleSpec): unknown[] {
  return [
    s.robot_id,
    s.name,
    s.measurement,
    s.field,
    JSON.stringify(s.tag_filter),
    s.direction,
    s.warning_level,
    s.critical_level,
    s.clear_level,
    s.sustained_s,
    s.enabled,
  ];
}
