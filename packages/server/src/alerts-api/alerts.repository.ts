import type { AlertCursor, AlertSeverity, AlertState, AlertStats, AlertView } from '@tonypi/contracts';
import { ALERT_SEVERITIES, ALERT_STATES, ALERTS_TOTAL_CAP } from '@tonypi/contracts';
import { ALERT_COLUMNS, type AlertRow, alertView } from '../alerts/alert-rows';
import type { Queryable } from '../db/database';
import { escapeLike } from '../robots/robots.repository';

/** What the list, the count, the stats and the bulk acknowledgement filter on; every part optional. */
export interface AlertFilter {
  robot_ids?: readonly string[];
  severities?: readonly AlertSeverity[];
  alert_types?: readonly string[];
  rule_id?: number;
  states?: readonly AlertState[];
  /** true: someone acknowledged it (acknowledged_at set); false: nobody has. */
  acknowledged?: boolean;
  /** true: state resolved; false: any other state. */
  resolved?: boolean;
  muted?: boolean;
  /** Epoch ms: created at or after `from`, before `to`. */
  from?: number;
  to?: number;
  /** A substring of the title or the message, any case. */
  search?: string;
}

/** A stored alert and where it sits in the list's order (its creation time in µs, exact). */
export interface AlertRecord {
  view: AlertView;
  created_us: string;
}

export interface NewAlert {
  robot_id: string | null;
  alert_type: string;
  severity: AlertSeverity;
  title: string;
  message: string;
  source: string | null;
  value: number | null;
  threshold: number | null;
  details: Record<string, unknown> | null;
}

/** A row and its creation time in µs (the list's cursor). */
interface ListedRow extends AlertRow {
  created_us: string;
}

const COLUMNS = `${ALERT_COLUMNS}, (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us`;

/** The instant a cursor names, exact to the µs: the epoch plus a whole number of microseconds. */
const CURSOR_TIME = (p: string) => `(timestamptz 'epoch' + ${p}::bigint * interval '1 microsecond')`;

/** Parameters of one statement, numbered as they are added. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The WHERE conditions of a filter (empty: every alert). */
function conditions(f: AlertFilter, p: Params): string[] {
  const out: string[] = [];
  const oneOrAny = (column: string, values: readonly string[] | undefined, type: string) => {
    if (values === undefined || values.length === 0) return;
    out.push(
      values.length === 1
        ? `${column} = ${p.add(values[0])}`
        : `${column} = ANY(${p.add(values)}::${type}[])`,
    );
  };
  oneOrAny('robot_id', f.robot_ids, 'varchar');
  // All three severities (or states) are no filter: the planner then keeps the plain time-ordered scan.
  if (f.severities && f.severities.length < ALERT_SEVERITIES.length)
    oneOrAny('severity', f.severities, 'varchar');
  oneOrAny('alert_type', f.alert_types, 'varchar');
  if (f.rule_id !== undefined) out.push(`rule_id = ${p.add(f.rule_id)}`);
  if (f.states && f.states.length < ALERT_STATES.length) oneOrAny('state', f.states, 'varchar');
  if (f.acknowledged !== undefined) out.push(`acknowledged_at IS ${f.acknowledged ? 'NOT ' : ''}NULL`);
  if (f.resolved !== undefined) out.push(f.resolved ? `state = 'resolved'` : `state <> 'resolved'`);
  if (f.muted !== undefined) out.push(`muted = ${p.add(f.muted)}`);
  if (f.from !== undefined) out.push(`created_at >= ${p.add(new Date(f.from))}`);
  if (f.to !== undefined) out.push(`created_at < ${p.add(new Date(f.to))}`);
  if (f.search !== undefined && f.search !== '') {
    // search_text is lower(title || newline || message) (migration 0009): one LIKE, not two ILIKEs.
    out.push(`search_text LIKE lower(${p.add(`%${escapeLike(f.search)}%`)}) ESCAPE '\\'`);
  }
  return out;
}

const where = (parts: readonly string[]) => (parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '');

/** SQL of the `alerts` table for the alerts API: reads, acknowledgements, resolution, deletion, manual alerts. */
export class AlertsRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * One page, newest first by (created_at, id): the alerts after `cursor`, and one more than `limit` to tell
   * whether another page follows. Keyset paging: a page never shifts when alerts are raised meanwhile.
   */
  async page(filter: AlertFilter, limit: number, cursor?: AlertCursor): Promise<AlertRecord[]> {
    const p = new Params();
    const parts = conditions(filter, p);
    if (cursor) {
      parts.push(`(created_at, id) < (${CURSOR_TIME(p.add(cursor.created_us))}, ${p.add(cursor.id)})`);
    }
    const { rows } = await this.db.query<ListedRow>(
      `SELECT ${COLUMNS} FROM alerts ${where(parts)} ORDER BY created_at DESC, id DESC LIMIT ${p.add(limit + 1)}`,
      p.values,
    );
    return rows.map(toRecord);
  }

  /** How many alerts match, counted up to `cap` (it stops there: a count of everything costs a full scan). */
  async count(filter: AlertFilter, cap = ALERTS_TOTAL_CAP): Promise<{ total: number; capped: boolean }> {
    const p = new Params();
    const parts = conditions(filter, p);
    const { rows } = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM alerts ${where(parts)} LIMIT ${p.add(cap + 1)}) matching`,
      p.values,
    );
    const n = rows[0]?.n ?? 0;
    return { total: Math.min(n, cap), capped: n > cap };
  }

  async findById(id: number, db: Queryable = this.db): Promise<AlertView | undefined> {
    const { rows } = await db.query<AlertRow>(`SELECT ${COLUMNS} FROM alerts WHERE id = $1`, [id]);
    return rows[0] && alertView(rows[0]);
  }

  /** Counts by severity and state, type, robot (and muted) in one pass over the range. */
  async stats(filter: AlertFilter, top: number): Promise<Omit<AlertStats, 'from' | 'to'>> {
    const p = new Params();
    const { rows } = await this.db.query<{
      severity: string | null;
      state: string | null;
      alert_type: string | null;
      robot_id: string | null;
      muted: boolean | null;
      grouping: number;
      n: number;
    }>(
      `SELECT severity, state, alert_type, robot_id, muted, count(*)::int AS n,
              GROUPING(severity, state, alert_type, robot_id, muted) AS grouping
         FROM alerts ${where(conditions(filter, p))}
        GROUP BY GROUPING SETS ((severity, state), (alert_type), (robot_id, state), (muted))`,
      p.values,
    );
    // GROUPING's bits, first argument highest: 1 = not grouped by in this row's set.
    const SEVERITY_STATE = 0b00111;
    const TYPE = 0b11011;
    const ROBOT_STATE = 0b10101;
    const MUTED = 0b11110;
    const by_severity = { info: 0, warning: 0, critical: 0 };
    const by_state = { open: 0, acknowledged: 0, resolved: 0 };
    const by_type: Record<string, number> = {};
    const robots = new Map<string | null, { robot_id: string | null; total: number; unresolved: number }>();
    let muted = 0;
    for (const r of rows) {
      if (r.grouping === SEVERITY_STATE) {
        if (r.severity && r.severity in by_severity) by_severity[r.severity as AlertSeverity] += r.n;
        if (r.state && r.state in by_state) by_state[r.state as AlertState] += r.n;
      } else if (r.grouping === TYPE && r.alert_type !== null) {
        by_type[r.alert_type] = r.n;
      } else if (r.grouping === ROBOT_STATE) {
        const entry = robots.get(r.robot_id) ?? { robot_id: r.robot_id, total: 0, unresolved: 0 };
        entry.total += r.n;
        if (r.state !== 'resolved') entry.unresolved += r.n;
        robots.set(r.robot_id, entry);
      } else if (r.grouping === MUTED && r.muted === true) {
        muted = r.n;
      }
    }
    const total = by_state.open + by_state.acknowledged + by_state.resolved;
    const by_robot = [...robots.values()]
      .sort((a, b) => b.total - a.total || (a.robot_id ?? '').localeCompare(b.robot_id ?? ''))
      .slice(0, top);
    return {
      total,
      ...by_severity,
      unacknowledged: by_state.open,
      unresolved: by_state.open + by_state.acknowledged,
      muted,
      by_severity,
      by_state,
      by_type,
      by_robot,
    };
  }

  /** Acknowledges an open alert; undefined when it is not open (or not there). */
  async acknowledge(
    tx: Queryable,
    id: number,
    by: string,
    note: string | null,
  ): Promise<AlertView | undefined> {
    const { rows } = await tx.query<AlertRow>(
      `UPDATE alerts
          SET state = 'acknowledged', acknowledged = TRUE, acknowledged_by = $2, acknowledged_at = now(),
              acknowledge_note = $3, updated_at = now()
        WHERE id = $1 AND state = 'open'
        RETURNING ${COLUMNS}`,
      [id, by, note],
    );
    return rows[0] && alertView(rows[0]);
  }

  /** Acknowledges every open alert of the ids, or matching the filter; returns those it changed. */
  async acknowledgeMany(
    tx: Queryable,
    target: { ids: readonly number[] } | { filter: AlertFilter },
    by: string,
    note: string | null,
  ): Promise<AlertView[]> {
    const p = new Params();
    const parts = 'ids' in target ? [`id = ANY(${p.add(target.ids)}::int[])`] : conditions(target.filter, p);
    parts.push(`state = 'open'`);
    const { rows } = await tx.query<AlertRow>(
      `UPDATE alerts
          SET state = 'acknowledged', acknowledged = TRUE, acknowledged_by = ${p.add(by)}, acknowledged_at = now(),
              acknowledge_note = ${p.add(note)}, updated_at = now()
        ${where(parts)}
        RETURNING ${COLUMNS}`,
      p.values,
    );
    return rows.map(alertView);
  }

  /** Resolves an alert that is not resolved yet; undefined when it is (or is not there). */
  async resolve(tx: Queryable, id: number, by: string, note: string | null): Promise<AlertView | undefined> {
    const { rows } = await tx.query<AlertRow>(
      `UPDATE alerts
          SET state = 'resolved', resolved = TRUE, resolved_by = $2, resolved_at = now(), resolve_note = $3,
              updated_at = now()
        WHERE id = $1 AND state <> 'resolved'
        RETURNING ${COLUMNS}`,
      [id, by, note],
    );
    return rows[0] && alertView(rows[0]);
  }

  async remove(tx: Queryable, id: number): Promise<AlertView | undefined> {
    const { rows } = await tx.query<AlertRow>(`DELETE FROM alerts WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
    return rows[0] && alertView(rows[0]);
  }

  /** A manual alert: open, no rule, no dedup key (people's alerts are not merged). */
  async insert(tx: Queryable, alert: NewAlert): Promise<AlertView> {
    const { rows } = await tx.query<AlertRow>(
      `INSERT INTO alerts (robot_id, alert_type, severity, title, message, source, value, threshold, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
       RETURNING ${COLUMNS}`,
      [
        alert.robot_id,
        alert.alert_type,
        alert.severity,
        alert.title,
        alert.message,
        alert.source,
        alert.value,
        alert.threshold,
        alert.details === null ? null : JSON.stringify(alert.details),
      ],
    );
    return alertView(rows[0] as AlertRow);
  }
}

function toRecord(row: ListedRow): AlertRecord {
  return { view: alertView(row), created_us: row.created_us };
}
