import {
  AlertListQuery,
  AlertRuleListQuery,
  JobQuery,
  type MeasurementName,
  REPORT_SNAPSHOTS_MAX,
  type ReportKind,
  type ReportSectionKey,
  type ReportSnapshot,
} from '@tonypi/contracts';
import type { AlertRulesService } from '../alerts/alert-rules.service';
import type { AlertsApiService } from '../alerts-api/alerts-api.service';
import type { JobsService } from '../jobs/jobs.service';
import type { RobotsRepository } from '../robots/robots.repository';
import type { TelemetryStore } from '../telemetry/telemetry-store';
import type {
  ReportAlertInput,
  ReportInput,
  ReportJobInput,
  ReportLevel,
  ReportRobot,
  ReportSeriesInput,
} from './report-input';

/** Which stored measurements each section reads. */
const SECTION_MEASUREMENTS: Readonly<Record<ReportSectionKey, readonly MeasurementName[]>> = {
  availability: ['system'],
  performance: ['system'],
  battery: ['battery'],
  servos: ['servos'],
  jobs: [],
  alerts: [],
  anomalies: ['system', 'battery', 'servos'],
};

/** At most this many buckets per series: minute roll-ups for a week, coarser beyond. */
const MAX_BUCKETS = 10_080;
/**
 * At most about this many buckets in one report, over all its series (a robot has about 45: 5 system fields,
 * 4 battery, 6 servos × 6): a week of minute roll-ups for 4 robots, or half-hour buckets for 100. Beyond, the
 * buckets grow, so a fleet report's memory and time stay bounded; the charts and tables say which bucket.
 */
const REPORT_BUCKETS = 2_000_000;
const SERIES_PER_ROBOT = 45;
/** Robots read at once (the telemetry store's readers: QUERY_READERS, 2 by default). */
const READ_CONCURRENCY = 2;
/** At most this many robots in one report, and alerts and jobs read for it. */
export const REPORT_MAX_ROBOTS = 500;
const MAX_ROWS = 20_000;

export interface GatherRequest {
  kind: ReportKind;
  sections: readonly ReportSectionKey[];
  title: string;
  robot_id: string | null;
  tag: string | null;
  from: number;
  to: number;
}

export interface ReportGathererOptions {
  robots: RobotsRepository;
  store: TelemetryStore;
  alerts: AlertsApiService;
  jobs: JobsService;
  rules: AlertRulesService;
  /** The camera snapshots of these robots in [from, to) a report shows, at most `limit`. */
  snapshots?: (
    robot_ids: readonly string[],
    from: number,
    to: number,
    limit: number,
  ) => Promise<ReportSnapshot[]>;
  now?: () => number;
}

/**
 * Reads what a report is computed from through the other domains' services and the telemetry store:
 * the robots in scope, each one's roll-ups of the measurements its sections need, the alerts and jobs of the
 * period, the alert rules' levels. `onProgress` gets 0…1 as robots are read; `signal` stops it between reads.
 */
export class ReportGatherer {
  constructor(private readonly opts: ReportGathererOptions) {}

  async robotsInScope(scope: { robot_id: string | null; tag: string | null }): Promise<ReportRobot[]> {
    const toRobot = (r: {
      robot_id: string;
      name: string | null;
      first_seen: Date | null;
      created_at: Date;
    }) => ({
      robot_id: r.robot_id,
      name: r.name,
      first_seen: (r.first_seen ?? r.created_at)?.getTime() ?? null,
    });
    if (scope.robot_id) {
      const row = await this.opts.robots.findByRobotId(scope.robot_id);
      return row ? [toRobot(row)] : [];
    }
    const { items } = await this.opts.robots.list({
      ...(scope.tag ? { tag: scope.tag } : {}),
      deleted: false,
      limit: REPORT_MAX_ROBOTS,
    });
    return items.map(toRobot);
  }

  async gather(
    req: GatherRequest,
    onProgress: (share: number) => Promise<void> | void,
    signal: AbortSignal,
  ): Promise<ReportInput> {
    const robots = await this.robotsInScope(req);
    const ids = new Set(robots.map((r) => r.robot_id));
    const measurements = [...new Set(req.sections.flatMap((s) => SECTION_MEASUREMENTS[s]))];
    const span = req.to - req.from;
    const budget = Math.floor(REPORT_BUCKETS / Math.max(1, robots.length * SERIES_PER_ROBOT));
    const points = Math.max(24, Math.min(MAX_BUCKETS, budget, Math.round(span / 60_000)));
    const series: ReportSeriesInput[] = [];
    let done = 0;
    let next = 0;
    const readRobot = async (robot: ReportRobot) => {
      for (const measurement of measurements) {
        const result = await this.opts.store.range({
          robot_id: robot.robot_id,
          measurement,
          fields: [],
          from: req.from,
          to: req.to,
          points,
        });
        for (const s of result.series) {
          series.push({
            robot_id: robot.robot_id,
            measurement,
            field: s.field,
            tags: s.tags,
            bucket_ms: result.bucket_ms,
            buckets: s.buckets.map((b) => ({ t: b.t, avg: b.avg, min: b.min, max: b.max, count: b.count })),
          });
        }
      }
      done++;
      await onProgress(done / Math.max(1, robots.length));
    };
    const bulk = this.opts.store.rollups?.bind(this.opts.store);
    if (bulk) {
      // The roll-ups of many robots in one scan per measurement (a fleet report reads 3 scans, not 300 ranges).
      let bucket_ms = Math.max(60_000, Math.ceil(span / points / 60_000) * 60_000);
      // Past 20 minutes, whole hours: the hour roll-ups are sixty times fewer rows to scan.
      if (bucket_ms > 20 * 60_000) bucket_ms = Math.ceil(bucket_ms / 3_600_000) * 3_600_000;
      const chunks: string[][] = [];
      for (let i = 0; i < robots.length; i += 100)
        chunks.push(robots.slice(i, i + 100).map((r) => r.robot_id));
      const steps = Math.max(1, measurements.length * chunks.length);
      let step = 0;
      for (const measurement of measurements) {
        for (const robot_ids of chunks) {
          signal.throwIfAborted();
          for (const s of await bulk({ measurement, robot_ids, from: req.from, to: req.to, bucket_ms })) {
            series.push({
              robot_id: s.robot_id,
              measurement,
              field: s.field,
              tags: s.tags,
              bucket_ms: s.bucket_ms,
              buckets: s.buckets,
            });
          }
          await onProgress(++step / steps);
        }
      }
      next = robots.length;
    }
    // Otherwise a few robots at a time, in order of the list; the series are sorted back below.
    await Promise.all(
      Array.from({ length: Math.min(READ_CONCURRENCY, robots.length) }, async () => {
        while (next < robots.length) {
          signal.throwIfAborted();
          const robot = robots[next++] as ReportRobot;
          await readRobot(robot);
        }
      }),
    );
    signal.throwIfAborted();
    const order = new Map(robots.map((r, i) => [r.robot_id, i]));
    series.sort((a, b) => (order.get(a.robot_id) ?? 0) - (order.get(b.robot_id) ?? 0));
    const wants = (s: ReportSectionKey) => req.sections.includes(s);
    const alerts =
      wants('alerts') || wants('availability') || req.kind === 'fleet_summary'
        ? await this.alerts(req, ids)
        : [];
    const jobs = wants('jobs') ? await this.jobs(req, ids) : [];
    const snapshots = this.opts.snapshots
      ? await this.opts.snapshots([...ids], req.from, req.to, REPORT_SNAPSHOTS_MAX)
      : [];
    return {
      kind: req.kind,
      sections: req.sections,
      title: req.title,
      scope: { robot_id: req.robot_id, tag: req.tag },
      from: req.from,
      to: req.to,
      generated_at: (this.opts.now ?? Date.now)(),
      robots,
      series,
      alerts,
      jobs,
      snapshots,
      levels: await this.levels(),
    };
  }

  private async alerts(req: GatherRequest, ids: ReadonlySet<string>): Promise<ReportAlertInput[]> {
    const out: ReportAlertInput[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.opts.alerts.list(
        AlertListQuery.parse({
          from: String(req.from),
          to: String(req.to),
          limit: 500,
          ...(req.robot_id ? { robot_id: req.robot_id } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const a of page.items) {
        if (a.robot_id !== null && !ids.has(a.robot_id)) continue;
        out.push({
          id: a.id,
          robot_id: a.robot_id,
          alert_type: a.alert_type,
          severity: a.severity,
          title: a.title,
          source: a.source,
          created_at: Date.parse(a.created_at),
          resolved_at: a.resolved_at ? Date.parse(a.resolved_at) : null,
        });
      }
      cursor = page.next_cursor ?? undefined;
    } while (cursor && out.length < MAX_ROWS);
    return out;
  }

  private async jobs(req: GatherRequest, ids: ReadonlySet<string>): Promise<ReportJobInput[]> {
    const out: ReportJobInput[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.opts.jobs.list(
        JobQuery.parse({
          from: String(req.from),
          to: String(req.to),
          limit: 500,
          ...(req.robot_id ? { robot_id: req.robot_id } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const j of page.items) {
        if (!ids.has(j.robot_id)) continue;
        out.push({
          id: j.id,
          robot_id: j.robot_id,
          task_name: j.task_name,
          status: j.status,
          success: j.success,
          items_done: j.items_done,
          start_time: Date.parse(j.start_time),
          end_time: j.end_time ? Date.parse(j.end_time) : null,
        });
      }
      cursor = page.next_cursor ?? undefined;
    } while (cursor && out.length < MAX_ROWS);
    return out;
  }

  private async levels(): Promise<ReportLevel[]> {
    const { items } = await this.opts.rules.list(AlertRuleListQuery.parse({}));
    return items
      .filter((r) => r.enabled && r.robot_id === null)
      .map((r) => ({
        measurement: r.measurement,
        field: r.field,
        direction: r.direction,
        warning: r.warning_level,
        critical: r.critical_level,
        tags: Object.keys(r.tag_filter ?? {}).length > 0 ? r.tag_filter : null,
      }));
  }
}
