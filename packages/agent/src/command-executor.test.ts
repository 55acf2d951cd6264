import { COMMAND_TYPES } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { executeCommand } from './command-executor';
import { RobotModel } from './robot-model';
import type { CommandType, RobotCommand } from './wire-protocol';

const robot = (): RobotModel =>
  new RobotModel({
    id: 'tonypi_07',
    seed: 1,
    autonomy: false,
    initialSoc: 0.8,
    start: { x: 5, y: 5, heading_deg: 0 },
  });
const cmd = (type: CommandType, params: Record<string, unknown> = {}): RobotCommand => ({
  command_id: 'c1',
  type,
  params,
  origin: 'command',
});

/** Parameters each command needs (the others need none). */
const VALID: Partial<Record<CommandType, Record<string, unknown>>> = {
  set_servo: { servo_id: 5, position: 700 },
  turn: { direction: 'left', angle_deg: 45 },
  action: { name: 'wave' },
  speak: { text: 'hello' },
  set_config: { values: { telemetry_hz: 5 } },
};

describe('executeCommand', () => {
  it.each(COMMAND_TYPES)('%s succeeds with valid parameters', (type) => {
    const m = robot();
    const params: Record<string, unknown> = VALID[type] ?? {};
    if (type === 'stop_job') m.startJob();
    const plan = executeCommand(m, cmd(type, params));
    expect(plan).toMatchObject({ ok: true, message: expect.any(String) });
  });

  it('move sends the robot to a new target, relative or absolute', () => {
    const m = robot();
    const plan = executeCommand(m, cmd('move', { direction: 'forward', distance: 1, speed: 0.2 }));
    expect(plan).toMatchObject({ ok: true, message: 'moving forward 1.00 m', interruptible: true });
    for (let i = 0; i < 20; i++) m.step(0.5);
    expect(m.x_m).toBeCloseTo(6, 1);
    executeCommand(m, cmd('move', { x_m: 6, y_m: 7 }));
    for (let i = 0; i < 60; i++) m.step(0.5);
    expect([m.x_m, m.y_m]).toEqual([6, 7]);
  });

  it('turn turns the robot in place by the angle, left counter-clockwise', () => {
    const m = robot();
    const plan = executeCommand(m, cmd('turn', { direction: 'left', angle_deg: 90 }));
    expect(plan).toMatchObject({ ok: true, duration_s: 1.5, message: 'turning left 90 deg' });
    for (let i = 0; i < 10; i++) m.step(0.5);
    expect(m.heading_deg).toBeCloseTo(90, 0);
    expect([m.x_m, m.y_m]).toEqual([5, 5]);
    executeCommand(m, cmd('turn', { direction: 'right', angle_deg: 30 }));
    for (let i = 0; i < 10; i++) m.step(0.5);
    expect(m.heading_deg).toBeCloseTo(60, 0);
  });

  it('refuses an action group the robot does not have, and speech or settings out of bounds', () => {
    expect(executeCommand(robot(), cmd('action', { name: 'moonwalk' }))).toMatchObject({
      ok: false,
      message: expect.stringContaining("no action group 'moonwalk' on this robot"),
    });
    expect(executeCommand(robot(), cmd('speak', { text: 'x'.repeat(501) }))).toMatchObject({ ok: false });
    expect(executeCommand(robot(), cmd('set_config', { values: { a: { nested: 1 } } }))).toMatchObject({
      ok: false,
      message: 'values.a must be a number, boolean or string',
    });
  });

  it('set_config keeps the settings it applied; reboot asks the connection to restart', () => {
    const m = robot();
    expect(executeCommand(m, cmd('set_config', { values: { telemetry_hz: 5, lights: true } }))).toMatchObject(
      {
        ok: true,
        result: { applied: ['telemetry_hz', 'lights'] },
      },
    );
    expect(m.settings).toEqual({ telemetry_hz: 5, lights: true });
    expect(executeCommand(m, cmd('reboot'))).toMatchObject({ ok: true, followUp: 'reboot' });
  });

  it('move reports how long the walk will take', () => {
    const plan = executeCommand(robot(), cmd('move', { distance: 1.5, speed: 0.15 }));
    expect(plan.ok && plan.duration_s).toBeCloseTo(10, 0);
  });

  it('stop halts the robot; resume lets it go on', () => {
    const m = robot();
    m.startJob();
    executeCommand(m, cmd('stop'));
    expect(m.halted).toBe(true);
    executeCommand(m, cmd('resume'));
    expect(m.halted).toBe(false);
  });

  it('emergency_stop blocks motion commands until resume', () => {
    const m = robot();
    expect(executeCommand(m, cmd('emergency_stop', { reason: 'test' }))).toMatchObject({
      ok: true,
      followUp: 'publish_status',
    });
    expect(m.emergency).toEqual({ reason: 'test' });
    expect(executeCommand(m, cmd('move'))).toEqual({
      ok: false,
      message: 'emergency stop active (test): send resume first',
    });
    expect(executeCommand(m, cmd('status_request'))).toMatchObject({
      ok: true,
      result: { status: 'emergency_stopped' },
    });
    expect(executeCommand(m, cmd('resume'))).toMatchObject({ ok: true, followUp: 'publish_status' });
    expect(executeCommand(m, cmd('move'))).toMatchObject({ ok: true });
  });

  it('set_servo changes a servo target', () => {
    const m = robot();
    executeCommand(m, cmd('set_servo', { servo_id: 5, position: 700 }));
    m.step(0.1);
    expect(m.servos[4]!.target).toBe(700);
  });

  it('start_job and stop_job run and cancel a job', () => {
    const m = robot();
    expect(
      executeCommand(m, cmd('start_job', { job_id: 'j1', task_name: 'Pick', items_total: 4 })),
    ).toMatchObject({
      ok: true,
      result: { job_id: 'j1' },
    });
    expect(m.jobSnapshot).toMatchObject({ job_id: 'j1', items_total: 4 });
    expect(executeCommand(m, cmd('start_job'))).toEqual({ ok: false, message: 'job j1 is already running' });
    expect(executeCommand(m, cmd('stop_job'))).toMatchObject({ ok: true, message: 'job j1 cancelled' });
    expect(executeCommand(m, cmd('stop_job'))).toEqual({ ok: false, message: 'no job is running' });
  });

  it('refuses a job on a nearly empty battery', () => {
    const m = new RobotModel({ id: 'r', seed: 1, autonomy: false, initialSoc: 0.1 });
    expect(executeCommand(m, cmd('start_job'))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^battery too low/),
    });
  });

  it('status_request, battery_request and shutdown ask the connection to act', () => {
    expect(executeCommand(robot(), cmd('status_request'))).toMatchObject({ followUp: 'publish_status' });
    expect(executeCommand(robot(), cmd('battery_request'))).toMatchObject({
      followUp: 'publish_battery',
      result: { percent: expect.any(Number), voltage_v: expect.any(Number) },
    });
    expect(executeCommand(robot(), cmd('shutdown'))).toMatchObject({ followUp: 'shutdown' });
  });

  it.each([
    ['move', { direction: 'up' }, 'direction must be one of forward, backward, left, right'],
    ['move', { distance: 50 }, 'distance must be between 0 and 10, got 50'],
    ['move', { distance: 'far' }, 'distance must be a number'],
    ['move', { speed: -1 }, 'speed must be greater than 0 (m/s)'],
    ['move', { x_m: 3 }, 'x_m and y_m go together'],
    ['set_servo', { position: 500 }, 'servo_id is required'],
    ['set_servo', { servo_id: 9, position: 500 }, 'servo_id must be between 1 and 6, got 9'],
    ['set_servo', { servo_id: 1.5, position: 500 }, 'servo_id must be an integer'],
    ['set_servo', { servo_id: 1, position: 5000 }, 'position must be between 0 and 1000, got 5000'],
    ['start_job', { items_total: 2.5 }, 'items_total must be an integer'],
    ['start_job', { task_name: '' }, 'task_name must be a non-empty string of at most 200 characters'],
  ] as const)('%s %j fails: %s', (type, params, message) => {
    expect(executeCommand(robot(), cmd(type, params))).toEqual({ ok: false, message });
  });
});
