import { z } from 'zod';
import { QUERY_WINDOW_MAX_MS, resolveWindow, TIME_FORMATS, timeParam } from './api';
import { LOG_CATEGORIES, type LogCategory, SYSTEM_LOG_LEVELS, type SystemLogLevel } from './log-levels';
import { ROBOT_ID_RE } from './topics';

export * from './log-levels';

/**
 * The server's log (issue #7 §5): every robot's `log` messages and the server's own events (robot
 * connects and disconnects, alerts, commands, sign-ins and other audited changes, server errors) in
 * `system_logs`, searchable and exportable.
 */
const Iso = z.string().describe('ISO-8601 UTC');

export const LogEntry = z
  .object({
    id: z.number().int(),
    timestamp: Iso.describe(
      'When it happened: the robot’s time for a robot log (skew-bounded), else the server’s',
    ),
    level: z.enum(SYSTEM_LOG_LEVELS),
    category: z.enum(LOG_CATEGORIES),
    robot_id: z.string().nullable(),
    message: z.string(),
    source: z.string().nullable().describe('Which part of the robot or server wrote it'),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'LogEntry' });
export type LogEntry = z.infer<typeof LogEntry>;

/** The longest text search (`q`). */
export const LOG_SEARCH_MAX = 200;

const categoryList = z
  .union([z.string().max(1000), z.array(z.string().max(100)).max(20)])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()))
  .pipe(z.array(z.enum(LOG_CATEGORIES)).max(20));

/** The filters every log read shares: the list, the stats and the export. */
const logFilters = {
  level: z
    .enum(SYSTEM_LOG_LEVELS)
    .optional()
    .describe('This level or worse (e.g. WARNING: WARNING, ERROR and CRITICAL)'),
  category: categoryList.optional().describe('One or more categories (repeat or comma-separate)'),
  robot_id: z.string().regex(ROBOT_ID_RE, 'letters, digits, _ and -, at most 64').optional(),
  from: timeParam.optional().describe(`Start (default: 24 hours before \`to\`). ${TIME_FORMATS}`),
  to: timeParam.optional().describe(`End (default: now). ${TIME_FORMATS}`),
  q: z
    .string()
    .min(1)
    .max(LOG_SEARCH_MAX)
    .refine((q) => !q.includes('\0'), 'must not contain a NUL character')
    .optional()
    .describe('Text the message contains, case-insensitive; `%`, `_` and quotes are plain characters'),
};

/** A log read's window when it names no `from`: a day before `to`. */
export const LOG_WINDOW_DEFAULT_MS = 24 * 3600_000;

/** The window of a log query in epoch ms (`to` defaults to now, `from` to a day before `to`). */
function withWindow<T extends { from?: unknown; to?: unknown }>(schema: z.ZodType<T>) {
  return schema.transform((q, ctx) => {
    const now = Date.now();
    const w = resolveWindow(q as Parameters<typeof resolveWindow>[0], now);
    const from = q.from === undefined ? w.to - LOG_WINDOW_DEFAULT_MS : w.from;
    const problem =
      from >= w.to
        ? 'must be before `to`'
        : w.to - from > QUERY_WINDOW_MAX_MS
          ? 'the window may span at most 3 years'
          : null;
    if (problem) {
      for (const path of ['from', 'to']) ctx.addIssue({ code: 'custom', path: [path], message: problem });
      return z.NEVER;
    }
    return { ...q, window: { from, to: w.to } };
  });
}

/** The filters once parsed, as the service reads them. */
export interface LogFilter {
  level?: SystemLogLevel;
  category?: LogCategory[];
  robot_id?: string;
  q?: string;
  window: { from: number; to: number };
}

export const LogsQuery = withWindow(
  z.object({
    ...logFilters,
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(200).optional().describe('The previous page’s next_cursor'),
  }),
);

export const LogList = z
  .object({
    items: z.array(LogEntry),
    next_cursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` for the next (older) page; null at the end'),
  })
  .meta({ id: 'LogList' });

export const LogStatsQuery = withWindow(z.object(logFilters));

export const LogStats = z
  .object({
    from: Iso,
    to: Iso,
    total: z.number().int(),
    by_level: z.record(z.string(), z.number().int()),
    by_category: z.record(z.string(), z.number().int()),
    by_robot: z
      .array(z.object({ robot_id: z.string().nullable(), count: z.number().int() }))
      .describe('The 100 robots with the most entries, most first; null = the server’s own entries'),
  })
  .meta({ id: 'LogStats' });

export const LOG_EXPORT_FORMATS = ['csv', 'json'] as const;

export const LogExportQuery = withWindow(
  z.object({
    ...logFilters,
    format: z
      .enum(LOG_EXPORT_FORMATS)
      .default('csv')
      .describe('csv (RFC 4180, formula-safe) or json (NDJSON: one entry per line)'),
  }),
);

/** The columns of the CSV export, in order. */
export const LOG_EXPORT_COLUMNS = [
  'id',
  'timestamp',
  'level',
  'category',
  'robot_id',
  'source',
  'message',
  'details',
] as const;
