import { describe, expect, it } from 'vitest';
import { EMPTY_V, FULL_V, openCircuitVoltage, percentFromVoltage } from './battery-model';
import { CHARGER, FLOOR_SIZE_M, STATIONS } from './floor-plan';
import {
  LOW_BATTERY_SOC,
  RESUME_SOC,
  RobotModel,
  type RobotModelOptions,
  SCAN_CODES_PER_STATION,
  simulatedScanCodes,
} from './robot-model';
import type { ModelEvent } from './robot-readings';
import { AMBIENT_C, MAX_TEMPERATURE_C, POSITION_MAX, POSITION_MIN } from './servo-model';

const model = (opts: Partial<RobotModelOptions> = {}): RobotModel =>
  new RobotModel({ id: 'tonypi_test', seed: 7, faults: false, ...opts });

/** Steps `m` for `seconds` in `dt` steps, collecting events. */
function run(m: RobotModel, seconds: number, dt = 0.5, each?: (m: RobotModel) => void): ModelEvent[] {
  const events: ModelEvent[] = [];
  for (let t = 0; t < seconds; t += dt) {
    m.step(dt);
    events.push(...m.drainEvents());
    each?.(m);
  }
  return events;
}

describe('battery (3S LiPo)', () => {
  it('reads 12.6 V full and 9.0 V empty, percent derived from the resting voltage', () => {
    expect(openCircuitVoltage(1)).toBeCloseTo(FULL_V, 5);
    expect(openCircuitVoltage(0)).toBeCloseTo(EMPTY_V, 5);
    expect(percentFromVoltage(FULL_V)).toBe(100);
    expect(percentFromVoltage(EMPTY_V)).toBe(0);
    expect(percentFromVoltage(openCircuitVoltage(0.5))).toBeCloseTo(50, 5);
  });

  it('drains while walking, faster than while standing', () => {
    const walker = model({ initialSoc: 0.9 });
    walker.startJob({ items_total: 50 });
    const idler = model({ initialSoc: 0.9, autonomy: false });
    run(walker, 600);
    run(idler, 600);
    expect(walker.battery_percent).toBeLessThan(90);
    expect(idler.battery_percent).toBeLessThan(90);
    expect(90 - walker.battery_percent).toBeGreaterThan(1.5 * (90 - idler.battery_percent));
    expect(walker.battery.current_a).toBeGreaterThan(0);
  });

  it('voltage sags under load and stays within 9.0..12.6 V', () => {
    const m = model({ initialSoc: 0.6 });
    m.startJob({ items_total: 50 });
    run(m, 120, 0.5, (r) => {
      expect(r.battery.voltage_v).toBeGreaterThanOrEqual(EMPTY_V);
      expect(r.battery.voltage_v).toBeLessThanOrEqual(FULL_V);
    });
    expect(m.battery.voltage_v).toBeLessThan(openCircuitVoltage(m.battery.soc));
  });

  it('below 15 % the robot walks to the dock, recharges to 95 % and goes back to work', () => {
    const m = model({ initialSoc: LOW_BATTERY_SOC + 0.01 });
    m.startJob({ items_total: 1000 });
    let docked = false;
    let resumed = false;
    let chargingPercentBefore = 0;
    run(m, 4 * 3600, 1, (r) => {
      if (!docked && r.activity === 'charging') {
        docked = true;
        chargingPercentBefore = r.battery_percent;
        expect(Math.hypot(r.x_m - CHARGER.x, r.y_m - CHARGER.y)).toBeLessThan(0.01);
        expect(r.battery.charging).toBe(true);
        expect(r.battery.current_a).toBeLessThan(0);
      }
      if (docked && !resumed && r.activity !== 'charging') {
        resumed = true;
        // It left the dock at 95 % and has walked for up to one step since.
        expect(r.battery.soc).toBeGreaterThan(RESUME_SOC - 0.01);
      }
    });
    expect(docked).toBe(true);
    expect(chargingPercentBefore).toBeLessThan(15);
    expect(resumed).toBe(true);
    expect(m.jobSnapshot?.items_done ?? 0).toBeGreaterThan(0);
  });
});

describe('servos', () => {
  it('warm up under load while walking and cool towards ambient when idle', () => {
    const m = model({ initialSoc: 1 });
    m.startJob({ items_total: 100 });
    run(m, 900);
    const knee = m.servos[1]!;
    expect(knee.name).toBe('Left Knee');
    expect(knee.temperature_c).toBeGreaterThan(AMBIENT_C + 10);
    const hot = knee.temperature_c;
    m.halt();
    run(m, 900);
    expect(knee.temperature_c).toBeLessThan(hot - 10);
    expect(knee.temperature_c).toBeGreaterThan(AMBIENT_C - 1);
  });

  it('stay within physical bounds (position 0..1000, temperature ≤ 90 °C) even with faults', () => {
    const m = model({ faults: true, seed: 3 });
    const seen = { pos: [Infinity, -Infinity], temp: [Infinity, -Infinity], load: [Infinity, -Infinity] };
    const widen = (range: number[], v: number): void => {
      range[0] = Math.min(range[0]!, v);
      range[1] = Math.max(range[1]!, v);
    };
    run(m, 6 * 3600, 1, (r) => {
      for (const s of r.servos) {
        widen(seen.pos, s.position);
        widen(seen.temp, s.temperature_c);
        widen(seen.load, s.load_percent);
      }
    });
    expect(seen.pos[0]).toBeGreaterThanOrEqual(POSITION_MIN);
    expect(seen.pos[1]).toBeLessThanOrEqual(POSITION_MAX);
    expect(seen.temp[0]).toBeGreaterThan(AMBIENT_C - 5);
    expect(seen.temp[1]).toBeLessThanOrEqual(MAX_TEMPERATURE_C);
    expect(seen.temp[1]).toBeGreaterThan(60);
    expect(seen.load[0]).toBeGreaterThanOrEqual(0);
    expect(seen.load[1]).toBeLessThanOrEqual(100);
  });

  it('servo rail voltage follows the battery', () => {
    const full = model({ initialSoc: 1, autonomy: false });
    const low = model({ initialSoc: 0.1, autonomy: false });
    run(full, 5);
    run(low, 5);
    expect(low.servos[0]!.voltage_v).toBeLessThan(full.servos[0]!.voltage_v);
  });

  it('set_servo moves a servo to the requested position', () => {
    const m = model({ autonomy: false });
    m.setServo(4, 800);
    run(m, 2);
    expect(Math.round(m.servos[4]!.position)).toBe(800);
    m.resume();
    run(m, 2);
    expect(Math.round(m.servos[4]!.position)).toBe(500);
  });
});

describe('navigation', () => {
  it('stays on the 10 × 10 m floor', () => {
    const m = model({ faults: true, seed: 11 });
    let off = 0;
    let visited = 0;
    run(m, 3 * 3600, 1, (r) => {
      if (r.x_m < 0 || r.x_m > FLOOR_SIZE_M || r.y_m < 0 || r.y_m > FLOOR_SIZE_M) off++;
      if (r.heading_deg < 0 || r.heading_deg >= 360) off++;
      if (r.activity === 'walking') visited++;
    });
    expect(off).toBe(0);
    expect(visited).toBeGreaterThan(600);
  });

  it('clamps a move beyond the walls to the floor', () => {
    const m = model({ autonomy: false, start: { x: 5, y: 5, heading_deg: 0 } });
    m.moveBy('forward', 10);
    run(m, 120);
    expect(m.x_m).toBeLessThan(FLOOR_SIZE_M);
    expect(m.x_m).toBeGreaterThan(9);
    expect(m.activity).toBe('idle');
  });

  it('ultrasonic distance shrinks as the robot approaches a wall', () => {
    const m = model({ autonomy: false, start: { x: 2, y: 5, heading_deg: 0 } });
    run(m, 1);
    const far = m.ultrasonic_cm;
    m.moveTo({ x: 9.5, y: 5 });
    run(m, 120);
    expect(far).toBeGreaterThan(390);
    expect(m.ultrasonic_cm).toBeLessThan(80);
  });

  it('turns with a yaw rate the gyro sees, and walks backwards on a backward move', () => {
    const m = model({ autonomy: false, start: { x: 5, y: 5, heading_deg: 0 } });
    m.moveTo({ x: 5, y: 8 });
    m.step(0.1);
    expect(m.activity).toBe('turning');
    expect(Math.abs(m.imu.gyro_z_dps)).toBeGreaterThan(20);
    run(m, 60);
    const heading = m.heading_deg;
    m.moveBy('backward', 1);
    run(m, 20);
    expect(m.heading_deg).toBeCloseTo(heading, 0);
    expect(m.y_m).toBeCloseTo(7, 1);
  });
});

describe('jobs', () => {
  it('scan only codes of simulatedScanCodes (what the demo catalogue holds), at the station they belong to', () => {
    const codes = new Map(simulatedScanCodes().map((c) => [c.code, c.station]));
    expect(codes.size).toBe(STATIONS.length * SCAN_CODES_PER_STATION);
    const m = model({ autonomy: false, initialSoc: 1 });
    m.startJob({ job_id: 'job-codes', items_total: 8 });
    const scans = run(m, 3600).filter((e) => e.kind === 'scan');
    expect(scans.length).toBe(8);
    for (const s of scans) expect(codes.get(s.code)).toBe(s.station_name);
  });

  it('visit stations, scan an item at each, report progress and complete', () => {
    const m = model({ autonomy: false, initialSoc: 1 });
    m.startJob({ job_id: 'job-1', task_name: 'Pick run', items_total: 3 });
    const events = run(m, 1800);
    const scans = events.filter((e) => e.kind === 'scan');
    const job = events.filter((e) => e.kind === 'job');
    expect(scans).toHaveLength(3);
    for (const s of scans) expect(STATIONS.map((st) => st.name)).toContain(s.station_name);
    expect(job[0]).toMatchObject({ status: 'started', job: { job_id: 'job-1', items_done: 0 } });
    expect(job.some((e) => e.status === 'in_progress')).toBe(true);
    expect(job.at(-1)).toMatchObject({
      status: 'completed',
      job: { items_done: 3, items_total: 3, percent: 100 },
    });
    expect(m.jobSnapshot).toBeNull();
  });

  it('an autonomous robot takes the next job by itself', () => {
    const m = model({ autonomy: true });
    const events = run(m, 60);
    expect(events.some((e) => e.kind === 'job' && e.status === 'started')).toBe(true);
  });

  it('a stopped job is reported cancelled', () => {
    const m = model({ autonomy: false });
    m.startJob();
    expect(m.stopJob('test')).toBe(true);
    const events = m.drainEvents();
    expect(events.find((e) => e.kind === 'job' && e.status === 'cancelled')).toMatchObject({
      reason: 'test',
    });
    expect(m.stopJob()).toBe(false);
  });
});

describe('CPU load', () => {
  it('is higher while walking and highest while scanning (vision)', () => {
    const m = model({ autonomy: false, initialSoc: 1 });
    run(m, 30);
    const idle = m.system.cpu_percent;
    m.startJob({ items_total: 5 });
    let walking = 0;
    let scanning = 0;
    run(m, 600, 0.5, (r) => {
      if (r.activity === 'walking') walking = Math.max(walking, r.system.cpu_percent);
      if (r.activity === 'scanning') scanning = Math.max(scanning, r.system.cpu_percent);
    });
    expect(walking).toBeGreaterThan(idle + 10);
    expect(scanning).toBeGreaterThan(walking);
  });
});

describe('emergency stop', () => {
  it('halts the robot until resumed', () => {
    const m = model({ autonomy: false, start: { x: 2, y: 2, heading_deg: 0 } });
    m.moveTo({ x: 8, y: 2 });
    run(m, 5);
    m.emergencyStop('test');
    const x = m.x_m;
    run(m, 30);
    expect(m.x_m).toBe(x);
    expect(m.emergency).toEqual({ reason: 'test' });
    m.resume();
    expect(m.emergency).toBeNull();
  });
});

describe('faults', () => {
  it('with faults on, there are link drops, servo overheating and error logs over a few hours', () => {
    const m = model({ faults: true, seed: 5 });
    let torqueCut = false;
    const events = run(m, 6 * 3600, 1, (r) => {
      if (r.servos.some((s) => !s.torque_enabled)) torqueCut = true;
    });
    expect(events.some((e) => e.kind === 'disconnect')).toBe(true);
    expect(events.some((e) => e.kind === 'log' && e.level === 'error')).toBe(true);
    expect(torqueCut).toBe(true);
  });

  it('with faults off, none of that happens', () => {
    const m = model({ faults: false, initialSoc: 1 });
    const events = run(m, 2 * 3600, 1);
    expect(events.some((e) => e.kind === 'disconnect')).toBe(false);
    expect(events.some((e) => e.kind === 'log' && e.level === 'error')).toBe(false);
  });
});

describe('determinism', () => {
  it('replays exactly with the same seed and differs with another', () => {
    const trace = (seed: number): string => {
      const m = model({ seed, faults: true });
      const events = run(m, 1800, 0.25);
      return JSON.stringify([m.x_m, m.y_m, m.battery.soc, m.imu, m.servos, events]);
    };
    expect(trace(42)).toBe(trace(42));
    expect(trace(42)).not.toBe(trace(43));
  });
});
