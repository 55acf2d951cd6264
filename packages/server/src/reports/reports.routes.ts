import {
  CreateReportRequest,
  ErrorBody,
  ReportAccepted,
  ReportAiStatus,
  ReportDocument,
  ReportIdParams,
  ReportList,
  ReportListQuery,
  ReportView,
  ReportWithDocument,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import type { ReportRow } from './reports.repository';
import type { ReportsService } from './reports.service';

export const reportFileName = (row: ReportRow, ext: string) =>
  `report-${row.id}-${row.report_type}-${row.to_at.toISOString().slice(0, 10)}.${ext}`;

const NOT_READY = ErrorBody.describe(
  '`report_not_ready`: queued, running, failed or cancelled (the message says which)',
);

export function reportsRoutes(reports: ReportsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/reports',
      {
        config: { permission: 'reports:manage' },
        schema: {
          tags: ['reports'],
          summary: 'Asks for a report: generated in the background (202), progress on the live stream',
          description:
            'Kinds: fleet_summary, performance, battery, servo_maintenance, jobs, alerts, and custom with its ' +
            '`sections`. Scope: `robot_id`, `tag`, or neither for the fleet. Period: `from` (and `to`, default now) ' +
            'as ISO-8601, epoch ms or a duration back from now (`7d`), at most 366 days. The report goes ' +
            '`queued → running → completed | failed | cancelled`; subscribe to the live `report` channel for its ' +
            'progress, or poll GET /reports/{id}. Unknown robot 404; a tag no robot carries 400. Audited as `report.create`.',
          body: CreateReportRequest,
          response: { 202: ReportAccepted, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) => reply.status(202).send(await reports.create(req.body, requestAuditor(req))),
    );

    app.get(
      '/reports',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['reports'],
          summary: 'Reports, newest first: filter by kind, status and robot',
          querystring: ReportListQuery,
          response: { 200: ReportList, 400: ErrorBody },
        },
      },
      async (req) => reports.list(req.query),
    );

    app.get(
      '/reports/ai-status',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['reports'],
          summary: 'Which AI provider writes report insights, and whether its last call worked',
          description:
            'Gemini (GEMINI_API_KEY) or an OpenAI-compatible endpoint (LLM_BASE_URL), or none. Nothing is called to ' +
            'find out: `last_call` is the last report’s call since the server started, null before any.',
          response: { 200: ReportAiStatus },
        },
      },
      async () => reports.aiStatus() as z.infer<typeof ReportAiStatus>,
    );

    app.get(
      '/reports/:report_id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['reports'],
          summary: 'A report: its status and progress, and once completed its document',
          params: ReportIdParams,
          response: { 200: ReportWithDocument, 404: ErrorBody },
        },
      },
      async (req) => reports.get(req.params.report_id),
    );

    app.post(
      '/reports/:report_id/cancel',
      {
        config: { permission: 'reports:manage' },
        schema: {
          tags: ['reports'],
          summary: 'Cancels a queued or running report (409 once it has finished)',
          params: ReportIdParams,
          response: { 200: ReportView, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => reports.cancel(req.params.report_id, requestAuditor(req)),
    );

    app.delete(
      '/reports/:report_id',
      {
        config: { permission: 'reports:manage' },
        schema: {
          tags: ['reports'],
          summary: 'Deletes a report (a running one is cancelled first). Audited as `report.delete`',
          params: ReportIdParams,
          response: { 204: z.null(), 404: ErrorBody },
        },
      },
      async (req, reply) => {
        await reports.remove(req.params.report_id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/reports/:report_id/pdf',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['reports'],
          summary: 'A completed report as a PDF (A4, rendered on the server)',
          params: ReportIdParams,
          produces: ['application/pdf'],
          response: { 200: z.any().describe('The PDF file'), 404: ErrorBody, 409: NOT_READY },
        },
      },
      async (req, reply) => {
        const { row, pdf } = await reports.pdf(req.params.report_id);
        return reply
          .header('content-type', 'application/pdf')
          .header('content-disposition', `attachment; filename="${reportFileName(row, 'pdf')}"`)
          .send(pdf);
      },
    );

    app.get(
      '/reports/:report_id/data',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['reports'],
          summary: 'The figures behind a completed report: every table as CSV, or the whole document as JSON',
          params: ReportIdParams,
          querystring: z.object({ format: z.enum(['csv', 'json']).default('json') }),
          produces: ['application/json', 'text/csv'],
          response: { 200: ReportDocument.or(z.string()), 404: ErrorBody, 409: NOT_READY },
        },
      },
      async (req, reply) => {
        if (req.query.format === 'csv') {
          const { row, csv } = await reports.csv(req.params.report_id);
          return reply
            .header('content-type', 'text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="${reportFileName(row, 'csv')}"`)
            .send(csv);
        }
        const { row, doc } = await reports.document(req.params.report_id);
        return reply
          .header('content-disposition', `attachment; filename="${reportFileName(row, 'json')}"`)
          .send(doc);
      },
    );
  };
}
