import { z } from 'zod';
import { COMMAND_TYPES } from './payloads';

/** Commands as the API and the live stream show them (issue #7 §3). */
const Iso = z.string().describe('ISO-8601 UTC');

/**
 * A command's life: `pending` (stored, not yet published) → `sent` → `acknowledged` (the robot said
 * `accepted`) → `succeeded` | `failed`; or `timed_out` when no result came in time, or `rejected`
 * (validation, the robot offline and the request did not ask to queue it).
 */
export const COMMAND_STATES = [
  'pending',
  'sent',
  'acknowledged',
  'succeeded',
  'failed',
  'timed_out',
  'rejected',
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

export const CommandView = z
  .object({
    command_id: z.string(),
    robot_id: z.string(),
    command: z.enum(COMMAND_TYPES),
    params: z.record(z.string(), z.unknown()),
    status: z.enum(COMMAND_STATES),
    message: z.string().nullable(),
    result: z.unknown().optional(),
    requested_by: z.string().nullable(),
    created_at: Iso,
    sent_at: Iso.nullable(),
    acknowledged_at: Iso.nullable(),
    finished_at: Iso.nullable(),
  })
  .meta({ id: 'Command' });
export type CommandView = z.infer<typeof CommandView>;
