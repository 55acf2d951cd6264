import type { JobFigures, JobState, JobView, ScanView } from '@tonypi/contracts';
import type { Queryable } from '../db/database';

/** SQL of the jobs domain: the `jobs` and `scans` tables (migration 0012). */

export interface JobRow {
  id: number;
  robot_id: string;
  job_key: string | null;
  task_name: string | null;
  phase: string | null;
  status: JobState;
  items_done: number;
  items_total: number | null;
  percent_complete: number | null;
  last_item: unknown;
  success: boolean | null;
  cancel_reason: string | null;
  superseded_by: number | null;
  opened_by: 'start' | 'progress' | 'end';
  start_time: Date;
  end_time: Date | null;
  duration_s: number | null;
  estimated_duration_s: number | null;
  action_duration_s: number | null;
  created_at: Date;
  updated_at: Date | null;
}

/** The columns a job message may set (undefined: unchanged). */
export interface JobColumns {
  job_key?: string;
  task_name?: string;
  phase?: string;
  status?: JobState;
  items_done?: number;
  items_total?: number;
  percent_complete?: number;
  last_item?: unknown;
  success?: boolean;
  cancel_reason?: string;
  superseded_by?: number;
  start_time?: Date;
  end_time?: Date;
  duration_s?: number;
  estimated_duration_s?: number;
  action_duration_s?: number;
}

const JSON_COLUMNS = new Set(['last_item']);

export interface NewScan {
  robot_id: string;
  code: string;
  found: boolean;
  item_id: number | null;
  station_name?: string | undefined;
  action?: string | undefined;
  job_id: number | null;
  scanned_at: Date;
}

export interface JobFilter {
  robot_id?: string | undefined;
  status?: JobState | undefined;
  from?: number | undefined;
  to?: number | undefined;
  /** Older than this (start_time ms, id): the previous page's last job. */
  before?: { ms: number; id: number } | undefined;
  limit: number;
}

export interface ScanFilter {
  robot_id?: string | undefined;
  code?: string | undefined;
  found?: boolean | undefined;
  job_id?: number | undefined;
  from?: number | undefined;
  to?: number | undefined;
  before?: { ms: number; id: number } | undefined;
  limit: number;
}

interface ScanRow {
  id: number;
  robot_id: string;
  code: string;
  found: boolean;
  item_id: number | null;
  item_name: string | null;
  station_name: string | null;
  action: string | null;
  job_id: number | null;
  scanned_at: Date;
}

class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export class JobsRepository {
  constructor(private readonly db: Queryable) {}

  /** The robot's active job, locked for the caller's transaction. */
  async findActive(tx: Queryable, robot_id: string): Promise<JobRow | undefined> {
    const { rows } = await tx.query<JobRow>(
      `SELECT * FROM jobs WHERE robot_id = $1 AND status = 'active' FOR UPDATE`,
      [robot_id],
    );
    return rows[0];
  }

  /** The robot's newest job with this key. */
  async findByKey(tx: Queryable, robot_id: string, key: string): Promise<JobRow | undefined> {
    const { rows } = await tx.query<JobRow>(
      'SELECT * FROM jobs WHERE robot_id = $1 AND job_key = $2 ORDER BY id DESC LIMIT 1',
      [robot_id, key],
    );
    return rows[0];
  }

  /** The robot's newest job, whatever its state. */
  async findLatest(tx: Queryable, robot_id: string): Promise<JobRow | undefined> {
    const { rows } = await tx.query<JobRow>(
      'SELECT * FROM jobs WHERE robot_id = $1 ORDER BY start_time DESC, id DESC LIMIT 1',
      [robot_id],
    );
    return rows[0];
  }

  async insert(
    tx: Queryable,
    robot_id: string,
    opened_by: JobRow['opened_by'],
    columns: JobColumns & { start_time: Date },
  ): Promise<JobRow> {
    const p = new Params();
    const names = ['robot_id', 'opened_by', 'status'];
    const values = [p.add(robot_id), p.add(opened_by), p.add(columns.status ?? 'active')];
    for (const [name, value] of Object.entries(columns)) {
      if (value === undefined || name === 'status') continue;
      names.push(name);
      values.push(JSON_COLUMNS.has(name) ? `${p.add(JSON.stringify(value))}::jsonb` : p.add(value));
    }
    const { rows } = await tx.query<JobRow>(
      `INSERT INTO jobs (${names.join(', ')}, updated_at) VALUES (${values.join(', ')}, CURRENT_TIMESTAMP) RETURNING *`,
      p.values,
    );
    return rows[0]!;
  }

  async update(tx: Queryable, id: number, columns: JobColumns): Promise<JobRow> {
    const p = new Params();
    const sets: string[] = [];
    for (const [name, value] of Object.entries(columns)) {
      if (value === undefined) continue;
      sets.push(
        `${name} = ${JSON_COLUMNS.has(name) ? `${p.add(JSON.stringify(value))}::jsonb` : p.add(value)}`,
      );
    }
    sets.push('updated_at = CURRENT_TIMESTAMP');
    const { rows } = await tx.query<JobRow>(
      `UPDATE jobs SET ${sets.join(', ')} WHERE id = ${p.add(id)} RETURNING *`,
      p.values,
    );
    return rows[0]!;
  }

  async insertScan(tx: Queryable, scan: NewScan): Promise<number> {
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO scans (robot_id, code, found, item_id, station_name, action, job_id, scanned_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [
        scan.robot_id,
        scan.code,
        scan.found,
        scan.item_id,
        scan.station_name ?? null,
        scan.action ?? null,
        scan.job_id,
        scan.scanned_at,
      ],
    );
    return rows[0]!.id;
  }

  /** The robot's active job, else its newest one. */
  async findLatestOrActive(robot_id: string): Promise<JobRow | undefined> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT * FROM jobs WHERE robot_id = $1
        ORDER BY (status = 'active') DESC, start_time DESC, id DESC LIMIT 1`,
      [robot_id],
    );
    return rows[0];
  }

  async findById(id: number): Promise<JobRow | undefined> {
    const { rows } = await this.db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows[0];
  }

  async paginate(filter: JobFilter): Promise<{ rows: JobRow[]; total: number }> {
    const p = new Params();
    const where: string[] = [];
    if (filter.robot_id !== undefined) where.push(`robot_id = ${p.add(filter.robot_id)}`);
    if (filter.status !== undefined) where.push(`status = ${p.add(filter.status)}`);
    if (filter.from !== undefined) where.push(`start_time >= ${p.add(new Date(filter.from))}`);
    if (filter.to !== undefined) where.push(`start_time <= ${p.add(new Date(filter.to))}`);
    const filtered = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM jobs ${filtered}`, p.values);
    const page = [...where];
    if (filter.before) {
      page.push(`(start_time, id) < (${p.add(new Date(filter.before.ms))}, ${p.add(filter.before.id)})`);
    }
    const { rows } = await this.db.query<JobRow>(
      `SELECT * FROM jobs ${page.length > 0 ? `WHERE ${page.join(' AND ')}` : ''}
       ORDER BY start_time DESC, id DESC LIMIT ${p.add(filter.limit)}`,
      p.values,
    );
    return { rows, total: total.rows[0]?.n ?? 0 };
  }

  /** Job figures over jobs started in [from, to]: one row per robot, and the fleet's (robot_id NULL). */
  async figures(
    from: number,
    to: number,
    robot_id?: string,
  ): Promise<Array<JobFigures & { robot_id: string | null }>> {
    const p = new Params();
    const where = [`start_time >= ${p.add(new Date(from))}`, `start_time <= ${p.add(new Date(to))}`];
    if (robot_id !== undefined) where.push(`robot_id = ${p.add(robot_id)}`);
    const ended = `status <> 'active'`;
    const { rows } = await this.db.query<
      Omit<JobFigures, 'success_rate' | 'items_per_hour'> & {
        robot_id: string | null;
        succeeded: number;
        ended: number;
        ended_duration_s: number | null;
      }
    >(
      `SELECT robot_id,
              count(*)::int AS total,
              count(*) FILTER (WHERE status = 'active')::int AS active,
              count(*) FILTER (WHERE status = 'completed')::int AS completed,
              count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
              count(*) FILTER (WHERE ${ended})::int AS ended,
              count(*) FILTER (WHERE status = 'completed' AND success IS NOT FALSE)::int AS succeeded,
              avg(duration_s) FILTER (WHERE ${ended}) AS avg_duration_s,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_s) FILTER (WHERE ${ended}) AS median_duration_s,
              COALESCE(sum(items_done) FILTER (WHERE ${ended}), 0)::int AS items_done,
              sum(duration_s) FILTER (WHERE ${ended}) AS ended_duration_s
         FROM jobs WHERE ${where.join(' AND ')}
        GROUP BY GROUPING SETS ((robot_id), ())
        ORDER BY robot_id NULLS FIRST`,
      p.values,
    );
    return rows.map(({ succeeded, ended: endedCount, ended_duration_s, ...r }) => ({
      ...r,
      success_rate: endedCount > 0 ? succeeded / endedCount : null,
      items_per_hour:
        ended_duration_s && ended_duration_s > 0 ? r.items_done / (ended_duration_s / 3600) : null,
    }));
  }

  async scansOf(job_id: number, limit: number): Promise<{ rows: ScanView[]; total: number }> {
    const total = await this.db.query<{ n: number }>('SELECT count(*) AS n FROM scans WHERE job_id = $1', [
      job_id,
    ]);
    const { rows } = await this.db.query<ScanRow>(
      `${SCAN_SELECT} WHERE s.job_id = $1 ORDER BY s.scanned_at, s.id LIMIT $2`,
      [job_id, limit],
    );
    return { rows: rows.map(toScanView), total: total.rows[0]?.n ?? 0 };
  }

  async paginateScans(filter: ScanFilter): Promise<{ rows: ScanView[]; total: number }> {
    const p = new Params();
    const where: string[] = [];
    if (filter.robot_id !== undefined) where.push(`s.robot_id = ${p.add(filter.robot_id)}`);
    if (filter.code !== undefined) where.push(`s.code = ${p.add(filter.code)}`);
    if (filter.found !== undefined) where.push(`s.found = ${p.add(filter.found)}`);
    if (filter.job_id !== undefined) where.push(`s.job_id = ${p.add(filter.job_id)}`);
    if (filter.from !== undefined) where.push(`s.scanned_at >= ${p.add(new Date(filter.from))}`);
    if (filter.to !== undefined) where.push(`s.scanned_at <= ${p.add(new Date(filter.to))}`);
    const total = await this.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM scans s ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`,
      p.values,
    );
    if (filter.before) {
      where.push(`(s.scanned_at, s.id) < (${p.add(new Date(filter.before.ms))}, ${p.add(filter.before.id)})`);
    }
    const { rows } = await this.db.query<ScanRow>(
      `${SCAN_SELECT} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY s.scanned_at DESC, s.id DESC LIMIT ${p.add(filter.limit)}`,
      p.values,
    );
    return { rows: rows.map(toScanView), total: total.rows[0]?.n ?? 0 };
  }
}

// The item's name is read through the catalogue's table: a view of both domains' data, read-only.
const SCAN_SELECT = `SELECT s.id, s.robot_id, s.code, s.found, s.item_id, i.name AS item_name, s.station_name,
  s.action, s.job_id, s.scanned_at FROM scans s LEFT JOIN items i ON i.id = s.item_id`;

function toScanView(r: ScanRow): ScanView {
  return { ...r, scanned_at: r.scanned_at.toISOString() };
}

export function toJobView(r: JobRow, now = Date.now()): JobView {
  const duration =
    r.duration_s ?? (r.status === 'active' ? Math.max(0, (now - r.start_time.getTime()) / 1000) : null);
  return {
    id: r.id,
    robot_id: r.robot_id,
    job_key: r.job_key,
    task_name: r.task_name,
    phase: r.phase,
    status: r.status,
    items_done: r.items_done,
    items_total: r.items_total,
    percent_complete: r.percent_complete ?? 0,
    last_item: r.last_item ?? null,
    success: r.success,
    cancel_reason: r.cancel_reason,
    superseded_by: r.superseded_by,
    opened_by: r.opened_by,
    start_time: r.start_time.toISOString(),
    end_time: r.end_time?.toISOString() ?? null,
    duration_s: duration,
    estimated_duration_s: r.estimated_duration_s,
    action_duration_s: r.action_duration_s,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at?.toISOString() ?? null,
  };
}
