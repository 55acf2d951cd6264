import type { Prng } from './prng';
import type { ModelEvent } from './robot-readings';
import { LEG_SERVOS } from './servo-model';

/**
 * The faults a fleet in the field shows, at rates that make them visible in a demo without
 * drowning it: per robot, a leg servo overheating episode about every 30 min (it heats until the
 * servo's own protection cuts its torque), a dropped link about every 20 min, a warning every
 * ~7 min and an error every ~10 min.
 */

const OVERHEAT_EVERY_S = 1800;
const DISCONNECT_EVERY_S = 1200;
const ERROR_EVERY_S = 600;
const WARNING_EVERY_S = 400;

const ERROR_LOGS = [
  ['Camera frame timeout after 2000 ms', 'camera'],
  ['IMU read failed: I2C bus busy, retrying', 'imu'],
  ['QR decode failed: image too blurry', 'vision'],
  ['Servo bus checksum error on servo 3', 'servo_bus'],
] as const;
const WARNING_LOGS = [
  ['WiFi signal weak (-78 dBm)', 'network'],
  ['IMU calibration drift detected', 'imu'],
  ['Camera frame dropped (buffer full)', 'camera'],
  ['Ultrasonic echo lost, using last reading', 'ultrasonic'],
] as const;

export class FaultInjector {
  private overheat: { servo: number; left_s: number } | null = null;

  /** Index of the servo in an overheating episode, or null. */
  get overheatingServo(): number | null {
    return this.overheat?.servo ?? null;
  }

  step(dt: number, rng: Prng, emit: (e: ModelEvent) => void): void {
    if (this.overheat) {
      this.overheat.left_s -= dt;
      if (this.overheat.left_s <= 0) this.overheat = null;
    } else if (rng.chance(dt / OVERHEAT_EVERY_S)) {
      this.overheat = { servo: rng.pick(LEG_SERVOS), left_s: rng.range(120, 300) };
    }
    if (rng.chance(dt / DISCONNECT_EVERY_S)) emit({ kind: 'disconnect' });
    if (rng.chance(dt / ERROR_EVERY_S)) {
      const [message, source] = rng.pick(ERROR_LOGS);
      emit({ kind: 'log', level: 'error', message, source });
    }
    if (rng.chance(dt / WARNING_EVERY_S)) {
      const [message, source] = rng.pick(WARNING_LOGS);
      emit({ kind: 'log', level: 'warning', message, source });
    }
  }
}
