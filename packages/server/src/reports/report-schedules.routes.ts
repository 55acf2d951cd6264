import {
  CreateReportScheduleRequest,
  ErrorBody,
  ReportAccepted,
  ReportSchedule,
  ReportScheduleIdParams,
  ReportScheduleList,
  UpdateReportScheduleRequest,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import type { ReportSchedulesService } from './report-schedules.service';

export function reportSchedulesRoutes(schedules: ReportSchedulesService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/report-schedules',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['reports'],
          summary: 'Report schedules, by name: when each runs next, and how its last run went',
          response: { 200: ReportScheduleList },
        },
      },
      async () => schedules.list(),
    );

    app.post(
      '/report-schedules',
      {
        config: { permission: 'reports:manage' },
        schema: {
          tags: ['reports'],
          summary: 'Schedules a report: daily, weekly or monthly, for the calendar period that just ended',
          description:
            "`time` (HH:MM, default 06:00) is in the server's time zone (`TZ`); weekly runs on `weekday` (0 = " +
            'Sunday, default 1 = Monday) and covers Monday to Monday; monthly runs on `day_of_month` (1–28, ' +
            'default 1) and covers the month before. Scope and kind as POST /reports. Each run is a report ' +
            '(`GET /reports?schedule_id=`); `channel_ids` get it when it ends (email: the PDF attached). One ' +
            'run per period however many server instances run. Unknown robot 404; a tag no robot carries, an ' +
            'unknown channel 400. Audited as `report_schedule.create`.',
          body: CreateReportScheduleRequest,
          response: { 201: ReportSchedule, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) => reply.status(201).send(await schedules.create(req.body, requestAuditor(req))),
    );

    app.get(
      '/report-schedules/:schedule_id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['reports'],
          summary: 'A report schedule',
          params: ReportScheduleIdParams,
          response: { 200: ReportSchedule, 404: ErrorBody },
        },
      },
      async (req) => schedules.get(req.params.schedule_id),
    );

    app.patch(
      '/report-schedules/:schedule_id',
      {
        config: { permission: 'reports:manage' },
        schema: {
          tags: ['reports'],
          summary: 'Changes a report schedule (only the fields given)',
          description:
            'A changed timing, or enabling it, computes the next run again from now; `enabled: false` stops ' +
            'it. Naming a `robot_id` clears the tag and the other way round. Audited as `report_schedule.update`.',
          params: ReportScheduleIdParams,
          body: UpdateReportScheduleRequest,
          response: { 200: ReportSchedule, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => schedules.update(req.params.schedule_id, req.body, requestAuditor(req)),
    );

    app.delete(
      '/report-schedules/:schedule_id',
      {
        config: { permission: 'reports:manage' },
        schema: {
          tags: ['reports'],
          summary: 'Deletes a report schedule; the reports it made stay (their schedule_id becomes null)',
          params: ReportScheduleIdParams,
          response: { 204: z.null(), 404: ErrorBody },
        },
      },
      async (req, reply) => {
        await schedules.remove(req.params.schedule_id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/report-schedules/:schedule_id/run',
      {
        config: { permission: 'reports:manage' },
        schema: {
          tags: ['reports'],
          summary: "Makes the schedule's report of the latest complete period now (202)",
          description:
            '409 `already_reported` when that period has its report (details.report_id): delete it to make it ' +
            'again. Audited as `report_schedule.run`.',
          params: ReportScheduleIdParams,
          response: { 202: ReportAccepted, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) =>
        reply.status(202).send(await schedules.runNow(req.params.schedule_id, requestAuditor(req))),
    );
  };
}
