import {
  type CreateReportScheduleRequest,
  KIND_SECTIONS,
  type ReportLiveEvent,
  type ReportSchedule,
  type ReportSectionKey,
  type UpdateReportScheduleRequest,
} from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { Database } from '../db/database';
import { ApiError, notFound, validationError } from '../errors';
import type { Logger } from '../logger';
import type { ReportNotice } from '../notifications/notifier';
import type { ReportGatherer } from './report-gatherer';
import type { ReportSchedulesRepository, ScheduleFields, ScheduleRow } from './report-schedules.repository';
import { ReportsRepository } from './reports.repository';
import {
  describeTiming,
  nextRun,
  parseTimeOfDay,
  periodFor,
  periodLabel,
  serverTimeZone,
  timeOfDay,
} from './schedule-periods';

type Auditor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

/** Schedules a server looks at per tick at most (the rest on the next one). */
const DUE_BATCH = 20;
/** The summary sentences a notification carries. */
const NOTICE_SUMMARY = 5;

export interface ReportSchedulesServiceOptions {
  db: Database;
  repo: ReportSchedulesRepository;
  reports: ReportsRepository;
  gatherer: Pick<ReportGatherer, 'robotsInScope'>;
  audit: AuditTrail;
  publish: (e: ReportLiveEvent) => void;
  /** Wakes the report runner (a run was queued). */
  poke: () => void;
  /** Whether a notification channel exists (the notifier's channels, in memory). */
  channelExists: (id: number) => boolean;
  /** Sends a finished or failed run to its schedule's channels. */
  notify: (channel_ids: readonly number[], notice: ReportNotice) => { queued: number; unknown: number[] };
  /** A completed report's PDF for the email. */
  pdf: (report_id: number) => Promise<{ fileName: string; content: Buffer }>;
  logger: Logger;
  now?: () => number;
  /** How often due schedules are looked for (default 30 s). */
  tickMs?: number;
}

/**
 * Report schedules: created, changed and deleted through the API (audited), and run by whichever server instance
 * sees one due first — the run's `next_run_at` update and its report's insert are one transaction, conditional on
 * the value read, and the reports table holds one report per schedule and period — so each period is reported
 * once however many instances there are. After downtime the missed runs are not all made: one run, for the latest
 * complete period. Each run's report is a report like any other; when it ends, its schedule's channels get it.
 */
export class ReportSchedulesService {
  readonly counters = { runs: 0, run_errors: 0, notified: 0, notify_errors: 0 };
  private readonly now: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private ticking: Promise<void> | undefined;
  private readonly timeZone = serverTimeZone();

  constructor(private readonly opts: ReportSchedulesServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? 30_000);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  async list(): Promise<{ items: ReportSchedule[]; total: number }> {
    const rows = await this.opts.repo.list();
    return { items: rows.map((r) => this.view(r)), total: rows.length };
  }

  async get(id: number): Promise<ReportSchedule> {
    return this.view(await this.require(id));
  }

  async create(body: CreateReportScheduleRequest, auditor: Auditor): Promise<ReportSchedule> {
    const fields = await this.checked({
      name: body.name,
      report_type: body.kind,
      robot_id: body.robot_id ?? null,
      tag: body.tag ?? null,
      sections: body.kind === 'custom' ? (body.sections ?? []) : [...KIND_SECTIONS[body.kind]],
      want_ai: body.ai ?? false,
      frequency: body.frequency,
      at_minute: parseTimeOfDay(body.time ?? '06:00'),
      weekday: body.weekday ?? 1,
      day_of_month: body.day_of_month ?? 1,
      channel_ids: [...new Set(body.channel_ids ?? [])],
      enabled: body.enabled ?? true,
    });
    const id = await this.opts.repo.insert({
      ...fields,
      next_run_at: fields.enabled ? nextRun(fields, this.now()) : null,
      created_by: auditor.actor.name ?? null,
    });
    await this.audit(auditor, 'report_schedule.create', id, {
      name: fields.name,
      frequency: fields.frequency,
    });
    return this.get(id);
  }

  async update(id: number, body: UpdateReportScheduleRequest, auditor: Auditor): Promise<ReportSchedule> {
    const row = await this.require(id);
    const kind = body.kind ?? row.report_type;
    if (kind === 'custom' && body.kind === 'custom' && !body.sections && row.report_type !== 'custom') {
      throw validationError([{ field: 'body.sections', message: 'a custom report names its sections' }]);
    }
    if (body.sections && kind !== 'custom') {
      throw validationError([{ field: 'body.sections', message: `a ${kind} report has its own sections` }]);
    }
    // Naming one of robot_id and tag clears the other.
    const robot_id = body.robot_id !== undefined ? body.robot_id : body.tag ? null : row.robot_id;
    const tag = body.tag !== undefined ? body.tag : body.robot_id ? null : row.tag;
    const fields = await this.checked({
      name: body.name ?? row.name,
      report_type: kind,
      robot_id,
      tag,
      sections: kind === 'custom' ? (body.sections ?? row.sections) : [...KIND_SECTIONS[kind]],
      want_ai: body.ai ?? row.want_ai,
      frequency: body.frequency ?? row.frequency,
      at_minute: body.time !== undefined ? parseTimeOfDay(body.time) : row.at_minute,
      weekday: body.weekday ?? row.weekday,
      day_of_month: body.day_of_month ?? row.day_of_month,
      channel_ids: body.channel_ids ? [...new Set(body.channel_ids)] : row.channel_ids,
      enabled: body.enabled ?? row.enabled,
    });
    // The timing or the switch changed: the next run is computed again from now; otherwise it stays.
    const retimed =
      fields.frequency !== row.frequency ||
      fields.at_minute !== row.at_minute ||
      fields.weekday !== row.weekday ||
      fields.day_of_month !== row.day_of_month ||
      fields.enabled !== row.enabled;
    const next = !fields.enabled
      ? null
      : retimed || !row.next_run_at
        ? nextRun(fields, this.now())
        : row.next_run_at.getTime();
    await this.opts.repo.update(id, { ...fields, next_run_at: next });
    await this.audit(auditor, 'report_schedule.update', id, { fields: Object.keys(body) });
    return this.get(id);
  }

  async remove(id: number, auditor: Auditor): Promise<void> {
    const row = await this.opts.repo.remove(id);
    if (!row) throw scheduleNotFound(id);
    await this.audit(auditor, 'report_schedule.delete', id, { name: row.name });
  }

  /**
   * Makes the schedule's report for the latest complete period now (whether or not the schedule is enabled);
   * 409 when that period has its report already.
   */
  async runNow(id: number, auditor: Auditor): Promise<{ report_id: number; status: 'queued' }> {
    const row = await this.require(id);
    const now = this.now();
    const period = periodFor(row.frequency, now);
    const report = await this.opts.db.transaction(async (tx) => {
      const inserted = await this.insertRun(tx, row, period);
      if (inserted) await this.opts.repo.setLastReport(tx, row.id, inserted, now);
      return inserted;
    });
    if (report === undefined) {
      const existing = await this.opts.repo.reportOfPeriod(id, period.from);
      throw new ApiError(
        409,
        'already_reported',
        `Schedule ${id} has its report of ${periodLabel(row.frequency, period)} already` +
          (existing ? ` (report ${existing}): delete that report to make it again` : ''),
        existing ? { report_id: existing } : undefined,
      );
    }
    await this.audit(auditor, 'report_schedule.run', id, { report_id: report });
    this.queued(report);
    return { report_id: report, status: 'queued' };
  }

  /** Runs every due schedule once (the timer's work; tests call it with their own clock). */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runDue().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** The live `report.changed` subscriber: a scheduled report that ended goes to its schedule's channels. */
  readonly onReportChanged = (e: ReportLiveEvent): void => {
    if (e.status !== 'completed' && e.status !== 'failed') return;
    void this.deliver(e.report_id).catch((err) => {
      this.counters.notify_errors++;
      this.opts.logger.error({ err, report_id: e.report_id }, 'report schedules: notification not sent');
    });
  };

  private async runDue(): Promise<void> {
    const now = this.now();
    let due: ScheduleRow[];
    try {
      due = await this.opts.repo.due(now, DUE_BATCH);
    } catch (err) {
      this.counters.run_errors++;
      this.opts.logger.error({ err }, 'report schedules: could not read the due schedules');
      return;
    }
    for (const row of due) {
      try {
        const report = await this.opts.db.transaction(async (tx) => {
          const seen = row.next_run_at as Date;
          if (!(await this.opts.repo.advance(tx, row.id, seen, nextRun(row, now), now))) return undefined;
          // The period of the latest run that was due: after downtime, the latest complete one only.
          const inserted = await this.insertRun(tx, row, periodFor(row.frequency, now));
          if (inserted) await this.opts.repo.setLastReport(tx, row.id, inserted, now);
          return inserted;
        });
        if (report !== undefined) {
          this.counters.runs++;
          this.opts.logger.info({ schedule_id: row.id, report_id: report }, 'report schedules: run queued');
          this.queued(report);
        }
      } catch (err) {
        this.counters.run_errors++;
        this.opts.logger.error({ err, schedule_id: row.id }, 'report schedules: run failed, tried again');
      }
    }
  }

  private insertRun(
    tx: Parameters<Parameters<Database['transaction']>[0]>[0],
    row: ScheduleRow,
    period: { from: number; to: number },
  ): Promise<number | undefined> {
    return ReportsRepository.insertInto(tx, {
      title: `${row.name}: ${periodLabel(row.frequency, period)}`.slice(0, 200),
      kind: row.report_type,
      robot_id: row.robot_id,
      tag: row.tag,
      from: period.from,
      to: period.to,
      sections: row.sections,
      want_ai: row.want_ai,
      created_by: `schedule: ${row.name}`.slice(0, 100),
      schedule_id: row.id,
    }).then((r) => r?.id);
  }

  private queued(report_id: number): void {
    this.opts.publish({ report_id, status: 'queued', progress: 0, error: null });
    this.opts.poke();
  }

  private async deliver(report_id: number): Promise<void> {
    const report = await this.opts.reports.get(report_id);
    if (!report?.schedule_id) return;
    const schedule = await this.opts.repo.get(report.schedule_id);
    if (!schedule || schedule.channel_ids.length === 0) return;
    if (report.status !== 'completed' && report.status !== 'failed') return;
    const doc = report.status === 'completed' ? await this.opts.reports.document(report_id) : null;
    const notice: ReportNotice = {
      report_id,
      schedule_id: schedule.id,
      schedule_name: schedule.name,
      title: report.title,
      kind: report.report_type,
      status: report.status,
      from: report.from_at.toISOString(),
      to: report.to_at.toISOString(),
      summary: (doc?.summary ?? []).slice(0, NOTICE_SUMMARY).map((s) => s.text),
      error: report.error,
      ...(doc ? { pdf: await this.opts.pdf(report_id) } : {}),
    };
    const { queued, unknown } = this.opts.notify(schedule.channel_ids, notice);
    this.counters.notified += queued;
    if (unknown.length > 0) {
      this.opts.logger.warn(
        { schedule_id: schedule.id, channel_ids: unknown },
        'report schedules: channels no longer exist; the report was not sent to them',
      );
    }
  }

  /** The fields, checked against what exists: the robot, the tag, the channels. */
  private async checked(f: ScheduleFields): Promise<ScheduleFields> {
    const problems: Array<{ field: string; message: string }> = [];
    if (f.report_type === 'custom' && f.sections.length === 0)
      problems.push({ field: 'body.sections', message: 'a custom report names its sections' });
    if (f.robot_id || f.tag) {
      const robots = await this.opts.gatherer.robotsInScope({ robot_id: f.robot_id, tag: f.tag });
      if (robots.length === 0) {
        if (f.robot_id) throw new ApiError(404, 'robot_not_found', `No robot ${f.robot_id}`);
        problems.push({ field: 'body.tag', message: `no robot carries the tag "${f.tag}"` });
      }
    }
    const unknown = f.channel_ids.filter((id) => !this.opts.channelExists(id));
    if (unknown.length > 0)
      problems.push({ field: 'body.channel_ids', message: `no notification channel ${unknown.join(', ')}` });
    if (problems.length > 0) throw validationError(problems);
    return { ...f, sections: [...new Set(f.sections)] as ReportSectionKey[] };
  }

  private async require(id: number): Promise<ScheduleRow> {
    const row = await this.opts.repo.get(id);
    if (!row) throw scheduleNotFound(id);
    return row;
  }

  private view(r: ScheduleRow): ReportSchedule {
    return {
      id: r.id,
      name: r.name,
      kind: r.report_type,
      robot_id: r.robot_id,
      tag: r.tag,
      sections: r.sections,
      ai: r.want_ai,
      frequency: r.frequency,
      time: timeOfDay(r.at_minute),
      weekday: r.weekday,
      day_of_month: r.day_of_month,
      channel_ids: r.channel_ids,
      enabled: r.enabled,
      time_zone: this.timeZone,
      description: describeTiming(r, this.timeZone),
      next_run_at: r.next_run_at?.toISOString() ?? null,
      last_run_at: r.last_run_at?.toISOString() ?? null,
      last_report_id: r.last_report_id,
      last_status: r.last_status,
      created_by: r.created_by,
      created_at: r.created_at.toISOString(),
      updated_at: r.updated_at.toISOString(),
    };
  }

  private audit(auditor: Auditor, action: string, id: number, details: Record<string, unknown>) {
    return this.opts.audit.record({
      ...auditor,
      action,
      target: { type: 'report_schedule', id: String(id) },
      outcome: 'success',
      details,
    });
  }
}

const scheduleNotFound = (id: number) =>
  notFound('report_schedule_not_found', `No report schedule with id ${id}`);
