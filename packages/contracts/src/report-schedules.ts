import { z } from 'zod';
import { REPORT_KINDS, REPORT_SECTIONS } from './reports';

/**
 * Report schedules (issue #10 §5): a report of one scope made every day, week or month, at a time of day in the
 * server's time zone, for the calendar period that just ended; one run per period however many server
 * instances share the database; each run's report kept like any other (`GET /reports?schedule_id=`) and,
 * optionally, sent through notification channels (an email gets the PDF attached, a webhook a link).
 */
const Iso = z.string().describe('ISO-8601 UTC');

export const SCHEDULE_FREQUENCIES = ['daily', 'weekly', 'monthly'] as const;
export type ScheduleFrequency = (typeof SCHEDULE_FREQUENCIES)[number];

/** Channels one schedule may send its reports to. */
export const SCHEDULE_CHANNELS_MAX = 10;

const TimeOfDay = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM (24 h), e.g. 06:00')
  .describe("The time of day it runs, HH:MM in the server's time zone");

const scheduleFields = {
  name: z.string().trim().min(1).max(100),
  kind: z.enum(REPORT_KINDS),
  robot_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .nullable()
    .optional()
    .describe('One robot; leave out robot_id and tag for the whole fleet'),
  tag: z.string().min(1).max(50).nullable().optional().describe('The robots with this tag'),
  sections: z.array(z.enum(REPORT_SECTIONS)).min(1).max(REPORT_SECTIONS.length).nullable().optional(),
  ai: z.boolean().optional().describe('Add AI insights when a provider is configured'),
  frequency: z.enum(SCHEDULE_FREQUENCIES),
  time: TimeOfDay.optional(),
  weekday: z
    .number()
    .int()
    .min(0)
    .max(6)
    .optional()
    .describe('weekly: the day it runs, 0 = Sunday … 6 = Saturday (default 1, Monday)'),
  day_of_month: z
    .number()
    .int()
    .min(1)
    .max(28)
    .optional()
    .describe('monthly: the day it runs, 1–28 (every month has it; default 1)'),
  channel_ids: z
    .array(z.number().int().positive())
    .max(SCHEDULE_CHANNELS_MAX)
    .optional()
    .describe('Notification channels each finished (or failed) run is sent to'),
  enabled: z.boolean().optional(),
};

type Refinable = {
  kind?: (typeof REPORT_KINDS)[number] | undefined;
  robot_id?: string | null | undefined;
  tag?: string | null | undefined;
  sections?: readonly string[] | null | undefined;
};

function refineScope(r: Refinable, ctx: z.RefinementCtx, creating: boolean): void {
  if (r.robot_id && r.tag)
    ctx.addIssue({ code: 'custom', path: ['tag'], message: 'name a robot_id or a tag, not both' });
  if (creating && r.kind === 'custom' && !r.sections)
    ctx.addIssue({ code: 'custom', path: ['sections'], message: 'a custom report names its sections' });
  if (r.kind !== undefined && r.kind !== 'custom' && r.sections)
    ctx.addIssue({ code: 'custom', path: ['sections'], message: `a ${r.kind} report has its own sections` });
}

export const CreateReportScheduleRequest = z
  .object(scheduleFields)
  .strict()
  .superRefine((r, ctx) => refineScope(r, ctx, true));
export type CreateReportScheduleRequest = z.infer<typeof CreateReportScheduleRequest>;

export const UpdateReportScheduleRequest = z
  .object(scheduleFields)
  .partial()
  .strict()
  .superRefine((r, ctx) => refineScope(r, ctx, false));
export type UpdateReportScheduleRequest = z.infer<typeof UpdateReportScheduleRequest>;

export const ReportSchedule = z
  .object({
    id: z.number().int(),
    name: z.string(),
    kind: z.enum(REPORT_KINDS),
    robot_id: z.string().nullable(),
    tag: z.string().nullable(),
    sections: z.array(z.enum(REPORT_SECTIONS)),
    ai: z.boolean(),
    frequency: z.enum(SCHEDULE_FREQUENCIES),
    time: z.string(),
    weekday: z.number().int(),
    day_of_month: z.number().int(),
    channel_ids: z.array(z.number().int()),
    enabled: z.boolean(),
    time_zone: z.string().describe("The server's time zone, which `time` is in"),
    description: z.string().describe('When it runs and what it covers, in words'),
    next_run_at: Iso.nullable().describe('null while disabled'),
    last_run_at: Iso.nullable(),
    last_report_id: z.number().int().nullable(),
    last_status: z
      .enum(['queued', 'running', 'completed', 'failed', 'cancelled'])
      .nullable()
      .describe("The last run's report status (null before the first run or once it was deleted)"),
    created_by: z.string().nullable(),
    created_at: Iso,
    updated_at: Iso,
  })
  .meta({ id: 'ReportSchedule' });
export type ReportSchedule = z.infer<typeof ReportSchedule>;

export const ReportScheduleList = z.object({ items: z.array(ReportSchedule), total: z.number().int() });

export const ReportScheduleIdParams = z.object({
  schedule_id: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1),
});
