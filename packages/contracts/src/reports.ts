import { z } from 'zod';
import { TIME_FORMATS, timeParam } from './api';

/**
 * Reports (issue #10): fleet and robot analysis computed from the stored telemetry roll-ups, alerts and jobs,
 * generated in the background, read in the app, exported as PDF, CSV and JSON. Every statement carries the
 * figure and the period it rests on.
 */
const Iso = z.string().describe('ISO-8601 UTC');

export const REPORT_KINDS = [
  'fleet_summary',
  'performance',
  'battery',
  'servo_maintenance',
  'jobs',
  'alerts',
  'custom',
] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** The sections a report can hold; each kind but `custom` has its own set. */
export const REPORT_SECTIONS = [
  'availability',
  'performance',
  'battery',
  'servos',
  'jobs',
  'alerts',
  'anomalies',
] as const;
export type ReportSectionKey = (typeof REPORT_SECTIONS)[number];

export const KIND_SECTIONS: Readonly<Record<Exclude<ReportKind, 'custom'>, readonly ReportSectionKey[]>> = {
  fleet_summary: ['availability', 'performance', 'battery', 'servos', 'jobs', 'alerts', 'anomalies'],
  performance: ['availability', 'performance', 'anomalies'],
  battery: ['battery'],
  servo_maintenance: ['servos'],
  jobs: ['jobs'],
  alerts: ['alerts', 'availability'],
};

export const REPORT_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** The longest period one report may cover. */
export const REPORT_PERIOD_MAX_MS = 366 * 86_400_000;

export const CreateReportRequest = z
  .object({
    kind: z.enum(REPORT_KINDS),
    robot_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional()
      .describe('One robot; leave out robot_id and tag for the whole fleet'),
    tag: z.string().min(1).max(50).optional().describe('The robots with this tag'),
    from: timeParam.describe(`Start of the period. ${TIME_FORMATS}`),
    to: timeParam.optional().describe(`End of the period (default: now). ${TIME_FORMATS}`),
    sections: z
      .array(z.enum(REPORT_SECTIONS))
      .min(1)
      .max(REPORT_SECTIONS.length)
      .optional()
      .describe('The sections of a `custom` report (required there; other kinds have their own)'),
    ai: z.boolean().default(false).describe('Add AI insights when a provider is configured'),
    title: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.robot_id && r.tag)
      ctx.addIssue({ code: 'custom', path: ['tag'], message: 'name a robot_id or a tag, not both' });
    if (r.kind === 'custom' && !r.sections)
      ctx.addIssue({ code: 'custom', path: ['sections'], message: 'a custom report names its sections' });
    if (r.kind !== 'custom' && r.sections)
      ctx.addIssue({
        code: 'custom',
        path: ['sections'],
        message: `a ${r.kind} report has its own sections`,
      });
  });
export type CreateReportRequest = z.infer<typeof CreateReportRequest>;

export const ReportAccepted = z.object({ report_id: z.number().int(), status: z.literal('queued') });

/** One sentence of a report with what it rests on. */
export const ReportStatement = z.object({
  text: z.string(),
  /** The figure the sentence states (null when it states an absence: "no alert"). */
  figure: z.number().nullable(),
  unit: z.string().nullable(),
  /** The period the figure covers. */
  from: Iso,
  to: Iso,
  robot_id: z.string().nullable(),
  severity: z.enum(['info', 'warning', 'critical']),
});
export type ReportStatement = z.infer<typeof ReportStatement>;

export const ReportTable = z.object({
  title: z.string(),
  columns: z.array(z.object({ key: z.string(), label: z.string(), unit: z.string().nullable() })),
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))),
});
export type ReportTable = z.infer<typeof ReportTable>;

/** A chart: time series (x = epoch ms) or bars (x = a label). */
export const ReportChart = z.object({
  title: z.string(),
  type: z.enum(['line', 'bar']),
  unit: z.string().nullable(),
  series: z.array(
    z.object({
      name: z.string(),
      points: z.array(z.tuple([z.union([z.number(), z.string()]), z.number().nullable()])),
    }),
  ),
});
export type ReportChart = z.infer<typeof ReportChart>;

export const ReportSection = z.object({
  key: z.enum(REPORT_SECTIONS),
  title: z.string(),
  statements: z.array(ReportStatement),
  tables: z.array(ReportTable),
  charts: z.array(ReportChart),
});
export type ReportSection = z.infer<typeof ReportSection>;

/** What an AI provider added (validated against its schema), marked as such wherever it is shown. */
export const ReportAiInsights = z.object({
  provider: z.string(),
  model: z.string(),
  analysis: z.string(),
  concerns: z.array(z.string()),
  recommendations: z.array(z.object({ text: z.string(), urgency: z.enum(['low', 'medium', 'high']) })),
});
export type ReportAiInsights = z.infer<typeof ReportAiInsights>;

/** At most this many camera snapshots in one report (the newest of its robots and period). */
export const REPORT_SNAPSHOTS_MAX = 12;

/** A camera snapshot of the report's robots and period, with what it documents. */
export const ReportSnapshot = z.object({
  id: z.number().int(),
  robot_id: z.string(),
  taken_at: Iso,
  taken_by: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  alert_id: z.number().int().nullable(),
  note: z.string().nullable(),
  url: z.string().describe('The image (image/jpeg): GET /api/v1/camera/snapshots/{id}'),
});
export type ReportSnapshot = z.infer<typeof ReportSnapshot>;

/** A finished report's content: what the app shows, the PDF prints and `/data` exports. */
export const ReportDocument = z.object({
  title: z.string(),
  kind: z.enum(REPORT_KINDS),
  scope: z.object({
    robot_id: z.string().nullable(),
    tag: z.string().nullable(),
    /** The robots the report covers. */
    robots: z.array(z.string()),
  }),
  from: Iso,
  to: Iso,
  generated_at: Iso,
  /** The report's main findings, first in the app and on the PDF's first page. */
  summary: z.array(ReportStatement),
  sections: z.array(ReportSection),
  ai: ReportAiInsights.nullable(),
  /** Why there are no AI insights, or why they failed: said plainly in the report. */
  ai_note: z.string().nullable(),
  /**
   * Camera snapshots stored for the report's robots in its period, newest first (snapshots kept for an alert or
   * with a note first), at most REPORT_SNAPSHOTS_MAX; reports made before snapshots were kept have none.
   */
  snapshots: z.array(ReportSnapshot).optional(),
});
export type ReportDocument = z.infer<typeof ReportDocument>;

export const ReportView = z.object({
  id: z.number().int(),
  kind: z.enum(REPORT_KINDS),
  title: z.string(),
  robot_id: z.string().nullable(),
  tag: z.string().nullable(),
  from: Iso,
  to: Iso,
  sections: z.array(z.enum(REPORT_SECTIONS)),
  want_ai: z.boolean(),
  status: z.enum(REPORT_STATUSES),
  /** 0 … 1 while running. */
  progress: z.number(),
  error: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: Iso,
  started_at: Iso.nullable(),
  finished_at: Iso.nullable(),
  ai_model: z.string().nullable(),
  tokens_in: z.number().int().nullable(),
  tokens_out: z.number().int().nullable(),
  /** The schedule that made it (null for a report someone asked for, or once the schedule was deleted). */
  schedule_id: z.number().int().nullable(),
});
export type ReportView = z.infer<typeof ReportView>;

export const ReportWithDocument = ReportView.extend({ document: ReportDocument.nullable() });

export const ReportList = z.object({ items: z.array(ReportView), total: z.number().int() });

export const ReportListQuery = z.object({
  kind: z.enum(REPORT_KINDS).optional(),
  status: z.enum(REPORT_STATUSES).optional(),
  robot_id: z.string().max(64).optional(),
  schedule_id: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .optional()
    .describe("One schedule's runs (its history)"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export const ReportAiStatus = z.object({
  configured: z.boolean(),
  provider: z.enum(['gemini', 'openai_compatible']).nullable(),
  model: z.string().nullable(),
  /** The last call's outcome since the server started; null before any (none is made at start-up). */
  last_call: z.object({ at: Iso, ok: z.boolean(), ms: z.number(), error: z.string().nullable() }).nullable(),
});

export const ReportIdParams = z.object({
  report_id: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1),
});

/** `report` on the live stream: a report's status and progress as it is generated. */
export interface ReportLiveEvent {
  report_id: number;
  status: ReportStatus;
  progress: number;
  error: string | null;
}
