import { z } from 'zod';
import { httpUrl, MAX_URL_LENGTH } from './http-url';
import { jsonShapeProblem } from './json-shape';
import { MAX_ABS_VALUE } from './measurements';

/**
 * Payloads of the robot protocol (canonical layout). Every payload is a JSON object with `ts`
 * (epoch ms, or an ISO-8601 string; the legacy client's `timestamp` is accepted too). Units are
 * in the field names. Objects are open: a robot may add fields; unknown numbers are stored.
 */

/**
 * Text from a robot. PostgreSQL cannot store NUL characters, so a string with one is refused
 * here rather than failing a database write later.
 */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');

/**
 * A payload schema whose free-form parts (extra keys, `last_item`, `result`, `params`, …) are
 * bounded in nesting and width (`json-shape.ts`). The ingest checks every payload this way before
 * its schema (with its own rejection reasons); the refinement makes the schema say it too.
 */
function bounded<T extends z.ZodObject>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const problem = jsonShapeProblem(value);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: problem.detail,
        path: problem.key === '' ? [] : [problem.key],
        params: { reason: problem.reason },
      });
    }
  });
}

/** A URL a robot reports: `http:` or `https:` with a host (see `httpUrl`). */
export const HttpUrl = text(MAX_URL_LENGTH).refine(
  (v) => httpUrl(v) !== undefined,
  'must be an http:// or https:// URL with a host',
);

export const Timestamp = z
  .union([z.number().nonnegative(), text(64).min(1)])
  .describe('Epoch milliseconds, or an ISO-8601 date-time (without a zone: the server local time).');

const base = {
  ts: Timestamp.nullable().optional(),
  timestamp: Timestamp.nullable().optional(),
  robot_id: text(64).nullable().optional(),
};

const num = z.number().min(-MAX_ABS_VALUE).max(MAX_ABS_VALUE);
const flag = z.union([z.boolean(), z.number()]);

export const ROBOT_STATUSES = ['online', 'offline', 'error', 'maintenance', 'emergency_stopped'] as const;
export const RobotStatus = z.enum(ROBOT_STATUSES);
export type RobotStatus = z.infer<typeof RobotStatus>;

export const StatusPayload = bounded(
  z.looseObject({
    ...base,
    /** Absent in the seeds' `{cpu, memory, temp}` status reports: the robot is then just alive. */
    status: RobotStatus.optional(),
    protocol_version: text(16).optional(),
    agent_version: text(64).optional(),
    ip_address: text(45).optional(),
    /** The ingest drops an invalid one (counted as `bad_url`) and keeps the rest of the status. */
    camera_url: HttpUrl.optional(),
    hardware_available: z.boolean().optional(),
    emergency_stopped: z.boolean().optional(),
    emergency_reason: text(500).nullable().optional(),
    /** The legacy client's system block; its numbers are stored under `system`. */
    system_info: z.looseObject({}).optional(),
  }),
);
export type StatusPayload = z.infer<typeof StatusPayload>;

export const SensorsPayload = z.looseObject({
  ...base,
  accel_x_ms2: num.optional(),
  accel_y_ms2: num.optional(),
  accel_z_ms2: num.optional(),
  gyro_x_dps: num.optional(),
  gyro_y_dps: num.optional(),
  gyro_z_dps: num.optional(),
  roll_deg: num.optional(),
  pitch_deg: num.optional(),
  yaw_deg: num.optional(),
  ultrasonic_distance_cm: num.optional(),
  light_level_percent: num.optional(),
  light_dark: flag.optional(),
  /** Legacy one-reading form: `{sensor_type, value, unit}`. */
  sensor_type: text(64).optional(),
  value: num.optional(),
  unit: text(16).optional(),
});
export type SensorsPayload = z.infer<typeof SensorsPayload>;

export const ServoReading = z.looseObject({
  /** Optional in the legacy map form, where the key `servo_N` names the servo. */
  id: z.union([z.number().int().nonnegative(), text(16)]).optional(),
  name: text(64).optional(),
  position: num.optional(),
  target_position: num.optional(),
  temperature_c: num.optional(),
  voltage_v: num.optional(),
  load_percent: num.optional(),
  torque_enabled: flag.optional(),
});
export type ServoReading = z.infer<typeof ServoReading>;

export const ServosPayload = z.looseObject({
  ...base,
  /** An array (canonical) or the legacy map `{ "servo_1": {...} }`. */
  servos: z.union([z.array(ServoReading).max(64), z.record(text(32), ServoReading)]),
});
export type ServosPayload = z.infer<typeof ServosPayload>;

export const SystemPayload = z.looseObject({
  ...base,
  cpu_percent: num.optional(),
  memory_percent: num.optional(),
  disk_percent: num.optional(),
  cpu_temperature_c: num.optional(),
  uptime_s: num.optional(),
});
export type SystemPayload = z.infer<typeof SystemPayload>;

export const BatteryPayload = z.looseObject({
  ...base,
  percent: num.optional(),
  voltage_v: num.optional(),
  current_a: num.optional(),
  charging: flag.optional(),
});
export type BatteryPayload = z.infer<typeof BatteryPayload>;

export const LocationPayload = z.looseObject({
  ...base,
  x_m: num.optional(),
  y_m: num.optional(),
  z_m: num.optional(),
  heading_deg: num.optional(),
});
export type LocationPayload = z.infer<typeof LocationPayload>;

export const TelemetryPayload = z.looseObject({
  ...base,
  sensors: SensorsPayload.omit({ ts: true, timestamp: true, robot_id: true }).optional(),
  servos: ServosPayload.shape.servos.optional(),
  system: SystemPayload.omit({ ts: true, timestamp: true, robot_id: true }).optional(),
  battery: BatteryPayload.omit({ ts: true, timestamp: true, robot_id: true }).optional(),
  location: LocationPayload.omit({ ts: true, timestamp: true, robot_id: true }).optional(),
});
export type TelemetryPayload = z.infer<typeof TelemetryPayload>;

export const JOB_STATUSES = [
  'started',
  'in_progress',
  'working',
  'completed',
  'cancelled',
  'failed',
] as const;

export const JobPayload = bounded(
  z.looseObject({
    ...base,
    job_id: text(64).optional(),
    task_name: text(200).optional(),
    status: z.enum(JOB_STATUSES),
    phase: text(100).optional(),
    items_done: z.number().int().nonnegative().optional(),
    items_total: z.number().int().nonnegative().optional(),
    percent: num.optional(),
    progress_percent: num.optional(),
    elapsed_s: num.optional(),
    elapsed_time: num.optional(),
    last_item: z.unknown().optional(),
    success: z.boolean().optional(),
    reason: text(500).nullable().optional(),
  }),
);
export type JobPayload = z.infer<typeof JobPayload>;

export const ScanPayload = bounded(
  z.looseObject({
    ...base,
    code: text(512).min(1).optional(),
    /** Legacy names of `code`. */
    qr_data: text(512).min(1).optional(),
    qr: text(512).min(1).optional(),
    kind: z.enum(['qr', 'rfid', 'barcode']).optional(),
    station_name: text(100).optional(),
    action: text(100).optional(),
  }),
);
export type ScanPayload = z.infer<typeof ScanPayload>;

export const VisionPayload = bounded(
  z.looseObject({
    ...base,
    detection: z.boolean().optional(),
    label: text(100).nullable().optional(),
    confidence: num.nullable().optional(),
    bbox: z.array(num).max(4).nullable().optional(),
    center_x: num.nullable().optional(),
    frame_width: num.nullable().optional(),
    state: text(64).optional(),
    is_locked: z.boolean().optional(),
    navigation_command: text(64).nullable().optional(),
    error: text(500).nullable().optional(),
  }),
);
export type VisionPayload = z.infer<typeof VisionPayload>;

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export const LogPayload = bounded(
  z.looseObject({
    ...base,
    /** Case-insensitive; `warn` means `warning`. */
    level: text(16),
    message: text(8192),
    source: text(100).optional(),
  }),
);
export type LogPayload = z.infer<typeof LogPayload>;

export const CommandResponsePayload = bounded(
  z.looseObject({
    ...base,
    command_id: text(64).min(1),
    /** `accepted` first, then `succeeded` or `failed`; the legacy client sends only `success`. */
    status: z.enum(['accepted', 'succeeded', 'failed']).optional(),
    success: z.boolean().optional(),
    message: text(2000).optional(),
    result: z.unknown().optional(),
  }),
);
export type CommandResponsePayload = z.infer<typeof CommandResponsePayload>;

/** Server → robot. */
export const COMMAND_TYPES = [
  'move',
  'stop',
  'resume',
  'status_request',
  'battery_request',
  'shutdown',
  'head_nod',
  'head_shake',
  'start_job',
  'stop_job',
  'set_servo',
  'emergency_stop',
  'turn',
  'action',
  'speak',
  'set_config',
  'reboot',
] as const;
export const CommandType = z.enum(COMMAND_TYPES);
export type CommandType = z.infer<typeof CommandType>;

export const CommandPayload = bounded(
  z.object({
    command_id: text(64).min(1),
    type: CommandType,
    params: z.record(z.string(), z.unknown()).default({}),
    ts: z.number(),
    timeout_s: z.number().positive().max(3600).optional(),
  }),
);
export type CommandPayload = z.infer<typeof CommandPayload>;

export const BroadcastPayload = z.object({
  type: z.enum(['emergency_stop', 'resume']),
  reason: text(500).optional(),
  ts: z.number(),
});
export type BroadcastPayload = z.infer<typeof BroadcastPayload>;

export const CHANNEL_SCHEMAS = {
  status: StatusPayload,
  telemetry: TelemetryPayload,
  sensors: SensorsPayload,
  servos: ServosPayload,
  system: SystemPayload,
  battery: BatteryPayload,
  location: LocationPayload,
  job: JobPayload,
  scan: ScanPayload,
  vision: VisionPayload,
  log: LogPayload,
  'command/response': CommandResponsePayload,
} as const;

/** Largest payload the server accepts, in bytes. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
