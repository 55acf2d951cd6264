import { z } from 'zod';
import { ALERT_SEVERITIES, ALERT_STATES, AlertView } from './alerts';
import { parseTimeParam, TIME_FORMATS, type TimeParam, timeParam } from './api';
import { jsonShapeProblem } from './json-shape';
import { text } from './payloads';

/**
 * The alerts API (`/api/v1/alerts`, issue #7 §1): list, stats, acknowledge (one or many), resolve, delete,
 * and manual alerts as the original offered them. The alert engine raises, escalates and auto-resolves;
 * people read, acknowledge and resolve here.
 */

/** Most alerts one list page holds. */
export const ALERTS_PAGE_MAX = 500;
/**
 * `total` counts at most this many alerts: beyond it the answer says `total_capped` (see AlertList). Counting
 * is a scan of the matching rows (PostgreSQL keeps no counts); on PGlite 1,000 of them take about a
 * millisecond, 100,000 some 30 ms. A list shows "1,000+"; exact figures per severity, state, type and robot
 * come from the stats.
 */
export const ALERTS_TOTAL_CAP = 1000;
/** Most ids one bulk acknowledgement names. */
export const ALERTS_BULK_IDS_MAX = 1000;
/** A manual alert's `details`: at most this many bytes of JSON, nested at most ALERT_DETAILS_DEPTH deep. */
export const ALERT_DETAILS_MAX_BYTES = 16_384;
export const ALERT_DETAILS_DEPTH = 8;

const ROBOT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ROBOT_ID_RULE = 'letters, digits, _ and -, at most 64';

/** One or several values: the parameter repeated (`?severity=a&severity=b`) or comma-separated. */
function listParam(maxItems: number) {
  return z
    .union([z.string().max(4096), z.array(z.string().max(4096)).max(maxItems)])
    .transform((v, ctx): string[] => {
      const items = [
        ...new Set(
          (Array.isArray(v) ? v : [v])
            .flatMap((s) => s.split(','))
            .map((s) => s.trim())
            .filter(Boolean),
        ),
      ];
      if (items.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one value' });
      else if (items.length > maxItems)
        ctx.addIssue({ code: 'custom', message: `at most ${maxItems} values` });
      return items;
    });
}

function enumList<const T extends readonly [string, ...string[]]>(values: T) {
  return listParam(values.length).transform((items, ctx): T[number][] => {
    const bad = items.filter((i) => !values.includes(i));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `not one of ${values.join(', ')}: ${bad.map((b) => b.slice(0, 32)).join(', ')}`,
      });
      return z.NEVER;
    }
    return items as T[number][];
  });
}

const robotIdList = listParam(100).transform((items, ctx) => {
  const bad = items.filter((i) => !ROBOT_ID_RE.test(i));
  if (bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `not a robot id (${ROBOT_ID_RULE}): ${bad[0]?.slice(0, 64)}` });
    return z.NEVER;
  }
  return items;
});

const alertTypeList = listParam(50).transform((items, ctx) => {
  if (items.some((i) => i.length > 50)) {
    ctx.addIssue({ code: 'custom', message: 'an alert type has at most 50 characters' });
    return z.NEVER;
  }
  return items;
});

const booleanParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .describe('true or false');

const ruleId = z.coerce.number().int().min(1).max(2_147_483_647);

/** The original's `time_range` (1h, 6h, 24h, 7d, 30d — any duration back from now): the same as `from`. */
const timeRange = z
  .string()
  .max(16)
  .transform((value, ctx): TimeParam => {
    const parsed = parseTimeParam(value);
    if (typeof parsed === 'string' || !('ago_ms' in parsed)) {
      ctx.addIssue({
        code: 'custom',
        message: typeof parsed === 'string' ? parsed : 'a duration back from now, like 24h or 7d',
      });
      return z.NEVER;
    }
    return parsed;
  })
  .describe('The original API’s range: a duration back from now (1h, 6h, 24h, 7d, 30d, …), like `from`');

/** Where a list page ends: the last alert's creation time (µs since the epoch) and id, and the total. */
export interface AlertCursor {
  /** Microseconds since the epoch, as decimal digits (PostgreSQL keeps µs; a JS number of ms would lose them). */
  created_us: string;
  id: number;
  /** The first page's `total` and `total_capped`, carried so later pages need not count again. */
  total: number;
  capped: boolean;
}

const CURSOR_RE = /^(\d{1,18})\.(\d{1,10})\.(\d{1,10})(c?)$/;

/** The opaque `next_cursor`: base64url of `created_us.id.total[c]`. */
export function encodeAlertCursor(c: AlertCursor): string {
  return btoa(`${c.created_us}.${c.id}.${c.total}${c.capped ? 'c' : ''}`)
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** The cursor `encodeAlertCursor` made, or undefined for anything else. */
export function decodeAlertCursor(value: string): AlertCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) return undefined;
  let plain: string;
  try {
    plain = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  const m = CURSOR_RE.exec(plain);
  if (!m) return undefined;
  const id = Number(m[2]);
  const total = Number(m[3]);
  if (id < 1 || id > 2_147_483_647 || total > ALERTS_TOTAL_CAP) return undefined;
  return { created_us: String(BigInt(m[1] as string)), id, total, capped: m[4] === 'c' };
}

const cursorParam = z
  .string()
  .max(64)
  .transform((value, ctx): AlertCursor => {
    const cursor = decodeAlertCursor(value);
    if (!cursor) {
      ctx.addIssue({ code: 'custom', message: 'not a cursor this API gave out (pass next_cursor as it is)' });
      return z.NEVER;
    }
    return cursor;
  })
  .describe('The previous page’s next_cursor, as it is');

/** The filters the list, the stats and the bulk acknowledgement share. */
const robotFilter = robotIdList
  .optional()
  .describe('Robot id(s): repeat the parameter or separate with commas');
const severityFilter = enumList(ALERT_SEVERITIES).optional().describe('Severity (one or several)');

function checkWindow(
  q: { from?: TimeParam | undefined; to?: TimeParam | undefined; time_range?: TimeParam | undefined },
  ctx: z.RefinementCtx,
): void {
  if (q.from !== undefined && q.time_range !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['time_range'], message: 'give from or time_range, not both' });
  }
  const now = Date.now();
  const at = (t: TimeParam) => ('at' in t ? t.at : now - t.ago_ms);
  const from = q.from ?? q.time_range;
  if (from !== undefined && q.to !== undefined && at(from) >= at(q.to)) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  }
}

export const AlertListQuery = z
  .object({
    robot_id: robotFilter,
    severity: severityFilter,
    alert_type: alertTypeList.optional().describe('Alert type(s), e.g. threshold, robot_offline, manual'),
    rule_id: ruleId.optional().describe('Only alerts the rule raised'),
    state: enumList(ALERT_STATES).optional().describe('State(s): open, acknowledged, resolved'),
    acknowledged: booleanParam
      .optional()
      .describe(
        'The original’s filter: true = someone acknowledged it (acknowledged_at set), false = nobody has',
      ),
    resolved: booleanParam.optional().describe('The original’s filter: true = state resolved, false = not'),
    muted: booleanParam.optional().describe('true = raised during a silence'),
    from: timeParam.optional().describe(`Created at or after. ${TIME_FORMATS}`),
    to: timeParam.optional().describe(`Created before. ${TIME_FORMATS}`),
    time_range: timeRange.optional(),
    search: text(200).optional().describe('Text in the title or the message (case-insensitive substring)'),
    cursor: cursorParam.optional(),
    limit: z.coerce.number().int().min(1).max(ALERTS_PAGE_MAX).default(100),
  })
  .superRefine(checkWindow);
export type AlertListQuery = z.infer<typeof AlertListQuery>;

export const AlertList = z.object({
  items: z.array(AlertView),
  next_cursor: z
    .string()
    .nullable()
    .describe('Pass as cursor for the next (older) page; null on the last page'),
  total: z
    .number()
    .int()
    .describe(
      `Alerts matching the filter, counted up to ${ALERTS_TOTAL_CAP} when the first page is read; later pages ` +
        'carry that count in their cursor',
    ),
  total_capped: z
    .boolean()
    .describe(`true: more than ${ALERTS_TOTAL_CAP} match (total says ${ALERTS_TOTAL_CAP})`),
});
export type AlertList = z.infer<typeof AlertList>;

export const AlertIdParams = z.object({ id: z.coerce.number().int().min(1).max(2_147_483_647) });

/** The default stats range: the last 24 hours (the original's default). */
export const ALERT_STATS_DEFAULT_MS = 24 * 3600_000;

export const AlertStatsQuery = z
  .object({
    robot_id: robotFilter,
    from: timeParam.optional().describe(`Created at or after (default: 24 hours before to). ${TIME_FORMATS}`),
    to: timeParam.optional().describe(`Created before (default: now). ${TIME_FORMATS}`),
    time_range: timeRange.optional(),
    top: z.coerce.number().int().min(1).max(100).default(10).describe('How many robots by_robot lists'),
  })
  .superRefine(checkWindow);
export type AlertStatsQuery = z.infer<typeof AlertStatsQuery>;

const count = z.number().int();

export const AlertStats = z
  .object({
    from: z.string().describe('ISO-8601 UTC'),
    to: z.string().describe('ISO-8601 UTC'),
    total: count,
    critical: count,
    warning: count,
    info: count,
    unacknowledged: count.describe('Open: neither acknowledged nor resolved'),
    unresolved: count.describe('Open or acknowledged'),
    muted: count,
    by_severity: z.object({ info: count, warning: count, critical: count }),
    by_state: z.object({ open: count, acknowledged: count, resolved: count }),
    by_type: z.record(z.string(), count),
    by_robot: z
      .array(z.object({ robot_id: z.string().nullable(), total: count, unresolved: count }))
      .describe('The robots with the most alerts, most first (robot_id null: alerts about the fleet)'),
  })
  .meta({ id: 'AlertStats' });
export type AlertStats = z.infer<typeof AlertStats>;

const note = text(1000).optional().describe('Why, for the record (at most 1000 characters)');

export const AcknowledgeAlertRequest = z.object({ note }).strict();
export const ResolveAlertRequest = z.object({ note }).strict();

export const BulkAcknowledgeRequest = z
  .object({
    ids: z.array(z.number().int().min(1).max(2_147_483_647)).min(1).max(ALERTS_BULK_IDS_MAX).optional(),
    filter: z
      .object({
        robot_id: z.string().regex(ROBOT_ID_RE, ROBOT_ID_RULE).optional(),
        severity: z
          .union([z.enum(ALERT_SEVERITIES), z.array(z.enum(ALERT_SEVERITIES)).min(1).max(3)])
          .optional(),
        alert_type: text(50).min(1).optional(),
        rule_id: z.number().int().min(1).max(2_147_483_647).optional(),
      })
      .strict()
      .optional()
      .describe('Every open alert matching it ({} = every open alert: the original acknowledge-all)'),
    note,
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.ids === undefined) === (b.filter === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['ids'], message: 'give either ids or filter' });
    }
  });
export type BulkAcknowledgeRequest = z.infer<typeof BulkAcknowledgeRequest>;

export const BulkAcknowledgeResponse = z.object({
  acknowledged: z.number().int().describe('Alerts that were open and are acknowledged now'),
});

const finite = z.number().min(-1e12).max(1e12);

export const CreateAlertRequest = z
  .object({
    robot_id: z
      .string()
      .regex(ROBOT_ID_RE, ROBOT_ID_RULE)
      .nullable()
      .optional()
      .describe('A known robot; left out or null: about the fleet'),
    alert_type: text(50).min(1).default('manual'),
    severity: z.enum(ALERT_SEVERITIES),
    title: text(200).trim().min(1),
    message: text(4000).trim().min(1),
    source: text(100).min(1).nullable().optional(),
    value: finite.nullable().optional(),
    threshold: finite.nullable().optional(),
    details: z
      .record(z.string().max(200), z.unknown())
      .nullable()
      .optional()
      .superRefine((details, ctx) => {
        if (details == null) return;
        const shape = jsonShapeProblem(details, { maxDepth: ALERT_DETAILS_DEPTH, maxWidth: 1000 });
        if (shape) {
          ctx.addIssue({ code: 'custom', message: shape.detail });
          return;
        }
        const bytes = new TextEncoder().encode(JSON.stringify(details)).length;
        if (bytes > ALERT_DETAILS_MAX_BYTES) {
          ctx.addIssue({
            code: 'custom',
            message: `at most ${ALERT_DETAILS_MAX_BYTES} bytes of JSON (${bytes})`,
          });
        }
      })
      .describe(
        `Free-form JSON object: at most ${ALERT_DETAILS_DEPTH} levels, ${ALERT_DETAILS_MAX_BYTES} bytes`,
      ),
  })
  .strict();
export type CreateAlertRequest = z.infer<typeof CreateAlertRequest>;
