import { z } from 'zod';
import { parseTimeParam } from './api';
import { text } from './payloads';

/** The audit trail (`GET /api/v1/audit`, permission audit:read). */

export const AUDIT_ACTOR_TYPES = ['user', 'api_key', 'robot', 'system', 'anonymous'] as const;
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;

export const AuditEvent = z
  .object({
    id: z.number().int(),
    ts: z.string().describe('ISO-8601 UTC'),
    actor: z.object({
      type: z.enum(AUDIT_ACTOR_TYPES),
      id: z.string().nullable(),
      name: z.string().nullable(),
    }),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string().nullable() }).nullable(),
    outcome: z.enum(AUDIT_OUTCOMES),
    address: z.string().nullable(),
    user_agent: z.string().nullable(),
    details: z.unknown().nullable(),
  })
  .meta({ id: 'AuditEvent' });

const AUDIT_TIME_FORMATS =
  'ISO-8601 date or date-time (UTC unless it has an offset), epoch milliseconds, or a duration back from now (15m, 6h, 7d)';

/** A point in time as epoch ms (a duration is resolved against the server's clock when parsed). */
const auditTime = z
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
  .describe(AUDIT_TIME_FORMATS);

export const AuditQuery = z
  .object({
    actor: text(100).optional().describe("The actor's id or name (exact)"),
    action: text(64)
      .optional()
      .describe(
        'An action (`user.create`), or a prefix ending in `.` or `.*` (`user.` matches every user action)',
      ),
    target_type: text(32).optional(),
    target_id: text(128).optional(),
    from: auditTime.optional().describe(`Events at or after this time. ${AUDIT_TIME_FORMATS}`),
    to: auditTime.optional().describe(`Events at or before this time. ${AUDIT_TIME_FORMATS}`),
    outcome: z.enum(AUDIT_OUTCOMES).optional(),
    before_id: z.coerce
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('Cursor: only events older than this id (the previous page’s next_before_id)'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .superRefine((q, ctx) => {
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'to lies before from' });
    }
  });

export const AuditList = z.object({
  items: z.array(AuditEvent),
  total: z.number().int().describe('Events matching the filters (before_id and offset aside)'),
  next_before_id: z
    .number()
    .int()
    .nullable()
    .describe('Pass as before_id for the next (older) page; null on the last page'),
});
