import { type BatteryState, batteryPercent, createBattery, stepBattery } from './battery-model';
import { driveServos } from './body-motion';
import { FaultInjector } from './fault-injector';
import {
  bearing,
  CHARGER,
  clampToFloor,
  distance,
  headingError,
  normalizeHeading,
  type Point,
  STATIONS,
  type Station,
  ULTRASONIC_MAX_CM,
} from './floor-plan';
import { clamp, round } from './math';
import { sampleImu, sampleLightPercent, sampleUltrasonicCm } from './onboard-sensors';
import { createPrng, type Prng } from './prng';
import type {
  Activity,
  ImuReading,
  JobEventStatus,
  JobSnapshot,
  LogLevel,
  ModelEvent,
  RobotReadings,
  SystemReading,
} from './robot-readings';
import { createServos, LEG_SERVOS, type ServoState, THERMAL_RESUME_C } from './servo-model';
import { SystemLoad } from './system-load';

/**
 * The simulated robot: a pure, deterministic model (no clock, no I/O, no Math.random) stepped by
 * `step(dt_s)`. Given the same seed and the same sequence of steps and commands it produces the
 * same readings and events, which is what lets tests assert on behaviour over simulated hours.
 *
 * Behaviour: with a job, the robot walks between stations, scans an item at each (vision load on
 * the CPU), and reports progress; when the battery falls below 15 % it walks to the dock, charges
 * to 95 % and resumes. Walking loads the leg servos (they heat), drains the pack faster and keeps
 * the CPU busier. Without a job an autonomous robot idles a little, then takes the next job.
 */

export const WALK_SPEED_MPS = 0.15;
export const MAX_WALK_SPEED_MPS = 0.25;
export const TURN_RATE_DPS = 60;
export const LOW_BATTERY_SOC = 0.15;
export const RESUME_SOC = 0.95;
export const JOB_PROGRESS_EVERY_S = 5;
export const GESTURE_S = 1.5;

const STEP_HZ = 1.6;
/** Larger steps are split so a stalled event loop does not make the robot jump through walls. */
const MAX_SUBSTEP_S = 0.5;
/** Heading error above which the robot turns in place before walking. */
const TURN_IN_PLACE_DEG = 15;
/** A depleted robot waits this long for someone to carry it to the dock. */
const RESCUE_AFTER_S = 120;
const PI_IDLE_A = 0.45;
const A_PER_CPU_PERCENT = 0.004;
const A_PER_SERVO_LOAD_PERCENT = 0.007;
/** The servo rail follows the pack through a fixed-ratio converter, so it sees the pack's sag. */
const SERVO_RAIL_RATIO = 0.6;

const TASK_NAMES = ['Pick run', 'Inventory scan', 'Restock', 'Quality check'] as const;

export interface RobotModelOptions {
  /** The robot id; job ids are derived from it. */
  id: string;
  seed: number;
  /** Occasional servo overheating, link drops and error logs. */
  faults?: boolean;
  /** Take jobs on its own when idle (a live demo); off, the robot only does what it is told. */
  autonomy?: boolean;
  /** Initial state of charge 0..1; random (35..100 %) when omitted. */
  initialSoc?: number;
  start?: Point & { heading_deg: number };
}

interface Goal extends Point {
  kind: 'station' | 'charger' | 'manual';
  station: Station | null;
  speed: number;
  /** Walk backwards (a `move backward`), facing away from the goal. */
  reverse: boolean;
}

interface Job {
  job_id: string;
  task_name: string;
  items_total: number;
  items_done: number;
  started_at_s: number;
  last_item: string | null;
  history: string[];
  next_progress_s: number;
}

export interface JobSpec {
  job_id?: string;
  task_name?: string;
  items_total?: number;
}

export class RobotModel implements RobotReadings {
  uptime_s = 0;
  x_m: number;
  y_m: number;
  heading_deg: number;
  readonly imu: ImuReading = {
    accel_x_ms2: 0,
    accel_y_ms2: 0,
    accel_z_ms2: 9.81,
    gyro_x_dps: 0,
    gyro_y_dps: 0,
    gyro_z_dps: 0,
    roll_deg: 0,
    pitch_deg: 0,
  };
  ultrasonic_cm = ULTRASONIC_MAX_CM;
  light_percent = 70;
  light_dark = false;
  readonly system: SystemReading;
  readonly battery: BatteryState;
  readonly servos: ServoState[] = createServos();
  activity: Activity = 'idle';
  emergency: { reason: string } | null = null;
  /** Settings a `set_config` command applied (the simulator keeps them; a real agent would act on them). */
  readonly settings: Record<string, number | string | boolean> = {};
  /** Stopped by a command: no walking until resume (or a new move / job). */
  halted = false;
  /** Bumped whenever motion is redirected (stop, move, job): a pending move then reports "interrupted". */
  motionEpoch = 0;

  private readonly rng: Prng;
  /** Null when faults are off. */
  private readonly faults: FaultInjector | null;
  private readonly autonomy: boolean;
  private readonly id: string;
  private events: ModelEvent[] = [];
  private goal: Goal | null = null;
  /** A `turn` command's heading: turned to in place, then the robot holds there. */
  private turnGoal: number | null = null;
  /** After a manual move the robot stays where it was sent until resumed or given a job. */
  private manualHold = false;
  private job: Job | null = null;
  private jobCount = 0;
  private idleLeft_s: number;
  private scanLeft_s = 0;
  private gesture: { kind: 'nod' | 'shake'; left_s: number } | null = null;
  private depletedFor_s: number | null = null;
  private gaitPhase = 0;
  private speed_mps = 0;
  private yawRate_dps = 0;
  private readonly computer: SystemLoad;
  private readonly servoWarned: boolean[];
  private readonly servoTorque: boolean[];

  constructor(opts: RobotModelOptions) {
    this.id = opts.id;
    this.rng = createPrng(opts.seed);
    this.faults = opts.faults ? new FaultInjector() : null;
    this.autonomy = opts.autonomy ?? true;
    const start = opts.start ?? {
      ...clampToFloor({ x: this.rng.range(1, 9), y: this.rng.range(1, 9) }),
      heading_deg: this.rng.range(0, 360),
    };
    this.x_m = start.x;
    this.y_m = start.y;
    this.heading_deg = normalizeHeading(start.heading_deg);
    this.battery = createBattery(opts.initialSoc ?? this.rng.range(0.35, 1));
    this.computer = new SystemLoad(this.rng);
    this.system = this.computer.reading;
    this.idleLeft_s = this.rng.range(1, 8);
    this.servoWarned = this.servos.map(() => false);
    this.servoTorque = this.servos.map(() => true);
  }

  get battery_percent(): number {
    return batteryPercent(this.battery);
  }

  get jobSnapshot(): JobSnapshot | null {
    return this.job ? this.snapshot(this.job) : null;
  }

  /** Events since the last call (scan, job, log, fault). */
  drainEvents(): readonly ModelEvent[] {
    if (this.events.length === 0) return NO_EVENTS;
    const out = this.events;
    this.events = [];
    return out;
  }

  step(dt_s: number): void {
    let left = dt_s;
    while (left > 1e-9) {
      const dt = Math.min(left, MAX_SUBSTEP_S);
      this.advance(dt);
      left -= dt;
    }
  }

  // --- commands: simple mutators; validation and permissions live in the command executor ---

  /** Walks to a point (clamped to the floor). Returns the estimated time to get there. */
  moveTo(target: Point, speed_mps = WALK_SPEED_MPS, reverse = false): number {
    const p = clampToFloor(target);
    const speed = Math.min(MAX_WALK_SPEED_MPS, Math.max(0.02, speed_mps));
    this.goal = { kind: 'manual', x: p.x, y: p.y, station: null, speed, reverse };
    this.turnGoal = null;
    this.motionEpoch++;
    this.halted = false;
    this.manualHold = false;
    this.clearLegOverrides();
    if (this.activity === 'scanning' || this.activity === 'charging') this.activity = 'idle';
    const desired = reverse ? bearing(p, this.position()) : bearing(this.position(), p);
    const turn_s = Math.abs(headingError(this.heading_deg, desired)) / TURN_RATE_DPS;
    return turn_s + distance(this.position(), p) / speed;
  }

  /** A relative move, as the legacy client's `move {direction, distance}`. */
  moveBy(
    direction: 'forward' | 'backward' | 'left' | 'right',
    distance_m: number,
    speed_mps?: number,
  ): number {
    const offset = { forward: 0, backward: 180, left: 90, right: -90 }[direction];
    const rad = ((this.heading_deg + offset) * Math.PI) / 180;
    const target = { x: this.x_m + Math.cos(rad) * distance_m, y: this.y_m + Math.sin(rad) * distance_m };
    return this.moveTo(target, speed_mps, direction === 'backward');
  }

  /** Turns in place by `angle_deg` (positive: left, counter-clockwise). Returns the time it takes. */
  turnBy(angle_deg: number): number {
    this.goal = null;
    this.turnGoal = normalizeHeading(this.heading_deg + angle_deg);
    this.motionEpoch++;
    this.halted = false;
    this.manualHold = true;
    this.clearLegOverrides();
    return Math.abs(angle_deg) / TURN_RATE_DPS;
  }

  halt(): void {
    this.motionEpoch++;
    this.halted = true;
    this.goal = null;
    this.turnGoal = null;
    if (this.activity !== 'charging') this.activity = 'idle';
  }

  emergencyStop(reason: string): void {
    this.emergency = { reason };
    this.halt();
    this.log('error', `Emergency stop: ${reason}`, 'safety');
  }

  resume(): void {
    if (this.emergency) this.log('info', 'Emergency stop cleared, resuming', 'safety');
    this.emergency = null;
    this.halted = false;
    this.manualHold = false;
    for (const s of this.servos) s.override = null;
  }

  setServo(index: number, position: number): number {
    const servo = this.servos[index];
    if (!servo) throw new RangeError(`no servo at index ${index}`);
    servo.override = position;
    return Math.abs(position - servo.position) / 1200 + 0.1;
  }

  headGesture(kind: 'nod' | 'shake'): number {
    this.gesture = { kind, left_s: GESTURE_S };
    return GESTURE_S;
  }

  startJob(spec: JobSpec = {}): JobSnapshot {
    this.jobCount++;
    const job: Job = {
      job_id: spec.job_id ?? `${this.id.slice(0, 48)}-job-${this.jobCount}`,
      task_name: spec.task_name ?? this.rng.pick(TASK_NAMES),
      items_total: spec.items_total ?? this.rng.int(3, 6),
      items_done: 0,
      started_at_s: this.uptime_s,
      last_item: null,
      history: [],
      next_progress_s: this.uptime_s + JOB_PROGRESS_EVERY_S,
    };
    this.job = job;
    this.motionEpoch++;
    this.halted = false;
    this.manualHold = false;
    this.clearLegOverrides();
    this.jobEvent('started', job);
    this.log('info', `Job ${job.job_id} started: ${job.task_name}, ${job.items_total} items`, 'jobs');
    return this.snapshot(job);
  }

  /** Cancels the running job; false when there is none. */
  stopJob(reason = 'cancelled by operator'): boolean {
    const job = this.job;
    if (!job) return false;
    this.job = null;
    if (this.goal?.kind === 'station') this.goal = null;
    if (this.activity === 'scanning') this.activity = 'idle';
    this.idleLeft_s = this.rng.range(20, 40);
    this.jobEvent('cancelled', job, reason);
    this.log('warning', `Job ${job.job_id} cancelled: ${reason}`, 'jobs');
    return true;
  }

  // --- simulation ---

  private advance(dt: number): void {
    this.uptime_s += dt;
    this.faults?.step(dt, this.rng, this.emit);
    this.decide(dt);
    this.navigate(dt);
    this.animate(dt);
    const charging = this.activity === 'charging';
    let servoLoad = 0;
    for (const s of this.servos) servoLoad += s.load_percent;
    const current_a =
      PI_IDLE_A + A_PER_CPU_PERCENT * this.computer.cpuLoad + A_PER_SERVO_LOAD_PERCENT * servoLoad;
    stepBattery(this.battery, current_a, charging, dt);
    this.computer.step(dt, this.activity, this.gesture !== null, this.job !== null, this.rng);
    this.sampleSensors();
    const job = this.job;
    if (job && this.uptime_s >= job.next_progress_s) {
      job.next_progress_s += JOB_PROGRESS_EVERY_S;
      this.jobEvent('in_progress', job);
    }
  }

  private decide(dt: number): void {
    if (this.activity === 'charging') {
      if (this.battery.soc < RESUME_SOC) return;
      this.activity = 'idle';
      this.log('info', `Battery charged to ${Math.round(this.battery_percent)} %, leaving the dock`, 'power');
    }
    if (this.battery.soc <= 0.005) {
      this.handleDepleted(dt);
      return;
    }
    if (this.emergency || this.halted || this.legsDisabled()) {
      this.goal = null;
      this.activity = 'idle';
      return;
    }
    if (this.battery.soc < LOW_BATTERY_SOC && this.goal?.kind !== 'charger' && !this.manualHold) {
      this.log(
        'warning',
        `Battery low (${Math.round(this.battery_percent)} %), returning to the dock`,
        'power',
      );
      this.goal = {
        kind: 'charger',
        x: CHARGER.x,
        y: CHARGER.y,
        station: CHARGER,
        speed: WALK_SPEED_MPS,
        reverse: false,
      };
      this.activity = 'idle';
      return;
    }
    if (this.activity === 'scanning') {
      this.scanLeft_s -= dt;
      if (this.scanLeft_s <= 0) this.finishScan();
      return;
    }
    if (this.goal || this.manualHold) return;
    if (this.job) {
      const station = this.nextStation();
      this.goal = {
        kind: 'station',
        x: station.x,
        y: station.y,
        station,
        speed: WALK_SPEED_MPS,
        reverse: false,
      };
      return;
    }
    if (!this.autonomy) return;
    this.idleLeft_s -= dt;
    if (this.idleLeft_s <= 0) this.startJob();
  }

  private handleDepleted(dt: number): void {
    this.goal = null;
    this.activity = 'idle';
    if (this.depletedFor_s === null) {
      this.depletedFor_s = 0;
      this.log('error', 'Battery depleted: robot stopped, needs to be carried to the dock', 'power');
      return;
    }
    this.depletedFor_s += dt;
    if (this.depletedFor_s < RESCUE_AFTER_S) return;
    // Someone carried it over: it is on the dock now.
    this.depletedFor_s = null;
    this.x_m = CHARGER.x;
    this.y_m = CHARGER.y;
    this.heading_deg = 90;
    this.activity = 'charging';
    this.log('info', 'Placed on the charging dock', 'power');
  }

  private navigate(dt: number): void {
    const goal = this.goal;
    this.speed_mps = 0;
    this.yawRate_dps = 0;
    if (!goal) {
      if (this.turnGoal !== null && !this.emergency && !this.halted) {
        const err = headingError(this.heading_deg, this.turnGoal);
        const maxTurn = TURN_RATE_DPS * dt;
        const turn = clamp(err, -maxTurn, maxTurn);
        this.heading_deg = normalizeHeading(this.heading_deg + turn);
        this.yawRate_dps = dt > 0 ? turn / dt : 0;
        this.activity = 'turning';
        if (Math.abs(err) <= maxTurn) this.turnGoal = null;
        return;
      }
      if (this.activity === 'walking' || this.activity === 'turning') this.activity = 'idle';
      return;
    }
    const here = this.position();
    const remaining = distance(here, goal);
    if (remaining < 1e-3) {
      this.arrive(goal);
      return;
    }
    const toGoal = bearing(here, goal);
    const desired = goal.reverse ? normalizeHeading(toGoal + 180) : toGoal;
    const err = headingError(this.heading_deg, desired);
    const maxTurn = TURN_RATE_DPS * dt;
    const turn = clamp(err, -maxTurn, maxTurn);
    this.heading_deg = normalizeHeading(this.heading_deg + turn);
    this.yawRate_dps = turn / dt;
    if (Math.abs(err) > TURN_IN_PLACE_DEG) {
      this.activity = 'turning';
      return;
    }
    this.activity = 'walking';
    const stepLen = Math.min(remaining, goal.speed * dt);
    this.x_m += ((goal.x - here.x) / remaining) * stepLen;
    this.y_m += ((goal.y - here.y) / remaining) * stepLen;
    this.speed_mps = (goal.reverse ? -stepLen : stepLen) / dt;
    if (stepLen >= remaining) this.arrive(goal);
  }

  private arrive(goal: Goal): void {
    this.goal = null;
    this.x_m = goal.x;
    this.y_m = goal.y;
    if (goal.kind === 'manual') {
      this.activity = 'idle';
      this.manualHold = true;
    } else if (goal.kind === 'charger') {
      this.activity = 'charging';
      this.log('info', `Docked, charging from ${Math.round(this.battery_percent)} %`, 'power');
    } else {
      this.activity = 'scanning';
      this.scanLeft_s = this.rng.range(3, 6);
      const centre = this.rng.range(260, 380);
      this.events.push({
        kind: 'vision',
        label: 'qr_code',
        confidence: round(this.rng.range(0.82, 0.99), 3),
        bbox: [Math.round(centre - 60), 180, 120, 120],
        center_x: Math.round(centre),
        frame_width: 640,
      });
    }
  }

  private finishScan(): void {
    this.activity = 'idle';
    const job = this.job;
    const station = this.nearestStation();
    const code = scanCode(station, this.rng.int(1, SCAN_CODES_PER_STATION));
    this.events.push({ kind: 'scan', code, station_name: station.name, action: 'pick' });
    if (!job) return;
    job.items_done++;
    job.last_item = code;
    job.history.push(code);
    if (job.items_done < job.items_total) return;
    this.job = null;
    this.idleLeft_s = this.rng.range(10, 30);
    this.jobEvent('completed', job);
    const mins = ((this.uptime_s - job.started_at_s) / 60).toFixed(1);
    this.log('info', `Job ${job.job_id} completed: ${job.items_done} items in ${mins} min`, 'jobs');
  }

  private animate(dt: number): void {
    const moving = this.activity === 'walking' || this.activity === 'turning';
    if (moving) this.gaitPhase = (this.gaitPhase + 2 * Math.PI * STEP_HZ * dt) % (2 * Math.PI);
    const g = this.gesture;
    driveServos(
      this.servos,
      {
        activity: this.activity,
        gaitPhase: this.gaitPhase,
        uptime_s: this.uptime_s,
        gesture: g ? { kind: g.kind, elapsed_s: GESTURE_S - g.left_s } : null,
        overheatServo: this.faults?.overheatingServo ?? null,
        rail_v: this.battery.voltage_v * SERVO_RAIL_RATIO,
      },
      dt,
    );
    if (g) {
      g.left_s -= dt;
      if (g.left_s <= 0) this.gesture = null;
    }
    this.watchServoHealth();
  }

  private watchServoHealth(): void {
    for (let i = 0; i < this.servos.length; i++) {
      const s = this.servos[i]!;
      const label = `Servo ${s.id} (${s.name})`;
      if (s.torque_enabled !== this.servoTorque[i]) {
        this.servoTorque[i] = s.torque_enabled;
        if (s.torque_enabled) this.log('info', `${label} cooled down, torque re-enabled`, 'servo');
        else
          this.log(
            'error',
            `${label} overheated (${s.temperature_c.toFixed(1)} °C), torque disabled`,
            'servo',
          );
      }
      if (!this.servoWarned[i] && s.temperature_c >= THERMAL_RESUME_C) {
        this.servoWarned[i] = true;
        this.log('warning', `${label} temperature high: ${s.temperature_c.toFixed(1)} °C`, 'servo');
      } else if (this.servoWarned[i] && s.temperature_c < THERMAL_RESUME_C - 5) {
        this.servoWarned[i] = false;
      }
    }
  }

  private legsDisabled(): boolean {
    for (const i of LEG_SERVOS) {
      if (!this.servos[i]!.torque_enabled) return true;
    }
    return false;
  }

  private sampleSensors(): void {
    const rng = this.rng;
    sampleImu(this.imu, rng, {
      moving: this.activity === 'walking' || this.activity === 'turning',
      gaitPhase: this.gaitPhase,
      yawRate_dps: this.yawRate_dps,
      speed_mps: this.speed_mps,
    });
    this.ultrasonic_cm = sampleUltrasonicCm(rng, this.x_m, this.y_m, this.heading_deg);
    this.light_percent = sampleLightPercent(rng, this.x_m, this.y_m);
    this.light_dark = this.light_percent < 20;
  }

  private nextStation(): Station {
    const here = this.nearestStation();
    const others = STATIONS.filter((s) => s !== here || distance(s, this.position()) > 0.5);
    return this.rng.pick(others);
  }

  private nearestStation(): Station {
    let best = STATIONS[0]!;
    for (const s of STATIONS) if (distance(s, this.position()) < distance(best, this.position())) best = s;
    return best;
  }

  private clearLegOverrides(): void {
    for (const i of LEG_SERVOS) this.servos[i]!.override = null;
  }

  private position(): Point {
    return { x: this.x_m, y: this.y_m };
  }

  private snapshot(job: Job): JobSnapshot {
    const elapsed = this.uptime_s - job.started_at_s;
    const perItem = job.items_done > 0 ? elapsed / job.items_done : 60;
    return {
      job_id: job.job_id,
      task_name: job.task_name,
      items_total: job.items_total,
      items_done: job.items_done,
      percent: job.items_total > 0 ? round((100 * job.items_done) / job.items_total, 1) : 0,
      elapsed_s: round(elapsed, 1),
      estimated_duration_s: Math.round(perItem * job.items_total),
      started_at_s: job.started_at_s,
      last_item: job.last_item,
      history: [...job.history],
    };
  }

  private jobEvent(status: JobEventStatus, job: Job, reason?: string): void {
    const snapshot = this.snapshot(job);
    this.events.push(
      reason === undefined
        ? { kind: 'job', status, job: snapshot }
        : { kind: 'job', status, job: snapshot, reason },
    );
  }

  private readonly emit = (e: ModelEvent): void => {
    this.events.push(e);
  };

  private log(level: LogLevel, message: string, source: string): void {
    this.events.push({ kind: 'log', level, message, source });
  }
}

const NO_EVENTS: readonly ModelEvent[] = Object.freeze([]);

/** How many item codes each station holds: a robot scans one of them, at random, at each stop. */
export const SCAN_CODES_PER_STATION = 250;

/** The code of a station's n-th item (1-based), e.g. `TP-A-0042` at Station A. */
export function scanCode(station: Station, n: number): string {
  return `TP-${station.name.slice(-1)}-${String(n).padStart(4, '0')}`;
}

/** Every code the simulated robots can scan, with its station: what a demo catalogue holds. */
export function simulatedScanCodes(): Array<{ code: string; station: string }> {
  return STATIONS.flatMap((station) =>
    Array.from({ length: SCAN_CODES_PER_STATION }, (_, i) => ({
      code: scanCode(station, i + 1),
      station: station.name,
    })),
  );
}
