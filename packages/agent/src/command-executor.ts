import {
  type JobSpec,
  LOW_BATTERY_SOC,
  MAX_WALK_SPEED_MPS,
  type RobotModel,
  WALK_SPEED_MPS,
} from './robot-model';
import { POSITION_MAX, POSITION_MIN, SERVO_COUNT } from './servo-model';
import type { CommandType, RobotCommand } from './wire-protocol';

/**
 * What each command does to the robot, independent of the protocol that carried it. Parameters are
 * checked here, with a message a person can act on, because the contract leaves `params` open.
 */

export type ExecutionPlan =
  | {
      ok: true;
      /** How long the action takes before it can be reported done. */
      duration_s: number;
      message: string;
      result?: unknown;
      /** Work for the connection layer once the command has been applied. */
      followUp?: 'publish_status' | 'publish_battery' | 'shutdown' | 'reboot';
      /** Fails as "interrupted" if the robot's motion changes before it finishes (stop, new move). */
      interruptible?: boolean;
    }
  | { ok: false; message: string };

/** Commands a robot still obeys while emergency-stopped. */
const ALLOWED_IN_EMERGENCY = new Set<CommandType>([
  'emergency_stop',
  'resume',
  'stop',
  'stop_job',
  'status_request',
  'battery_request',
  'shutdown',
]);

const DIRECTIONS = ['forward', 'backward', 'left', 'right'] as const;
type Direction = (typeof DIRECTIONS)[number];
const MAX_MOVE_M = 10;
const MAX_SPEAK_CHARS = 500;
/** The action groups a TonyPi ships with (HiWonder's `.d6a` files), and how long each runs. */
const ACTION_GROUPS: Readonly<Record<string, number>> = {
  wave: 2.5,
  bow: 2,
  stand: 1,
  sit_down: 2,
  stand_up: 2,
  twist: 3,
  left_kick: 1.5,
  right_kick: 1.5,
  chest: 2,
};
const MAX_SETTINGS = 64;

class ParamError extends Error {}

export function executeCommand(model: RobotModel, cmd: RobotCommand): ExecutionPlan {
  if (model.emergency && !ALLOWED_IN_EMERGENCY.has(cmd.type)) {
    return { ok: false, message: `emergency stop active (${model.emergency.reason}): send resume first` };
  }
  try {
    return run(model, cmd.type, cmd.params);
  } catch (err) {
    if (err instanceof ParamError) return { ok: false, message: err.message };
    throw err;
  }
}

function run(model: RobotModel, type: CommandType, p: Readonly<Record<string, unknown>>): ExecutionPlan {
  switch (type) {
    case 'move':
      return move(model, p);
    case 'stop':
      model.halt();
      return { ok: true, duration_s: 0.2, message: 'stopped' };
    case 'resume': {
      const wasStopped = model.emergency !== null;
      model.resume();
      return {
        ok: true,
        duration_s: 0.1,
        message: 'resumed',
        ...(wasStopped ? { followUp: 'publish_status' } : {}),
      };
    }
    case 'status_request':
      return {
        ok: true,
        duration_s: 0,
        message: 'status published',
        followUp: 'publish_status',
        result: {
          status: model.emergency ? 'emergency_stopped' : 'online',
          activity: model.activity,
          battery_percent: Math.round(model.battery_percent * 10) / 10,
          x_m: Math.round(model.x_m * 1000) / 1000,
          y_m: Math.round(model.y_m * 1000) / 1000,
          job: model.jobSnapshot?.job_id ?? null,
        },
      };
    case 'battery_request':
      return {
        ok: true,
        duration_s: 0,
        message: `battery ${model.battery_percent.toFixed(1)} %`,
        followUp: 'publish_battery',
        result: {
          percent: Math.round(model.battery_percent * 10) / 10,
          voltage_v: Math.round(model.battery.voltage_v * 100) / 100,
          charging: model.battery.charging,
        },
      };
    case 'shutdown':
      model.halt();
      return { ok: true, duration_s: 0.3, message: 'shutting down', followUp: 'shutdown' };
    case 'head_nod':
    case 'head_shake': {
      const duration_s = model.headGesture(type === 'head_nod' ? 'nod' : 'shake');
      return {
        ok: true,
        duration_s,
        message: type === 'head_nod' ? 'nodded' : 'shook head',
        interruptible: true,
      };
    }
    case 'start_job':
      return startJob(model, p);
    case 'stop_job': {
      const job = model.jobSnapshot;
      const reason = optionalString(p, 'reason', 500) ?? 'cancelled by operator';
      if (!job || !model.stopJob(reason)) return { ok: false, message: 'no job is running' };
      return {
        ok: true,
        duration_s: 0.2,
        message: `job ${job.job_id} cancelled`,
        result: { job_id: job.job_id },
      };
    }
    case 'set_servo': {
      const servo_id = requiredNumber(p, ['servo_id', 'servo'], 1, SERVO_COUNT, true);
      const position = requiredNumber(p, ['position'], POSITION_MIN, POSITION_MAX, false);
      const duration_s = model.setServo(servo_id - 1, position);
      return {
        ok: true,
        duration_s,
        message: `servo ${servo_id} moving to ${position}`,
        result: { servo_id, position },
      };
    }
    case 'turn': {
      const direction = p.direction;
      if (direction !== 'left' && direction !== 'right')
        throw new ParamError('direction must be left or right');
      const angle = optionalNumber(p, ['angle_deg', 'angle'], 0, 360) ?? 90;
      if (angle <= 0) throw new ParamError('angle_deg must be greater than 0 (degrees, at most 360)');
      const duration_s = model.turnBy(direction === 'left' ? angle : -angle);
      return { ok: true, duration_s, message: `turning ${direction} ${angle} deg`, interruptible: true };
    }
    case 'action': {
      const name = optionalString(p, 'name', 64);
      if (name === undefined) throw new ParamError('name is required');
      const once_s = ACTION_GROUPS[name];
      if (once_s === undefined) {
        throw new ParamError(
          `no action group '${name}' on this robot (it has ${Object.keys(ACTION_GROUPS).join(', ')})`,
        );
      }
      const repeat = optionalNumber(p, ['repeat'], 1, 10) ?? 1;
      model.halt();
      return {
        ok: true,
        duration_s: once_s * repeat,
        message: `action ${name} ×${repeat}`,
        interruptible: true,
      };
    }
    case 'speak': {
      const text = optionalString(p, 'text', MAX_SPEAK_CHARS);
      if (text === undefined) throw new ParamError('text is required');
      return {
        ok: true,
        duration_s: Math.max(0.3, text.length / 15),
        message: `said ${text.length} characters`,
      };
    }
    case 'set_config': {
      const values = p.values;
      if (typeof values !== 'object' || values === null || Array.isArray(values)) {
        throw new ParamError('values must be an object of settings');
      }
      const entries = Object.entries(values as Record<string, unknown>);
      if (entries.length === 0) throw new ParamError('values must name at least one setting');
      for (const [k, v] of entries) {
        if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'string') {
          throw new ParamError(`values.${k} must be a number, boolean or string`);
        }
      }
      if (Object.keys({ ...model.settings, ...(values as object) }).length > MAX_SETTINGS) {
        throw new ParamError(`at most ${MAX_SETTINGS} settings`);
      }
      Object.assign(model.settings, values);
      return {
        ok: true,
        duration_s: 0,
        message: `applied ${entries.length} setting(s)`,
        result: { applied: entries.map(([k]) => k) },
      };
    }
    case 'reboot':
      model.halt();
      return { ok: true, duration_s: 0.2, message: 'rebooting', followUp: 'reboot' };
    case 'emergency_stop': {
      const reason = optionalString(p, 'reason', 500) ?? 'emergency stop';
      model.emergencyStop(reason);
      return { ok: true, duration_s: 0, message: 'emergency stop engaged', followUp: 'publish_status' };
    }
  }
}

function move(model: RobotModel, p: Readonly<Record<string, unknown>>): ExecutionPlan {
  const speed = optionalNumber(p, ['speed_mps', 'speed'], -Infinity, Infinity) ?? WALK_SPEED_MPS;
  if (speed <= 0) throw new ParamError('speed must be greater than 0 (m/s)');
  const clamped = Math.min(speed, MAX_WALK_SPEED_MPS);
  const x = optionalNumber(p, ['x_m', 'x'], -1e6, 1e6);
  const y = optionalNumber(p, ['y_m', 'y'], -1e6, 1e6);
  let duration_s: number;
  let message: string;
  if (x !== undefined || y !== undefined) {
    if (x === undefined || y === undefined) throw new ParamError('x_m and y_m go together');
    duration_s = model.moveTo({ x, y }, clamped);
    message = `moving to (${x.toFixed(2)}, ${y.toFixed(2)})`;
  } else {
    const direction = p.direction ?? 'forward';
    if (typeof direction !== 'string' || !(DIRECTIONS as readonly string[]).includes(direction)) {
      throw new ParamError(`direction must be one of ${DIRECTIONS.join(', ')}`);
    }
    const dist = optionalNumber(p, ['distance_m', 'distance'], 0, MAX_MOVE_M) ?? 0.5;
    if (dist <= 0) throw new ParamError(`distance must be greater than 0 (metres, at most ${MAX_MOVE_M})`);
    duration_s = model.moveBy(direction as Direction, dist, clamped);
    message = `moving ${direction} ${dist.toFixed(2)} m`;
  }
  if (clamped < speed) message += ` (speed limited to ${MAX_WALK_SPEED_MPS} m/s)`;
  return { ok: true, duration_s, message, interruptible: true };
}

function startJob(model: RobotModel, p: Readonly<Record<string, unknown>>): ExecutionPlan {
  const running = model.jobSnapshot;
  if (running) return { ok: false, message: `job ${running.job_id} is already running` };
  if (model.battery.soc < LOW_BATTERY_SOC) {
    return { ok: false, message: `battery too low to start a job (${model.battery_percent.toFixed(0)} %)` };
  }
  const spec: JobSpec = {};
  const job_id = optionalString(p, 'job_id', 64);
  const task_name = optionalString(p, 'task_name', 200);
  const items = optionalNumber(p, ['items_total', 'items'], 1, 1000);
  if (job_id !== undefined) spec.job_id = job_id;
  if (task_name !== undefined) spec.task_name = task_name;
  if (items !== undefined) {
    if (!Number.isInteger(items)) throw new ParamError('items_total must be an integer');
    spec.items_total = items;
  }
  const job = model.startJob(spec);
  return { ok: true, duration_s: 0.1, message: `job ${job.job_id} started`, result: { job_id: job.job_id } };
}

function pickValue(
  p: Readonly<Record<string, unknown>>,
  keys: readonly string[],
): [string, unknown] | undefined {
  for (const k of keys) if (p[k] !== undefined && p[k] !== null) return [k, p[k]];
  return undefined;
}

function optionalNumber(
  p: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  min: number,
  max: number,
): number | undefined {
  const found = pickValue(p, keys);
  if (!found) return undefined;
  const [key, raw] = found;
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ParamError(`${key} must be a number`);
  if (v < min || v > max) throw new ParamError(`${key} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function requiredNumber(
  p: Readonly<Record<string, unknown>>,
  keys: readonly string[],
  min: number,
  max: number,
  integer: boolean,
): number {
  const v = optionalNumber(p, keys, min, max);
  if (v === undefined) throw new ParamError(`${keys[0]} is required`);
  if (integer && !Number.isInteger(v)) throw new ParamError(`${keys[0]} must be an integer`);
  return v;
}

function optionalString(p: Readonly<Record<string, unknown>>, key: string, max: number): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new ParamError(`${key} must be a non-empty string of at most ${max} characters`);
  }
  return v;
}
