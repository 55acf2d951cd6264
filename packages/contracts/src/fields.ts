import type { MeasurementName } from './measurements';

/**
 * Which stored field a payload key means, per channel. The canonical name maps to itself; the
 * legacy client's and the seeds' names are aliases. A numeric key that is in no table is stored
 * as an extra field of the channel's own measurement.
 */
export type FieldTarget = readonly [MeasurementName, string];

const SYSTEM: Record<string, FieldTarget> = {
  cpu_percent: ['system', 'cpu_percent'],
  system_cpu_percent: ['system', 'cpu_percent'],
  cpu: ['system', 'cpu_percent'],
  memory_percent: ['system', 'memory_percent'],
  system_memory_percent: ['system', 'memory_percent'],
  memory: ['system', 'memory_percent'],
  disk_percent: ['system', 'disk_percent'],
  disk_usage: ['system', 'disk_percent'],
  system_disk_usage: ['system', 'disk_percent'],
  cpu_temperature_c: ['system', 'cpu_temperature_c'],
  cpu_temperature: ['system', 'cpu_temperature_c'],
  system_temperature: ['system', 'cpu_temperature_c'],
  temperature: ['system', 'cpu_temperature_c'],
  temp: ['system', 'cpu_temperature_c'],
  uptime_s: ['system', 'uptime_s'],
  uptime: ['system', 'uptime_s'],
  uptime_seconds: ['system', 'uptime_s'],
  system_uptime: ['system', 'uptime_s'],
};

const BATTERY: Record<string, FieldTarget> = {
  percent: ['battery', 'percent'],
  percentage: ['battery', 'percent'],
  battery_level: ['battery', 'percent'],
  battery_percent: ['battery', 'percent'],
  voltage_v: ['battery', 'voltage_v'],
  voltage: ['battery', 'voltage_v'],
  current_a: ['battery', 'current_a'],
  current: ['battery', 'current_a'],
  charging: ['battery', 'charging'],
};

const IMU: Record<string, FieldTarget> = {};
for (const axis of ['x', 'y', 'z'] as const) {
  IMU[`accel_${axis}_ms2`] = ['sensors', `accel_${axis}_ms2`];
  IMU[`accelerometer_${axis}`] = ['sensors', `accel_${axis}_ms2`];
  IMU[`accel_${axis}`] = ['sensors', `accel_${axis}_ms2`];
  IMU[`gyro_${axis}_dps`] = ['sensors', `gyro_${axis}_dps`];
  IMU[`gyroscope_${axis}`] = ['sensors', `gyro_${axis}_dps`];
  IMU[`gyro_${axis}`] = ['sensors', `gyro_${axis}_dps`];
}
for (const angle of ['roll', 'pitch', 'yaw'] as const) {
  IMU[`${angle}_deg`] = ['sensors', `${angle}_deg`];
  IMU[angle] = ['sensors', `${angle}_deg`];
}

export const FIELD_ALIASES = {
  sensors: {
    ...IMU,
    ultrasonic_distance_cm: ['sensors', 'ultrasonic_distance_cm'],
    ultrasonic_distance: ['sensors', 'ultrasonic_distance_cm'],
    distance_cm: ['sensors', 'ultrasonic_distance_cm'],
    light_level_percent: ['sensors', 'light_level_percent'],
    light_level: ['sensors', 'light_level_percent'],
    light_dark: ['sensors', 'light_dark'],
    light_sensor_dark: ['sensors', 'light_dark'],
    // The seeds' flat "sensors" payloads carry system and battery numbers too.
    ...SYSTEM,
    battery_level: ['battery', 'percent'],
    battery_percent: ['battery', 'percent'],
    battery_voltage: ['battery', 'voltage_v'],
    battery_voltage_v: ['battery', 'voltage_v'],
  },
  system: SYSTEM,
  battery: BATTERY,
  location: {
    x_m: ['location', 'x_m'],
    x: ['location', 'x_m'],
    y_m: ['location', 'y_m'],
    y: ['location', 'y_m'],
    z_m: ['location', 'z_m'],
    z: ['location', 'z_m'],
    heading_deg: ['location', 'heading_deg'],
    heading: ['location', 'heading_deg'],
  },
  servo: {
    position: ['servos', 'position'],
    target_position: ['servos', 'target_position'],
    temperature_c: ['servos', 'temperature_c'],
    temperature: ['servos', 'temperature_c'],
    voltage_v: ['servos', 'voltage_v'],
    voltage: ['servos', 'voltage_v'],
    load_percent: ['servos', 'load_percent'],
    torque_enabled: ['servos', 'torque_enabled'],
  },
} as const satisfies Record<string, Record<string, FieldTarget>>;

export type AliasTable = keyof typeof FIELD_ALIASES;

/** Keys that describe a message rather than measure something: never stored as extra fields. */
export const META_KEYS = new Set([
  'ts',
  'timestamp',
  'robot_id',
  'sensor_type',
  'value',
  'unit',
  'id',
  'name',
  'servo_count',
  'alert_level',
  'protocol_version',
]);
