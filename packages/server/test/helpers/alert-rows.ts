import type { AlertSeverity, AlertState } from '@tonypi/contracts';
import type { TestServer } from './test-server';

/** An alerts row as the alert engine writes it; everything but what a test cares about has a default. */
export interface AlertRowSeed {
  robot_id?: string | null;
  alert_type?: string;
  severity?: AlertSeverity;
  state?: AlertState;
  title?: string;
  message?: string;
  rule_id?: number | null;
  source?: string | null;
  muted?: boolean;
  dedup_key?: string | null;
  /** Epoch ms or ISO-8601; default now. */
  created_at?: number | string;
}

/** Inserts alerts straight into the database (the engine is not part of this test); returns their ids in order. */
export async function insertAlerts(t: TestServer, seeds: readonly AlertRowSeed[]): Promise<number[]> {
  const ids: number[] = [];
  for (const s of seeds) {
    const state = s.state ?? 'open';
    const created = s.created_at === undefined ? new Date() : new Date(s.created_at);
    const { rows } = await t.server.db.query<{ id: number }>(
      `INSERT INTO alerts (robot_id, alert_type, severity, state, title, message, rule_id, source, muted, dedup_key,
                           resolved, resolved_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
       RETURNING id`,
      [
        s.robot_id === undefined ? 'tonypi_01' : s.robot_id,
        s.alert_type ?? 'threshold',
        s.severity ?? 'warning',
        state,
        s.title ?? 'CPU high',
        s.message ?? 'cpu_percent 91 above 90',
        s.rule_id ?? null,
        s.source ?? null,
        s.muted ?? false,
        s.dedup_key ?? null,
        state === 'resolved',
        state === 'resolved' ? created : null,
        created,
      ],
    );
    ids.push(Number(rows[0]?.id));
  }
  return ids;
}

/** A rule row for alerts to point at (`rule_id` references alert_rules). */
export async function insertRule(t: TestServer, name: string): Promise<number> {
  const { rows } = await t.server.db.query<{ id: number }>(
    `INSERT INTO alert_rules (name, measurement, field, direction, warning_level, critical_level)
     VALUES ($1, 'system', $2, 'above', 70, 90) RETURNING id`,
    [name, name.replace(/[^a-z0-9_]/g, '_')],
  );
  return Number(rows[0]?.id);
}

/** Deletes every alert: each test starts from an empty table. */
export async function clearAlerts(t: TestServer): Promise<void> {
  await t.server.db.query('DELETE FROM alerts');
}
