import type { Activity } from './robot-readings';
import { HEAD_PAN, HEAD_TILT, POSITION_CENTRE, type ServoState, stepServo } from './servo-model';

/**
 * Where the behaviour drives each servo and how hard it works: a walking gait for the legs (hips
 * swing in antiphase, each knee lifts on its own half of the cycle), a head that sweeps while
 * scanning for a QR code, and the nod / shake gestures.
 */

export interface BodyPose {
  activity: Activity;
  /** Gait cycle phase, radians. */
  gaitPhase: number;
  uptime_s: number;
  gesture: { kind: 'nod' | 'shake'; elapsed_s: number } | null;
  /** A leg or head servo in an overheating episode (a fault), or null. */
  overheatServo: number | null;
  /** The servo supply rail, volts. */
  rail_v: number;
}

const OVERHEAT_EXTRA_C = 45;

export function driveServos(servos: readonly ServoState[], pose: BodyPose, dt: number): void {
  const moving = pose.activity === 'walking' || pose.activity === 'turning';
  const s = moving ? Math.sin(pose.gaitPhase) : 0;
  const a = Math.abs(s);
  // Standing upright still takes some holding torque; sitting on the dock takes less.
  const stance = pose.activity === 'charging' ? 5 : 12;
  const hipLoad = moving ? 45 + 15 * a : stance;
  const kneeLoad = moving ? 55 + 20 * a : stance + 2;
  const drive = (i: number, target: number, load: number): void => {
    const servo = servos[i];
    if (servo)
      stepServo(servo, target, load, pose.overheatServo === i ? OVERHEAT_EXTRA_C : 0, pose.rail_v, dt);
  };
  drive(0, POSITION_CENTRE + 140 * s, hipLoad);
  drive(1, POSITION_CENTRE + 160 * Math.max(0, s), kneeLoad);
  drive(2, POSITION_CENTRE - 140 * s, hipLoad);
  drive(3, POSITION_CENTRE + 160 * Math.max(0, -s), kneeLoad);

  let pan = POSITION_CENTRE;
  let tilt = POSITION_CENTRE;
  if (pose.activity === 'scanning') {
    pan += 220 * Math.sin(0.9 * pose.uptime_s);
    tilt = 420;
  }
  const g = pose.gesture;
  if (g) {
    const swing = 150 * Math.sin(2 * Math.PI * 1.5 * g.elapsed_s);
    if (g.kind === 'nod') tilt += swing;
    else pan += swing;
  }
  const headLoad = g || pose.activity === 'scanning' ? 10 : 5;
  drive(HEAD_PAN, pan, headLoad);
  drive(HEAD_TILT, tilt, headLoad);
}
