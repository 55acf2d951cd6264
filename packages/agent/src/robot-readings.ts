import type { LOG_LEVELS } from '@tonypi/contracts';
import type { BatteryState } from './battery-model';
import type { ServoState } from './servo-model';

/**
 * What a robot reports, as the payload builders see it. The simulator's model provides it; the
 * on-robot agent will fill the same shape from the hardware, so the wire code is shared.
 */

export interface ImuReading {
  accel_x_ms2: number;
  accel_y_ms2: number;
  accel_z_ms2: number;
  gyro_x_dps: number;
  gyro_y_dps: number;
  gyro_z_dps: number;
  roll_deg: number;
  pitch_deg: number;
}

export interface SystemReading {
  cpu_percent: number;
  memory_percent: number;
  disk_percent: number;
  cpu_temperature_c: number;
}

export type Activity = 'idle' | 'turning' | 'walking' | 'scanning' | 'charging';

export interface RobotReadings {
  readonly uptime_s: number;
  readonly x_m: number;
  readonly y_m: number;
  readonly heading_deg: number;
  readonly imu: Readonly<ImuReading>;
  readonly ultrasonic_cm: number;
  readonly light_percent: number;
  readonly light_dark: boolean;
  readonly system: Readonly<SystemReading>;
  readonly battery: Readonly<BatteryState>;
  readonly battery_percent: number;
  readonly servos: readonly Readonly<ServoState>[];
  readonly activity: Activity;
  readonly emergency: { readonly reason: string } | null;
}

export interface JobSnapshot {
  job_id: string;
  task_name: string;
  items_total: number;
  items_done: number;
  percent: number;
  elapsed_s: number;
  estimated_duration_s: number;
  /** Robot uptime when the job started (the wire layer turns it into a clock time). */
  started_at_s: number;
  last_item: string | null;
  history: readonly string[];
}

export type JobEventStatus = 'started' | 'in_progress' | 'completed' | 'cancelled' | 'failed';
/** The log levels the simulated robot uses (of the protocol's LOG_LEVELS). */
export type LogLevel = Extract<(typeof LOG_LEVELS)[number], 'info' | 'warning' | 'error'>;

/** Things that happen, as opposed to readings that are sampled. */
export type ModelEvent =
  | { kind: 'job'; status: JobEventStatus; job: JobSnapshot; reason?: string }
  | { kind: 'scan'; code: string; station_name: string; action: string }
  | {
      kind: 'vision';
      label: string;
      confidence: number;
      bbox: [number, number, number, number];
      center_x: number;
      frame_width: number;
    }
  | { kind: 'log'; level: LogLevel; message: string; source: string }
  /** A fault: the link drops (the robot force-closes its socket, the broker fires the Last Will). */
  | { kind: 'disconnect' };
