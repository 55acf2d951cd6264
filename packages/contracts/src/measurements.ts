/**
 * The telemetry model, shaped like InfluxDB: a measurement (one per data channel), tags that
 * identify a series (always the robot, sometimes a servo), and numeric fields with their unit in
 * the name. Known fields are columns of one wide row per message; any other numeric field a
 * robot sends is stored too (a robot gains a sensor without a schema change).
 */

export const MEASUREMENTS = {
  sensors: {
    tags: [],
    fields: [
      'accel_x_ms2',
      'accel_y_ms2',
      'accel_z_ms2',
      'gyro_x_dps',
      'gyro_y_dps',
      'gyro_z_dps',
      'roll_deg',
      'pitch_deg',
      'yaw_deg',
      'ultrasonic_distance_cm',
      'light_level_percent',
      'light_dark',
    ],
  },
  servos: {
    tags: ['servo_id'],
    fields: ['position', 'target_position', 'temperature_c', 'voltage_v', 'load_percent', 'torque_enabled'],
  },
  system: {
    tags: [],
    fields: ['cpu_percent', 'memory_percent', 'disk_percent', 'cpu_temperature_c', 'uptime_s'],
  },
  battery: {
    tags: [],
    fields: ['percent', 'voltage_v', 'current_a', 'charging'],
  },
  location: {
    tags: [],
    fields: ['x_m', 'y_m', 'z_m', 'heading_deg'],
  },
  job: {
    tags: [],
    fields: ['items_done', 'items_total', 'percent', 'elapsed_s'],
  },
  vision: {
    tags: [],
    fields: ['detected', 'confidence', 'center_x', 'frame_width', 'locked'],
  },
} as const satisfies Record<string, { tags: readonly string[]; fields: readonly string[] }>;

export type MeasurementName = keyof typeof MEASUREMENTS;
export const MEASUREMENT_NAMES = Object.keys(MEASUREMENTS) as MeasurementName[];

export function isMeasurementName(name: string): name is MeasurementName {
  return Object.hasOwn(MEASUREMENTS, name);
}

/**
 * Largest magnitude a stored number may have. Far beyond any sensor (epoch ms is ~1.8e12), and
 * small enough that sums over years of points stay finite.
 */
export const MAX_ABS_VALUE = 1e15;

/** Field and tag names (known or not) must be safe identifiers; anything else is rejected at ingest. */
export const FIELD_NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;

/** One data point: one message's numbers for one series. `ts` is epoch milliseconds. */
export interface TelemetryPoint {
  measurement: MeasurementName;
  robot_id: string;
  /** Extra series tags, e.g. `{ servo_id: '3' }` for servos. */
  tags?: Readonly<Record<string, string>>;
  ts: number;
  fields: Readonly<Record<string, number>>;
}

export const AGGREGATES = ['avg', 'min', 'max', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** Resolutions the store keeps: raw points, one-minute and one-hour roll-ups. */
export const RESOLUTIONS = ['raw', '1m', '1h'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
