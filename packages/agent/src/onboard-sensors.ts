import { DARK_CORNER, distanceToWall, ULTRASONIC_MAX_CM } from './floor-plan';
import { clamp } from './math';
import type { Prng } from './prng';
import type { ImuReading } from './robot-readings';

/**
 * What the robot's sensors read, given what its body is doing: an IMU that feels the gait's sway
 * and the turns (with noise, and spikes when turning in place), an ultrasonic ranger looking
 * ahead at the walls, and a light sensor that goes dark in one corner of the room.
 */

export interface Motion {
  moving: boolean;
  gaitPhase: number;
  yawRate_dps: number;
  /** Negative when walking backwards. */
  speed_mps: number;
}

export function sampleImu(imu: ImuReading, rng: Prng, m: Motion): void {
  const p = m.gaitPhase;
  const sway = m.moving ? 1 : 0;
  imu.accel_x_ms2 = sway * 1.2 * Math.sin(2 * p) + rng.normal(0.04);
  imu.accel_y_ms2 = sway * 0.8 * Math.sin(p) + rng.normal(0.04);
  imu.accel_z_ms2 = 9.81 + sway * 0.6 * Math.cos(2 * p) + rng.normal(0.05);
  imu.gyro_x_dps = sway * 8 * Math.sin(p) + rng.normal(0.3);
  imu.gyro_y_dps = sway * 5 * Math.cos(p) + rng.normal(0.3);
  // Turning in place on two legs is jerky: the yaw rate comes with spikes.
  const turning = Math.abs(m.yawRate_dps) > 1;
  imu.gyro_z_dps = m.yawRate_dps + rng.normal(0.3) + (turning ? rng.normal(12) : 0);
  imu.roll_deg = sway * 3 * Math.sin(p) + rng.normal(0.2);
  // A walking humanoid leans into its direction of travel.
  imu.pitch_deg = (m.moving ? 2 + Math.sign(m.speed_mps) * 2 : 0) + rng.normal(0.2);
}

export function sampleUltrasonicCm(rng: Prng, x: number, y: number, heading_deg: number): number {
  const wall_cm = distanceToWall(x, y, heading_deg) * 100;
  return clamp(Math.min(ULTRASONIC_MAX_CM, wall_cm) + rng.normal(0.8), 2, ULTRASONIC_MAX_CM);
}

export function sampleLightPercent(rng: Prng, x: number, y: number): number {
  const d = Math.hypot(x - DARK_CORNER.x, y - DARK_CORNER.y);
  const light = d < 2.5 ? 8 + 60 * (d / 2.5) : 72;
  return clamp(light + rng.normal(1.5), 0, 100);
}
