import { clamp } from './math';

/**
 * A 3S LiPo pack like the TonyPi's (11.1 V nominal, 2000 mAh): 12.6 V full, 9.0 V empty. The
 * open-circuit voltage follows a typical LiPo discharge curve (flat in the middle, steep at both
 * ends), the terminal voltage sags under load through the pack's internal resistance, and the
 * charger runs constant current to ~80 % then tapers, as a balance charger does.
 */

export const CELLS = 3;
export const CAPACITY_AH = 2.0;
export const FULL_V = 12.6;
export const EMPTY_V = 9.0;
const INTERNAL_RESISTANCE_OHM = 0.18;
const CHARGE_CURRENT_A = 2.0;
const TAPER_FROM_SOC = 0.8;

/** Per-cell open-circuit voltage at a state of charge (0..1): [soc, volts]. */
const OCV_CURVE: readonly (readonly [number, number])[] = [
  [0, 3.0],
  [0.05, 3.3],
  [0.1, 3.5],
  [0.2, 3.65],
  [0.4, 3.75],
  [0.6, 3.85],
  [0.8, 4.0],
  [1, 4.2],
];

export interface BatteryState {
  /** State of charge, 0..1. */
  soc: number;
  /** Positive when discharging, negative when charging. */
  current_a: number;
  charging: boolean;
  /** Terminal voltage (what a robot measures). */
  voltage_v: number;
}

export function openCircuitVoltage(soc: number): number {
  const s = clamp(soc, 0, 1);
  for (let i = 1; i < OCV_CURVE.length; i++) {
    const [s1, v1] = OCV_CURVE[i]!;
    if (s <= s1) {
      const [s0, v0] = OCV_CURVE[i - 1]!;
      return CELLS * (v0 + ((v1 - v0) * (s - s0)) / (s1 - s0));
    }
  }
  return FULL_V;
}

/** The fuel-gauge estimate a robot reports: percent from the resting voltage. */
export function percentFromVoltage(restingVoltage: number): number {
  const perCell = restingVoltage / CELLS;
  if (perCell <= OCV_CURVE[0]![1]) return 0;
  for (let i = 1; i < OCV_CURVE.length; i++) {
    const [s1, v1] = OCV_CURVE[i]!;
    if (perCell <= v1) {
      const [s0, v0] = OCV_CURVE[i - 1]!;
      return 100 * (s0 + ((s1 - s0) * (perCell - v0)) / (v1 - v0));
    }
  }
  return 100;
}

export function createBattery(soc: number): BatteryState {
  return { soc: clamp(soc, 0, 1), current_a: 0, charging: false, voltage_v: openCircuitVoltage(soc) };
}

/** Charger current at a state of charge: constant current, then a linear taper to a trickle. */
export function chargeCurrent(soc: number): number {
  if (soc < TAPER_FROM_SOC) return CHARGE_CURRENT_A;
  return Math.max(0.05, CHARGE_CURRENT_A * ((1 - soc) / (1 - TAPER_FROM_SOC)));
}

/** Advances the pack by `dt_s` seconds, drawing `load_a` (or charging when `charging`). */
export function stepBattery(b: BatteryState, load_a: number, charging: boolean, dt_s: number): void {
  // On the charger the robot's own draw comes out of the charger's current.
  const current = charging ? load_a * 0.3 - chargeCurrent(b.soc) : load_a;
  b.soc = clamp(b.soc - (current * dt_s) / 3600 / CAPACITY_AH, 0, 1);
  b.current_a = current;
  b.charging = charging;
  b.voltage_v = clamp(openCircuitVoltage(b.soc) - current * INTERNAL_RESISTANCE_OHM, EMPTY_V, FULL_V);
}

export function batteryPercent(b: BatteryState): number {
  return percentFromVoltage(openCircuitVoltage(b.soc));
}
