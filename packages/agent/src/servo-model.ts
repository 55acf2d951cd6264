import { clamp } from './math';

/**
 * The TonyPi's bus servos as the simulator models them: positions in the HiWonder range 0..1000
 * (500 = centre), a slew-rate limit, and a first-order thermal model — the case heats towards an
 * equilibrium that rises with load and relaxes with a time constant of a couple of minutes, so a
 * walking robot's knees run warm and an idle robot cools back to ambient.
 */

export const SERVO_NAMES = [
  'Left Hip',
  'Left Knee',
  'Right Hip',
  'Right Knee',
  'Head Pan',
  'Head Tilt',
] as const;
export const SERVO_COUNT = SERVO_NAMES.length;
export const LEG_SERVOS = [0, 1, 2, 3] as const;
export const HEAD_PAN = 4;
export const HEAD_TILT = 5;

export const POSITION_MIN = 0;
export const POSITION_MAX = 1000;
export const POSITION_CENTRE = 500;
export const AMBIENT_C = 30;
/** The servo's own thermal protection: torque off at this temperature, back on once cooled. */
export const THERMAL_CUTOFF_C = 80;
export const THERMAL_RESUME_C = 65;
/** Nothing in a servo case gets hotter than this, even when stalled. */
export const MAX_TEMPERATURE_C = 90;

const SLEW_PER_S = 1200;
const THERMAL_TAU_S = 120;
/** Degrees above ambient at 100 % load. */
const HEAT_PER_LOAD_C = 0.4;

export interface ServoState {
  readonly id: number;
  readonly name: string;
  position: number;
  /** Where the servo is being driven (behaviour or an explicit set_servo). */
  target: number;
  /** A set_servo command's position; wins over the behaviour's target until cleared. */
  override: number | null;
  temperature_c: number;
  voltage_v: number;
  load_percent: number;
  torque_enabled: boolean;
}

export function createServos(): ServoState[] {
  return SERVO_NAMES.map((name, i) => ({
    id: i + 1,
    name,
    position: POSITION_CENTRE,
    target: POSITION_CENTRE,
    override: null,
    temperature_c: AMBIENT_C,
    voltage_v: 7.4,
    load_percent: 0,
    torque_enabled: true,
  }));
}

/**
 * Advances one servo. `behaviourTarget` is where the gait or head animation wants it, `load` its
 * mechanical load (0..100), `extraHeat_c` a fault's additional heating, `supply_v` the servo rail.
 */
export function stepServo(
  s: ServoState,
  behaviourTarget: number,
  load: number,
  extraHeat_c: number,
  supply_v: number,
  dt_s: number,
): void {
  s.target = clampPosition(s.override ?? behaviourTarget);
  if (s.torque_enabled) {
    const maxStep = SLEW_PER_S * dt_s;
    s.position += clamp(s.target - s.position, -maxStep, maxStep);
    s.load_percent = clamp(load, 0, 100);
  } else {
    // Limp after a thermal cut-off: no holding torque, so no load.
    s.load_percent = 0;
  }
  const equilibrium = AMBIENT_C + HEAT_PER_LOAD_C * s.load_percent + extraHeat_c;
  const alpha = 1 - Math.exp(-dt_s / THERMAL_TAU_S);
  s.temperature_c = Math.min(MAX_TEMPERATURE_C, s.temperature_c + (equilibrium - s.temperature_c) * alpha);
  if (s.torque_enabled && s.temperature_c >= THERMAL_CUTOFF_C) s.torque_enabled = false;
  else if (!s.torque_enabled && s.temperature_c <= THERMAL_RESUME_C) s.torque_enabled = true;
  // The rail sags a little under the servo's own load.
  s.voltage_v = supply_v - 0.004 * s.load_percent;
}

export function clampPosition(p: number): number {
  return clamp(p, POSITION_MIN, POSITION_MAX);
}

/** The seed client's alert level for a servo temperature. */
export function servoAlertLevel(temperature_c: number): 'normal' | 'warning' | 'critical' {
  if (temperature_c >= 70) return 'critical';
  if (temperature_c >= 60) return 'warning';
  return 'normal';
}
