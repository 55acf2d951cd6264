import {
  type CreateReportRequest,
  KIND_SECTIONS,
  REPORT_PERIOD_MAX_MS,
  type ReportDocument,
  type ReportListQuery,
  type ReportLiveEvent,
  type ReportView,
  resolveTime,
} from '@tonypi/contracts';
import type { z } from 'zod';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import { ApiError, notFound, validationError } from '../errors';
import type { AiStatus } from './ai-insights';
import type { ReportGatherer } from './report-gatherer';
import type { ReportRunner } from './report-runner';
import { type ReportRow, type ReportsRepository, toReportView } from './reports.repository';

type Auditor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

export const reportNotFound = (id: number) => notFound('report_not_found', `No report with id ${id}`);

const KIND_TITLES: Record<CreateReportRequest['kind'], string> = {
  fleet_summary: 'Fleet summary',
  performance: 'Robot performance',
  battery: 'Battery health',
  servo_maintenance: 'Servo maintenance',
  jobs: 'Jobs and productivity',
  alerts: 'Alerts and incidents',
  custom: 'Custom report',
};

export interface ReportsServiceOptions {
  repo: ReportsRepository;
  runner: Pick<ReportRunner, 'poke' | 'abort'>;
  gatherer: Pick<ReportGatherer, 'robotsInScope'>;
  audit: AuditTrail;
  publish: ReportRunnerPublish;
  renderPdf: (doc: ReportDocument, images: ReadonlyMap<number, Buffer>) => Promise<Buffer>;
  /** A stored camera snapshot's JPEG for the PDF; undefined once it was deleted. */
  snapshotImage?: (id: number) => Promise<Buffer | undefined>;
  toCsv: (doc: ReportDocument) => string;
  aiStatus?: () => AiStatus;
  now?: () => number;
}

type ReportRunnerPublish = (event: ReportLiveEvent) => void;

/** Reports people ask for: queued here, run by the ReportRunner, read, exported, cancelled, deleted. */
export class ReportsService {
  private readonly now: () => number;

  constructor(private readonly opts: ReportsServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  async create(
    body: CreateReportRequest,
    auditor: Auditor,
  ): Promise<{ report_id: number; status: 'queued' }> {
    const now = this.now();
    const to = body.to === undefined ? now : resolveTime(body.to, now);
    const from = resolveTime(body.from, now);
    const problems: Array<{ field: string; message: string }> = [];
    if (from >= to) problems.push({ field: 'body.from', message: 'must be before `to`' });
    if (to - from > REPORT_PERIOD_MAX_MS)
      problems.push({ field: 'body.from', message: 'a report covers at most 366 days' });
    if (to > now + 60_000) problems.push({ field: 'body.to', message: 'must not be in the future' });
    if (problems.length > 0) throw validationError(problems);
    const scope = { robot_id: body.robot_id ?? null, tag: body.tag ?? null };
    const robots = await this.opts.gatherer.robotsInScope(scope);
    if (scope.robot_id && robots.length === 0) {
      throw new ApiError(404, 'robot_not_found', `No robot ${scope.robot_id}`);
    }
    if (scope.tag && robots.length === 0) {
      throw validationError([{ field: 'body.tag', message: `no robot carries the tag "${scope.tag}"` }]);
    }
    const sections = body.kind === 'custom' ? (body.sections ?? []) : KIND_SECTIONS[body.kind];
    const where = scope.robot_id ?? (scope.tag ? `tag ${scope.tag}` : 'the fleet');
    const row = await this.opts.repo.insert({
      title: body.title ?? `${KIND_TITLES[body.kind]}: ${where}`,
      kind: body.kind,
      robot_id: scope.robot_id,
      tag: scope.tag,
      from,
      to,
      sections: [...new Set(sections)],
      want_ai: body.ai,
      created_by: auditor.actor.name,
    });
    await this.opts.audit.record({
      ...auditor,
      action: 'report.create',
      target: { type: 'report', id: String(row.id) },
      outcome: 'success',
      details: {
        kind: body.kind,
        robot_id: scope.robot_id,
        tag: scope.tag,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
      },
    });
    this.opts.publish({ report_id: row.id, status: 'queued', progress: 0, error: null });
    this.opts.runner.poke();
    return { report_id: row.id, status: 'queued' };
  }

  async list(q: z.output<typeof ReportListQuery>): Promise<{ items: ReportView[]; total: number }> {
    const { rows, total } = await this.opts.repo.list(q);
    return { items: rows.map(toReportView), total };
  }

  async get(id: number): Promise<ReportView & { document: ReportDocument | null }> {
    const row = await this.require(id);
    return {
      ...toReportView(row),
      document: row.status === 'completed' ? await this.opts.repo.document(id) : null,
    };
  }

  async cancel(id: number, auditor: Auditor): Promise<ReportView> {
    const row = await this.require(id);
    const cancelled = await this.opts.repo.cancel(id);
    if (!cancelled) {
      throw new ApiError(
        409,
        'conflict',
        `Report ${id} is ${row.status}: only a queued or running report can be cancelled`,
      );
    }
    this.opts.runner.abort(id);
    await this.opts.audit.record({
      ...auditor,
      action: 'report.cancel',
      target: { type: 'report', id: String(id) },
      outcome: 'success',
    });
    this.opts.publish({ report_id: id, status: 'cancelled', progress: cancelled.progress, error: null });
    return toReportView(cancelled);
  }

  /** Deletes a report (cancelling it first when it still runs). */
  async remove(id: number, auditor: Auditor): Promise<void> {
    const row = await this.require(id);
    if (row.status === 'queued' || row.status === 'running') {
      await this.opts.repo.cancel(id);
      this.opts.runner.abort(id);
    }
    await this.opts.repo.remove(id);
    await this.opts.audit.record({
      ...auditor,
      action: 'report.delete',
      target: { type: 'report', id: String(id) },
      outcome: 'success',
      details: { kind: row.report_type, title: row.title },
    });
  }

  /** The finished document; 409 report_not_ready saying what state the report is in. */
  async document(id: number): Promise<{ row: ReportRow; doc: ReportDocument }> {
    const row = await this.require(id);
    const doc = row.status === 'completed' ? await this.opts.repo.document(id) : null;
    if (!doc) {
      const why =
        row.status === 'failed'
          ? `it failed: ${row.error ?? 'no reason recorded'}`
          : row.status === 'cancelled'
            ? 'it was cancelled'
            : `it is ${row.status} (${Math.round(row.progress * 100)} %): try again when it has completed`;
      throw new ApiError(409, 'report_not_ready', `Report ${id} has no content: ${why}`);
    }
    return { row, doc };
  }

  async pdf(id: number): Promise<{ row: ReportRow; pdf: Buffer }> {
    const { row, doc } = await this.document(id);
    const images = new Map<number, Buffer>();
    const load = this.opts.snapshotImage;
    if (load) {
      for (const snap of doc.snapshots ?? []) {
        const jpeg = await load(snap.id);
        if (jpeg) images.set(snap.id, jpeg);
      }
    }
    return { row, pdf: await this.opts.renderPdf(doc, images) };
  }

  async csv(id: number): Promise<{ row: ReportRow; csv: string }> {
    const { row, doc } = await this.document(id);
    return { row, csv: this.opts.toCsv(doc) };
  }

  /** Which AI provider is configured and how its last call went (none is made to find out). */
  aiStatus(): AiStatus & { configured: boolean } {
    const status = this.opts.aiStatus?.() ?? { provider: null, model: null, last_call: null };
    return { configured: status.provider !== null, ...status };
  }

  private async require(id: number): Promise<ReportRow> {
    const row = await this.opts.repo.get(id);
    if (!row) throw reportNotFound(id);
    return row;
  }
}
