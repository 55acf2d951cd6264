import { z } from 'zod';
import {
  ACTION_NAME_RE,
  CONFIG_KEY_RE,
  DEFAULT_WALK_SPEED_MPS,
  JOB_ID_RE,
  MAX_MOVE_DISTANCE_M,
  MAX_SPEAK_CHARS,
  MAX_WALK_SPEED_MPS,
  MOVE_DIRECTIONS,
  POWER_COMMAND_TYPES,
  SERVO_IDS,
  SERVO_POSITION,
  TURN_RATE_DPS,
} from './command-limits';
import { COMMAND_STATES, CommandView } from './commands';
import { COMMAND_TYPES, type CommandType, text } from './payloads';

/**
 * The command vocabulary (issue #7 §3): what each command's `params` may hold, with its limits. The API
 * checks a command against it before anything is stored or sent; the simulated robot checks again on its
 * side (a real robot has limits of its own: a refusal there comes back as `failed`).
 */

export {
  ACTION_NAME_RE,
  DEFAULT_WALK_SPEED_MPS,
  MAX_MOVE_DISTANCE_M,
  MAX_SPEAK_CHARS,
  MAX_WALK_SPEED_MPS,
  MOVE_DIRECTIONS,
  SERVO_IDS,
  SERVO_POSITION,
  TURN_RATE_DPS,
};

/** Text a person typed for a robot: bounded, no control characters (a speech engine reads it). */
const plainText = (max: number) =>
  text(max)
    .min(1)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    .refine((v) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v), 'must not contain control characters');

const none = z.strictObject({});

export const COMMAND_PARAMS = {
  move: z.strictObject({
    direction: z.enum(MOVE_DIRECTIONS).default('forward'),
    distance_m: z.number().positive().max(MAX_MOVE_DISTANCE_M).default(0.5),
    speed_mps: z.number().positive().max(MAX_WALK_SPEED_MPS).default(DEFAULT_WALK_SPEED_MPS),
  }),
  turn: z.strictObject({
    direction: z.enum(['left', 'right']),
    angle_deg: z.number().positive().max(360).default(90),
  }),
  stop: none,
  resume: none,
  head_nod: none,
  head_shake: none,
  set_servo: z.strictObject({
    servo_id: z.number().int().min(SERVO_IDS.min).max(SERVO_IDS.max),
    position: z.number().int().min(SERVO_POSITION.min).max(SERVO_POSITION.max),
  }),
  action: z.strictObject({
    name: z.string().regex(ACTION_NAME_RE, 'lower-case letters, digits, _ and -, at most 64'),
    repeat: z.number().int().min(1).max(10).default(1),
  }),
  speak: z.strictObject({ text: plainText(MAX_SPEAK_CHARS) }),
  start_job: z.strictObject({
    task_name: plainText(200),
    items_total: z.number().int().min(1).max(1000),
    job_id: z.string().regex(JOB_ID_RE, 'letters, digits and _.:-, at most 64').optional(),
  }),
  stop_job: z.strictObject({ reason: plainText(500).optional() }),
  status_request: none,
  battery_request: none,
  set_config: z.strictObject({
    values: z
      .record(
        z.string().regex(CONFIG_KEY_RE, 'lower-case snake_case, at most 64'),
        z.union([z.number(), z.boolean(), plainText(200)]),
      )
      .refine((v) => Object.keys(v).length >= 1 && Object.keys(v).length <= 32, 'between 1 and 32 keys'),
  }),
  reboot: none,
  shutdown: none,
  emergency_stop: z.strictObject({ reason: plainText(500).optional() }),
} as const satisfies Record<CommandType, z.ZodType>;

/** Commands the API's POST /robots/{id}/commands takes: the emergency stop has its own endpoints. */
export const REQUESTABLE_COMMANDS = COMMAND_TYPES.filter(
  (c): c is Exclude<CommandType, 'emergency_stop'> => c !== 'emergency_stop',
);

/** Commands that take a robot out of service: the `robots:power` permission (admin). */
export const POWER_COMMANDS: ReadonlySet<CommandType> = new Set<CommandType>(POWER_COMMAND_TYPES);

export const MAX_COMMAND_TIMEOUT_S = 3600;
export const MAX_QUEUE_TTL_S = 24 * 3600;
/** Time a robot gets to answer on top of the action's own duration. */
const ANSWER_MARGIN_S = 5;

/**
 * How long a command may take before it is `timed_out`, when the request does not say: the action's
 * expected duration (a walk's distance over its speed, a turn's angle, a speech's length) plus a margin.
 */
export function defaultCommandTimeoutS(command: CommandType, params: Record<string, unknown>): number {
  const n = (k: string, fallback: number) =>
    typeof params[k] === 'number' ? (params[k] as number) : fallback;
  let action_s = 0;
  switch (command) {
    case 'move':
      // Up to a half turn first, then the walk.
      action_s = 180 / TURN_RATE_DPS + n('distance_m', 0.5) / n('speed_mps', DEFAULT_WALK_SPEED_MPS);
      break;
    case 'turn':
      action_s = n('angle_deg', 90) / TURN_RATE_DPS;
      break;
    case 'head_nod':
    case 'head_shake':
      action_s = 2;
      break;
    case 'action':
      action_s = 3 * n('repeat', 1);
      break;
    case 'speak':
      action_s = (typeof params.text === 'string' ? params.text.length : 0) / 12;
      break;
    case 'start_job':
      action_s = 5;
      break;
    case 'reboot':
      action_s = 25;
      break;
    case 'shutdown':
      action_s = 5;
      break;
    default:
      action_s = 0;
  }
  return Math.min(MAX_COMMAND_TIMEOUT_S, Math.ceil(action_s + ANSWER_MARGIN_S));
}

export const CommandRequest = z
  .strictObject({
    command: z.enum(REQUESTABLE_COMMANDS),
    params: z.record(z.string(), z.unknown()).default({}),
    timeout_s: z
      .number()
      .positive()
      .max(MAX_COMMAND_TIMEOUT_S)
      .optional()
      .describe('Seconds the robot has to finish; by default the expected duration plus 5 s'),
    queue_ttl_s: z
      .number()
      .int()
      .positive()
      .max(MAX_QUEUE_TTL_S)
      .optional()
      .describe(
        'When the robot is offline: keep the command this long and send it when the robot comes back ' +
          '(without it: 409 robot_offline)',
      ),
  })
  .meta({
    id: 'CommandRequest',
    example: { command: 'move', params: { direction: 'forward', distance_m: 0.5, speed_mps: 0.15 } },
  });
export type CommandRequest = z.infer<typeof CommandRequest>;

export const CommandAccepted = z
  .object({ command_id: z.string(), status: z.enum(COMMAND_STATES) })
  .meta({ id: 'CommandAccepted' });
export type CommandAccepted = z.infer<typeof CommandAccepted>;

export const CommandIdParams = z.object({ command_id: z.string().min(1).max(64) });

export const CommandListQuery = z.object({
  status: z.enum(COMMAND_STATES).optional(),
  command: z.enum(COMMAND_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional().describe('The previous page’s next_cursor'),
});
export type CommandListQuery = z.infer<typeof CommandListQuery>;

export const CommandList = z
  .object({ items: z.array(CommandView), next_cursor: z.string().nullable() })
  .meta({ id: 'CommandList' });
export type CommandList = z.infer<typeof CommandList>;

export const EmergencyStopRequest = z
  .strictObject({ reason: plainText(500).default('emergency stop') })
  .meta({ id: 'EmergencyStopRequest', example: { reason: 'person in the aisle' } });
export type EmergencyStopRequest = z.infer<typeof EmergencyStopRequest>;

export const ResumeRequest = z
  .strictObject({ reason: plainText(500).optional() })
  .meta({ id: 'ResumeRequest' });
export type ResumeRequest = z.infer<typeof ResumeRequest>;

/** An emergency stop (or resume) of one robot or the fleet: one command row per robot, under one id. */
export const EmergencyStopAccepted = z
  .object({
    stop_id: z.string(),
    action: z.enum(['emergency_stop', 'resume']),
    robots: z.number().int().describe('Robots it was addressed to (one command row each)'),
  })
  .meta({ id: 'EmergencyStopAccepted' });
export type EmergencyStopAccepted = z.infer<typeof EmergencyStopAccepted>;

export const StopIdParams = z.object({ stop_id: z.string().min(1).max(64) });

export const EmergencyStopView = z
  .object({
    stop_id: z.string(),
    action: z.enum(['emergency_stop', 'resume']),
    reason: z.string().nullable(),
    requested_by: z.string().nullable(),
    created_at: z.string(),
    robots: z.number().int(),
    /** Robots that confirmed it (acknowledged or succeeded). */
    acknowledged: z.number().int(),
    by_status: z.record(z.string(), z.number().int()),
    items: z.array(CommandView),
  })
  .meta({ id: 'EmergencyStop' });
export type EmergencyStopView = z.infer<typeof EmergencyStopView>;
