import { z } from 'zod';
import { INGEST_REJECT_REASONS } from './errors';
import { ROBOT_CHANNELS, ROBOT_PROTOCOLS } from './topics';

/**
 * A robot's data diagnostics (issue #7 §6): what arrives from it, how fast, in which protocol, how far
 * its clock is off, and what was refused — the original's data-validation pages, answered from counters
 * the server keeps in memory since it started (they start empty after a restart).
 */
const Iso = z.string().describe('ISO-8601 UTC');

/** How many rejected messages of a robot are kept, newest first. */
export const DIAGNOSTICS_REJECTIONS_KEPT = 50;
/** How much of a rejected payload is shown (characters; control characters replaced by �). */
export const DIAGNOSTICS_EXCERPT_CHARS = 200;

export const ChannelDiagnostics = z.object({
  channel: z.enum(ROBOT_CHANNELS),
  protocol: z.enum(ROBOT_PROTOCOLS).describe('The protocol of the last message on this channel'),
  last_seen: Iso.describe('When the server received the last message'),
  last_minute: z.object({ messages: z.number().int(), per_s: z.number() }),
  last_hour: z.object({ messages: z.number().int(), per_s: z.number() }),
});

export const RejectedMessage = z.object({
  at: Iso,
  reason: z.enum(INGEST_REJECT_REASONS),
  detail: z.string(),
  topic: z.string(),
  payload_excerpt: z
    .string()
    .describe(`The first ${DIAGNOSTICS_EXCERPT_CHARS} characters, control characters replaced`),
  payload_bytes: z.number().int(),
});

export const AclDenial = z.object({
  at: Iso,
  kind: z
    .enum(['publish', 'subscribe', 'connect'])
    .describe(
      'publish: a topic outside its own; subscribe: a filter it may not; connect: authentication refused',
    ),
  reason: z
    .string()
    .describe('The broker’s or the ingest’s reason (acl_denied, subscribe_denied, auth_refused …)'),
  topic: z.string().nullable().describe('The topic or filter, when there was one'),
});

export const RobotDiagnostics = z
  .object({
    robot_id: z.string(),
    generated_at: Iso,
    counting_since: Iso.describe('When the server started counting (its start)'),
    protocol: z
      .enum(ROBOT_PROTOCOLS)
      .nullable()
      .describe('The protocol of its last message; null before any'),
    last_seen: Iso.nullable(),
    channels: z.array(ChannelDiagnostics).describe('Channels seen in the last hour, most recent first'),
    clock: z
      .object({
        samples: z.number().int().describe('Messages in the last hour whose time the server used'),
        offset_ms_last: z
          .number()
          .nullable()
          .describe('received_at − the robot’s ts of its last message: + = its clock is behind'),
        offset_ms_min: z.number().nullable(),
        offset_ms_max: z.number().nullable(),
        offset_ms_avg: z.number().nullable(),
        skew_corrected: z
          .number()
          .int()
          .describe(
            'Messages in the last hour whose ts was off by more than CLOCK_SKEW_MAX_S: stored at the receive time',
          ),
      })
      .describe('Includes the network delay; a robot without its own ts has offset 0'),
    rejected: z.object({
      last_hour: z.number().int(),
      total: z.number().int().describe('Since the server started'),
      by_reason: z.record(z.string(), z.number().int()).describe('Since the server started'),
      recent: z.array(RejectedMessage).describe('The last 50, newest first'),
    }),
    acl_denials: z.object({
      total: z.number().int(),
      recent: z.array(AclDenial).describe('The last 50, newest first'),
    }),
  })
  .meta({ id: 'RobotDiagnostics' });
export type RobotDiagnostics = z.infer<typeof RobotDiagnostics>;
