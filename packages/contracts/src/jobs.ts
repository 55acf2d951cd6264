import { z } from 'zod';
import { parseTimeParam } from './api';
import { text } from './payloads';

/**
 * Jobs and scans as the API shows them (issue #7 §2, §4). A job row is made and updated from the robot's
 * `job` messages (both protocols); its item history is the scans counted into it while it was active.
 */
const Iso = z.string().describe('ISO-8601 UTC');

export const JOB_STATES = ['active', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** How a job row was opened: its start message, or first seen in progress or at its end (e.g. after a restart). */
export const JOB_OPENED_BY = ['start', 'progress', 'end'] as const;

/** The cancel reason of a job closed because the robot started another one while it was active. */
export const JOB_SUPERSEDED = 'superseded';

const TIME_FORMATS =
  'ISO-8601 date or date-time (UTC unless it has an offset), epoch milliseconds, or a duration back from now (15m, 6h, 7d)';

/** A point in time as epoch ms (a duration is resolved against the server's clock when parsed). */
export const queryTime = z
  .string()
  .max(40)
  .transform((value, ctx): number => {
    const parsed = parseTimeParam(value);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return 'at' in parsed ? parsed.at : Math.max(0, Date.now() - parsed.ago_ms);
  })
  .describe(TIME_FORMATS);

const robotId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64');
const cursor = z
  .string()
  .regex(/^\d{1,16}:\d{1,16}$/, 'a next_cursor of the previous page')
  .optional()
  .describe('The previous page’s next_cursor');

function rangeCheck(q: { from?: number | undefined; to?: number | undefined }, ctx: z.RefinementCtx): void {
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'to lies before from' });
  }
}

export const JobView = z
  .object({
    id: z.number().int(),
    robot_id: z.string(),
    /** The robot's own job id, when it sends one (canonical `job_id`). */
    job_key: z.string().nullable(),
    task_name: z.string().nullable(),
    phase: z.string().nullable(),
    status: z.enum(JOB_STATES),
    items_done: z.number().int(),
    items_total: z.number().int().nullable(),
    percent_complete: z.number(),
    last_item: z.unknown().nullable(),
    success: z.boolean().nullable(),
    cancel_reason: z
      .string()
      .nullable()
      .describe(
        `Why it was cancelled or failed; "${JOB_SUPERSEDED}" when a newer job of the robot replaced it`,
      ),
    superseded_by: z.number().int().nullable().describe('The job that replaced this one'),
    opened_by: z.enum(JOB_OPENED_BY),
    start_time: Iso,
    end_time: Iso.nullable(),
    duration_s: z.number().nullable().describe('end − start once ended; for an active job, the time so far'),
    estimated_duration_s: z.number().nullable(),
    action_duration_s: z.number().nullable(),
    created_at: Iso,
    updated_at: Iso.nullable(),
  })
  .meta({ id: 'Job' });
export type JobView = z.infer<typeof JobView>;

export const ScanView = z
  .object({
    id: z.number().int(),
    robot_id: z.string(),
    code: z.string(),
    found: z.boolean(),
    item_id: z.number().int().nullable(),
    item_name: z.string().nullable().describe("The item's name now (null if not found or deleted since)"),
    station_name: z.string().nullable(),
    action: z.string().nullable(),
    job_id: z.number().int().nullable().describe('The job it was counted into; null when none was active'),
    scanned_at: Iso,
  })
  .meta({ id: 'Scan' });
export type ScanView = z.infer<typeof ScanView>;

/** At most this many scans come with a job (its item history); the rest are listed by GET /scans?job_id=. */
export const JOB_HISTORY_MAX = 1000;

export const JobDetail = JobView.extend({
  history: z
    .array(ScanView)
    .describe(`The scans counted into the job, oldest first (at most ${JOB_HISTORY_MAX})`),
  history_total: z.number().int(),
}).meta({ id: 'JobDetail' });

export const JobIdParams = z.object({ id: z.coerce.number().int().min(1).max(2_147_483_647) });

export const JobQuery = z
  .object({
    robot_id: robotId.optional(),
    status: z.enum(JOB_STATES).optional(),
    from: queryTime.optional().describe(`Jobs started at or after this time. ${TIME_FORMATS}`),
    to: queryTime.optional().describe(`Jobs started at or before this time. ${TIME_FORMATS}`),
    cursor,
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .superRefine(rangeCheck);

export const JobList = z.object({
  items: z.array(JobView),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next (older) page; null on the last'),
  total: z.number().int().describe('Jobs matching the filters (the cursor aside)'),
});

/** What GET /robots/{id}/jobs/current answers when the robot never had a job. */
export const IdleJob = z.object({ robot_id: z.string(), status: z.literal('idle') });
export const CurrentJob = z.union([JobDetail, IdleJob]);

export const JobStatsQuery = z
  .object({
    robot_id: robotId.optional(),
    from: queryTime
      .optional()
      .describe(`Jobs started at or after this time (default: 7 days ago). ${TIME_FORMATS}`),
    to: queryTime.optional().describe(`Jobs started at or before this time (default: now). ${TIME_FORMATS}`),
  })
  .superRefine(rangeCheck);

export const JobFigures = z.object({
  total: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  success_rate: z
    .number()
    .nullable()
    .describe('Completed successfully ÷ ended (completed + failed + cancelled); null when none ended'),
  avg_duration_s: z.number().nullable().describe('Of the ended jobs'),
  median_duration_s: z.number().nullable(),
  items_done: z.number().int().describe('Items of the ended jobs'),
  items_per_hour: z.number().nullable().describe('Items of the ended jobs ÷ their total duration in hours'),
});
export type JobFigures = z.infer<typeof JobFigures>;

export const JobStats = z.object({
  from: Iso,
  to: Iso,
  fleet: JobFigures,
  robots: z.array(JobFigures.extend({ robot_id: z.string() })),
});
export type JobStats = z.infer<typeof JobStats>;

export const ScanQuery = z
  .object({
    robot_id: robotId.optional(),
    code: text(512).optional(),
    found: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    job_id: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
    from: queryTime.optional(),
    to: queryTime.optional(),
    cursor,
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .superRefine(rangeCheck);

export const ScanList = z.object({
  items: z.array(ScanView),
  next_cursor: z.string().nullable(),
  total: z.number().int(),
});
