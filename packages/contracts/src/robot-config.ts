import { z } from 'zod';
import { LOG_LEVELS } from './payloads';

/**
 * A robot's configuration (issue #7 §3): what the robot applies itself — how often it publishes each
 * channel, limits it enforces on board, how much it logs — versioned on the server and sent to the robot
 * retained on `tonypi/{id}/config` (QoS 1), so a robot that connects later gets the current one at once.
 * Every object is strict: a key the robot would not understand is refused, not silently ignored.
 */
const Iso = z.string().describe('ISO-8601 UTC');

const rate = z.number().min(0.01).max(100).describe('Messages per second (0.01 … 100)');

export const RobotPublishRates = z
  .object({
    telemetry: rate.optional().describe('The telemetry bundle (or the legacy per-reading messages)'),
    sensors: rate.optional(),
    servos: rate.optional(),
    system: rate.optional(),
    battery: rate.optional(),
    location: rate.optional(),
    vision: rate.optional(),
  })
  .strict();

export const RobotOnboardThresholds = z
  .object({
    servo_temperature_c_max: z
      .number()
      .min(30)
      .max(100)
      .optional()
      .describe('Above it the robot relaxes the servo (torque off) on its own'),
    cpu_temperature_c_max: z
      .number()
      .min(40)
      .max(110)
      .optional()
      .describe('Above it the robot throttles its work'),
    battery_percent_min: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe('Below it the robot refuses new jobs and asks to be charged'),
    obstacle_distance_cm_min: z
      .number()
      .min(1)
      .max(500)
      .optional()
      .describe('Closer than this the robot stops walking'),
  })
  .strict();

export const RobotConfig = z
  .object({
    publish_rates_hz: RobotPublishRates.optional(),
    thresholds: RobotOnboardThresholds.optional(),
    log_level: z.enum(LOG_LEVELS).optional().describe('The lowest level the robot sends on its log channel'),
  })
  .strict()
  .meta({ id: 'RobotConfig' });
export type RobotConfig = z.infer<typeof RobotConfig>;

export const RobotConfigVersion = z
  .object({
    robot_id: z.string(),
    version: z.number().int().describe('1 for the first; 0 = none set yet (config {})'),
    config: RobotConfig,
    changed_by: z.string().nullable().describe('Who set it (user name); null before any'),
    changed_at: Iso.nullable(),
  })
  .meta({ id: 'RobotConfigVersion' });
export type RobotConfigVersion = z.infer<typeof RobotConfigVersion>;

export const RobotConfigHistory = z.object({
  items: z.array(RobotConfigVersion).describe('Newest first'),
});

export const PutRobotConfigRequest = z
  .object({
    config: RobotConfig,
    version: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('The version this change is based on (as GET returned it): 409 when it is no longer current'),
  })
  .strict();

/**
 * What the server publishes, retained, on `tonypi/{id}/config` (QoS 1): the configuration's fields at the
 * top level, with its version and the time it was set.
 */
export const RobotConfigPayload = RobotConfig.extend({
  version: z.number().int().min(1),
  ts: z.number(),
}).strict();
export type RobotConfigPayload = z.infer<typeof RobotConfigPayload>;
