import {
  JOB_HISTORY_MAX,
  type JobQuery,
  type JobStats,
  type JobStatsQuery,
  type JobView,
  type ScanQuery,
  type ScanView,
} from '@tonypi/contracts';
import type { z } from 'zod';
import { notFound, robotNotFound } from '../errors';
import type { RobotRegistry } from '../robots/robot-registry';
import { type JobRow, type JobsRepository, toJobView } from './jobs.repository';

/** A stats range when the query names none: the last 7 days. */
const STATS_DEFAULT_RANGE_MS = 7 * 86_400_000;

export const jobNotFound = (id: number) => notFound('job_not_found', `No job with id ${id}`);

/** The jobs API's reads: lists, one job with its item history, a robot's current job, figures, scans. */
export class JobsService {
  constructor(
    private readonly repo: JobsRepository,
    private readonly registry: Pick<RobotRegistry, 'get'>,
  ) {}

  async list(
    q: z.output<typeof JobQuery>,
  ): Promise<{ items: JobView[]; next_cursor: string | null; total: number }> {
    const { rows, total } = await this.repo.paginate({ ...q, before: readCursor(q.cursor), limit: q.limit });
    const now = Date.now();
    return {
      items: rows.map((r) => toJobView(r, now)),
      next_cursor:
        rows.length === q.limit ? cursorOf(rows.at(-1)!.start_time.getTime(), rows.at(-1)!.id) : null,
      total,
    };
  }

  async get(id: number): Promise<JobView & { history: ScanView[]; history_total: number }> {
    const row = await this.repo.findById(id);
    if (!row) throw jobNotFound(id);
    return this.withHistory(row);
  }

  /** The original's job summary: the robot's active job, else its latest, else `idle`. */
  async current(robot_id: string) {
    const row = await this.repo.findLatestOrActive(robot_id);
    if (row) return this.withHistory(row);
    if (!this.registry.get(robot_id)) throw robotNotFound(robot_id);
    return { robot_id, status: 'idle' as const };
  }

  async stats(q: z.output<typeof JobStatsQuery>): Promise<JobStats> {
    const to = q.to ?? Date.now();
    const from = q.from ?? to - STATS_DEFAULT_RANGE_MS;
    const rows = await this.repo.figures(from, to, q.robot_id);
    const fleetRow = rows.find((r) => r.robot_id === null);
    const { robot_id: _fleet, ...fleet } = fleetRow ?? emptyFleet();
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      fleet,
      robots: rows.filter((r) => r.robot_id !== null).map((r) => ({ ...r, robot_id: r.robot_id! })),
    };
  }

  async scans(
    q: z.output<typeof ScanQuery>,
  ): Promise<{ items: ScanView[]; next_cursor: string | null; total: number }> {
    const { rows, total } = await this.repo.paginateScans({
      ...q,
      before: readCursor(q.cursor),
      limit: q.limit,
    });
    const last = rows.at(-1);
    return {
      items: rows,
      next_cursor: last && rows.length === q.limit ? cursorOf(Date.parse(last.scanned_at), last.id) : null,
      total,
    };
  }

  private async withHistory(row: JobRow) {
    const { rows, total } = await this.repo.scansOf(row.id, JOB_HISTORY_MAX);
    return { ...toJobView(row), history: rows, history_total: total };
  }
}

function cursorOf(ms: number, id: number): string {
  return `${ms}:${id}`;
}

function readCursor(cursor: string | undefined): { ms: number; id: number } | undefined {
  if (cursor === undefined) return undefined;
  const [ms, id] = cursor.split(':').map(Number);
  return { ms: ms!, id: id! };
}

function emptyFleet() {
  return {
    robot_id: null,
    total: 0,
    active: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    success_rate: null,
    avg_duration_s: null,
    median_duration_s: null,
    items_done: 0,
    items_per_hour: null,
  };
}
