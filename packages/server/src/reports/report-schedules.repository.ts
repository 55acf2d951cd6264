import type { ReportKind, ReportSectionKey, ReportStatus, ScheduleFrequency } from '@tonypi/contracts';
import type { Queryable } from '../db/database';

export interface ScheduleRow {
  id: number;
  name: string;
  report_type: ReportKind;
  robot_id: string | null;
  tag: string | null;
  sections: ReportSectionKey[];
  want_ai: boolean;
  frequency: ScheduleFrequency;
  at_minute: number;
  weekday: number;
  day_of_month: number;
  channel_ids: number[];
  enabled: boolean;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_report_id: number | null;
  /** The last run's report status (joined). */
  last_status: ReportStatus | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** What a schedule is made of: every column a person sets (the rest the scheduler keeps). */
export type ScheduleFields = Pick<
  ScheduleRow,
  | 'name'
  | 'report_type'
  | 'robot_id'
  | 'tag'
  | 'sections'
  | 'want_ai'
  | 'frequency'
  | 'at_minute'
  | 'weekday'
  | 'day_of_month'
  | 'channel_ids'
  | 'enabled'
>;

const COLUMNS = `s.id, s.name, s.report_type, s.robot_id, s.tag, s.sections, s.want_ai, s.frequency, s.at_minute,
  s.weekday, s.day_of_month, s.channel_ids, s.enabled, s.next_run_at, s.last_run_at, s.last_report_id,
  r.status AS last_status, s.created_by, s.created_at, s.updated_at`;
const FROM = 'report_schedules s LEFT JOIN reports r ON r.id = s.last_report_id';

/** SQL of `report_schedules` (0018). */
export class ReportSchedulesRepository {
  constructor(private readonly db: Queryable) {}

  async list(): Promise<ScheduleRow[]> {
    const { rows } = await this.db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM ${FROM} ORDER BY s.name, s.id`);
    return rows;
  }

  async get(id: number, db: Queryable = this.db): Promise<ScheduleRow | undefined> {
    const { rows } = await db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE s.id = $1`, [id]);
    return rows[0];
  }

  async insert(
    f: ScheduleFields & { next_run_at: number | null; created_by: string | null },
  ): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(
      `INSERT INTO report_schedules (name, report_type, robot_id, tag, sections, want_ai, frequency, at_minute,
         weekday, day_of_month, channel_ids, enabled, next_run_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
      [...values(f), f.next_run_at === null ? null : new Date(f.next_run_at).toISOString(), f.created_by],
    );
    return rows[0]!.id;
  }

  async update(id: number, f: ScheduleFields & { next_run_at: number | null }): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE report_schedules SET name = $1, report_type = $2, robot_id = $3, tag = $4, sections = $5,
         want_ai = $6, frequency = $7, at_minute = $8, weekday = $9, day_of_month = $10, channel_ids = $11,
         enabled = $12, next_run_at = $13, updated_at = CURRENT_TIMESTAMP
       WHERE id = $14 RETURNING id`,
      [...values(f), f.next_run_at === null ? null : new Date(f.next_run_at).toISOString(), id],
    );
    return rows.length > 0;
  }

  async remove(id: number): Promise<ScheduleRow | undefined> {
    const row = await this.get(id);
    if (!row) return undefined;
    await this.db.query('DELETE FROM report_schedules WHERE id = $1', [id]);
    return row;
  }

  /** Enabled schedules whose next run is due, oldest first. */
  async due(now: number, limit: number): Promise<ScheduleRow[]> {
    const { rows } = await this.db.query<ScheduleRow>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE s.enabled AND s.next_run_at <= $1
       ORDER BY s.next_run_at, s.id LIMIT ${Math.trunc(limit)}`,
      [new Date(now).toISOString()],
    );
    return rows;
  }

  /**
   * Moves a due schedule on to its next run, if no other instance did since `seen` was read: true for the one
   * instance that takes this run. Compared to the millisecond, what `seen` (a JS Date) holds of a timestamp.
   */
  async advance(tx: Queryable, id: number, seen: Date, next: number, now: number): Promise<boolean> {
    const { rows } = await tx.query(
      `UPDATE report_schedules SET next_run_at = $3, last_run_at = $4
       WHERE id = $1 AND enabled AND date_trunc('milliseconds', next_run_at) = $2 RETURNING id`,
      [id, seen.toISOString(), new Date(next).toISOString(), new Date(now).toISOString()],
    );
    return rows.length > 0;
  }

  async setLastReport(tx: Queryable, id: number, report_id: number, now: number): Promise<void> {
    await tx.query('UPDATE report_schedules SET last_report_id = $2, last_run_at = $3 WHERE id = $1', [
      id,
      report_id,
      new Date(now).toISOString(),
    ]);
  }

  /** The report a schedule made for the period starting at `from`, if any. */
  async reportOfPeriod(id: number, from: number): Promise<number | undefined> {
    const { rows } = await this.db.query<{ id: number }>(
      'SELECT id FROM reports WHERE schedule_id = $1 AND from_at = to_timestamp($2 / 1000.0)',
      [id, from],
    );
    return rows[0]?.id;
  }
}

function values(f: ScheduleFields): unknown[] {
  return [
    f.name,
    f.report_type,
    f.robot_id,
    f.tag,
    JSON.stringify(f.sections),
    f.want_ai,
    f.frequency,
    f.at_minute,
    f.weekday,
    f.day_of_month,
    JSON.stringify(f.channel_ids),
    f.enabled,
  ];
}
