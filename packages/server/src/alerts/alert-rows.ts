import type { AlertView } from '@tonypi/contracts';

/** A row of `alerts` (ALERT_COLUMNS), as the engine's writer and the alerts API read it. */
export interface AlertRow {
  id: number;
  robot_id: string | null;
  alert_type: string;
  severity: string;
  state: string;
  title: string;
  message: string;
  rule_id: number | null;
  source: string | null;
  value: number | null;
  threshold: number | null;
  muted: boolean;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
  acknowledge_note: string | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  resolve_note: string | null;
  created_at: Date;
  updated_at: Date;
  /** An object; a seed-era row may hold another JSON value. */
  details: unknown;
  dedup_key: string | null;
}

export const ALERT_COLUMNS =
  'id, robot_id, alert_type, severity, state, title, message, rule_id, source, value, threshold, muted, ' +
  'acknowledged_by, acknowledged_at, acknowledge_note, resolved_by, resolved_at, resolve_note, created_at, ' +
  'updated_at, details, dedup_key';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function alertView(row: AlertRow): AlertView {
  return {
    id: Number(row.id),
    robot_id: row.robot_id,
    alert_type: row.alert_type,
    severity: row.severity === 'critical' || row.severity === 'warning' ? row.severity : 'info',
    state: row.state === 'acknowledged' || row.state === 'resolved' ? row.state : 'open',
    title: row.title,
    message: row.message,
    rule_id: row.rule_id,
    source: row.source,
    value: row.value,
    threshold: row.threshold,
    muted: row.muted,
    acknowledged_by: row.acknowledged_by,
    acknowledged_at: iso(row.acknowledged_at),
    acknowledge_note: row.acknowledge_note,
    resolved_by: row.resolved_by,
    resolved_at: iso(row.resolved_at),
    resolve_note: row.resolve_note,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    details: detailsObject(row.details),
  };
}

/** `details` as the view has it: an object. A seed-era row may hold another JSON value: it is wrapped. */
function detailsObject(details: unknown): Record<string, unknown> | null {
  if (details === null || details === undefined) return null;
  if (typeof details === 'object' && !Array.isArray(details)) return details as Record<string, unknown>;
  return { value: details };
}

/** The engine's key of an alert as the API shows it (a rule's alerts by rule, the others by type). */
export function dedupKeyOf(alert: Pick<AlertView, 'rule_id' | 'alert_type'>): string {
  return alert.rule_id !== null ? `rule:${alert.rule_id}` : alert.alert_type;
}
