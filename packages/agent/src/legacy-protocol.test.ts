import { CHANNEL_SCHEMAS, CommandResponsePayload, decodeTopic, type RobotChannel } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { createLegacyProtocol, LEGACY_SENSOR_TYPES } from './legacy-protocol';
import { EVENT_KINDS, workedRobot } from './protocol-test-fixtures';
import { isoLocal } from './wire-format';
import type { OutboundMessage, QoS } from './wire-protocol';

const protocol = createLegacyProtocol({
  robot_id: 'tonypi_07',
  agent_version: '0.1.0',
  ip_address: '127.0.0.1',
  camera_url: 'http://127.0.0.1:8081/?action=stream',
});
const { model, events } = workedRobot();
const TS = new Date(2026, 0, 26, 10, 30, 0, 123).getTime();
const ISO_LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/;

/** Checks the topic decodes to the channel (robot id in the topic or in the payload) and the schema. */
function expectValid(m: OutboundMessage, channel: RobotChannel, idInTopic = true): Record<string, unknown> {
  expect(m).toMatchObject({ qos: 0, retain: false });
  expect(decodeTopic(m.topic)).toEqual({
    ok: true,
    channel,
    layout: 'legacy',
    robot_id: idInTopic ? 'tonypi_07' : null,
  });
  const json = JSON.parse(m.payload) as Record<string, unknown>;
  const parsed = CHANNEL_SCHEMAS[channel].safeParse(json);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(json.robot_id).toBe('tonypi_07');
  expect(json.timestamp).toBe('2026-01-26T10:30:00.123000');
  expect(json).not.toHaveProperty('ts');
  return json;
}

function telemetry(): OutboundMessage[] {
  const out: OutboundMessage[] = [];
  protocol.telemetry(model, TS, (topic: string, payload: string, qos: QoS, retain: boolean) =>
    out.push({ topic, payload, qos, retain }),
  );
  return out;
}

describe('legacy timestamps', () => {
  it('are ISO-8601 local time without a zone, like Python isoformat()', () => {
    expect(isoLocal(TS)).toBe('2026-01-26T10:30:00.123000');
    expect(isoLocal(new Date(2026, 0, 26, 10, 30, 0, 0).getTime())).toBe('2026-01-26T10:30:00');
    expect(isoLocal(Date.now())).toMatch(ISO_LOCAL);
  });
});

describe('legacy protocol: what the seed client publishes', () => {
  it('has no Last Will', () => {
    expect(protocol.lastWill(TS)).toBeUndefined();
  });

  it('publishes status with system_info on tonypi/status/{id}', () => {
    const json = expectValid(protocol.status(model, 'online', TS), 'status');
    expect(json).toMatchObject({
      status: 'online',
      hardware_available: false,
      ip_address: '127.0.0.1',
      camera_url: 'http://127.0.0.1:8081/?action=stream',
      emergency_stopped: false,
      emergency_reason: null,
    });
    expect(Object.keys(json.system_info as object).sort()).toEqual(
      [
        'platform',
        'cpu_percent',
        'memory_percent',
        'disk_usage',
        'temperature',
        'cpu_temperature',
        'uptime',
        'hardware_mode',
        'hardware_sdk',
      ].sort(),
    );
  });

  it('sends one tonypi/sensors/{id} message per reading', () => {
    const sensors = telemetry().filter((m) => m.topic === 'tonypi/sensors/tonypi_07');
    expect(sensors.map((m) => JSON.parse(m.payload).sensor_type)).toEqual([...LEGACY_SENSOR_TYPES]);
    expect(LEGACY_SENSOR_TYPES).toEqual(
      expect.arrayContaining([
        'accelerometer_x',
        'accelerometer_y',
        'accelerometer_z',
        'gyroscope_x',
        'gyroscope_y',
        'gyroscope_z',
        'ultrasonic_distance',
        'cpu_temperature',
        'light_level',
        'light_sensor_dark',
        'system_cpu_percent',
        'system_memory_percent',
        'system_disk_usage',
        'system_temperature',
        'system_uptime',
      ]),
    );
    for (const m of sensors) {
      const json = expectValid(m, 'sensors');
      expect(Object.keys(json).sort()).toEqual(['robot_id', 'sensor_type', 'timestamp', 'unit', 'value']);
      expect(typeof json.value).toBe('number');
    }
    const units = Object.fromEntries(
      sensors.map((m) => JSON.parse(m.payload)).map((j) => [j.sensor_type, j.unit]),
    );
    expect(units).toMatchObject({
      accelerometer_x: 'm/s^2',
      gyroscope_z: 'deg/s',
      ultrasonic_distance: 'cm',
    });
  });

  it('sends the servos as a servo_1 … servo_6 map with servo_count', () => {
    const m = telemetry().find((x) => x.topic === 'tonypi/servos/tonypi_07')!;
    const json = expectValid(m, 'servos');
    expect(json.servo_count).toBe(6);
    const servos = json.servos as Record<string, Record<string, unknown>>;
    expect(Object.keys(servos)).toEqual(['servo_1', 'servo_2', 'servo_3', 'servo_4', 'servo_5', 'servo_6']);
    expect(Object.keys(servos.servo_1!).sort()).toEqual(
      [
        'id',
        'name',
        'position',
        'temperature',
        'voltage',
        'torque_enabled',
        'alert_level',
        'target_position',
      ].sort(),
    );
    expect(servos.servo_6).toMatchObject({ id: 6, name: 'Head Tilt' });
  });

  it('sends battery and location on shared topics, naming the robot in the payload', () => {
    const out = telemetry();
    const battery = expectValid(out.find((m) => m.topic === 'tonypi/battery')!, 'battery', false);
    expect(Object.keys(battery).sort()).toEqual([
      'charging',
      'percentage',
      'robot_id',
      'timestamp',
      'voltage',
    ]);
    expect(battery.voltage).toBeGreaterThanOrEqual(9);
    expect(battery.voltage).toBeLessThanOrEqual(12.6);
    const location = expectValid(out.find((m) => m.topic === 'tonypi/location')!, 'location', false);
    expect(Object.keys(location).sort()).toEqual(['robot_id', 'timestamp', 'x', 'y', 'z']);
    expect(out).toHaveLength(LEGACY_SENSOR_TYPES.length + 3);
  });

  it.each(EVENT_KINDS)('publishes the %s event on its legacy topic, valid against the contract', (kind) => {
    const m = protocol.event(events.get(kind)!, model, TS)!;
    expectValid(m, kind.split(':')[0] as RobotChannel);
  });

  it('sends job progress as {start_time, items_done, percent, status: working} and transitions as events', () => {
    const progress = JSON.parse(protocol.event(events.get('job:in_progress')!, model, TS)!.payload);
    expect(progress).toMatchObject({ status: 'working', end_time: null, items_total: expect.any(Number) });
    expect(progress.start_time).toMatch(ISO_LOCAL);
    const done = JSON.parse(protocol.event(events.get('job:completed')!, model, TS)!.payload);
    expect(done).toMatchObject({ status: 'completed', percent: 100 });
    const started = JSON.parse(protocol.event(events.get('job:started')!, model, TS)!.payload);
    expect(started).toMatchObject({ status: 'started', task_name: expect.any(String), progress_percent: 0 });
  });

  it('sends scans with qr_data and logs with Python level names', () => {
    const scan = JSON.parse(protocol.event(events.get('scan')!, model, TS)!.payload);
    expect(scan).toMatchObject({ qr_data: expect.stringMatching(/^TP-/), action: 'pick' });
    const log = JSON.parse(protocol.event(events.get('log:warning')!, model, TS)!.payload);
    expect(log.level).toBe('WARNING');
  });
});

describe('legacy protocol: commands', () => {
  const decode = (topic: string, body: unknown) =>
    protocol.decodeCommand(topic, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

  it('subscribes to its own and the broadcast command and emergency-stop topics', () => {
    expect(Object.keys(protocol.subscriptions()).sort()).toEqual([
      'tonypi/commands/broadcast',
      'tonypi/commands/tonypi_07',
      'tonypi/emergency_stop/broadcast',
      'tonypi/emergency_stop/tonypi_07',
    ]);
  });

  it('decodes {type, id, ...params}', () => {
    expect(
      decode('tonypi/commands/tonypi_07', { type: 'move', id: 'c1', direction: 'left', distance: 1 }),
    ).toEqual({
      ok: true,
      command: {
        command_id: 'c1',
        type: 'move',
        params: { direction: 'left', distance: 1 },
        origin: 'command',
      },
    });
    expect(decode('tonypi/commands/broadcast', { type: 'stop', id: 7 })).toMatchObject({
      ok: true,
      command: { command_id: '7', type: 'stop' },
    });
  });

  it('takes an emergency stop with or without a body', () => {
    expect(decode('tonypi/emergency_stop/tonypi_07', '')).toMatchObject({
      ok: true,
      command: { type: 'emergency_stop', command_id: null, origin: 'emergency_stop' },
    });
    expect(decode('tonypi/emergency_stop/broadcast', { reason: 'drill', id: 'e1' })).toMatchObject({
      ok: true,
      command: { type: 'emergency_stop', command_id: 'e1', params: { reason: 'drill' } },
    });
  });

  it('rejects an unknown type, saying which types exist', () => {
    const d = decode('tonypi/commands/tonypi_07', { type: 'fly', id: 'c2' });
    expect(d).toMatchObject({ ok: false, command_id: 'c2' });
    expect(d?.ok === false && d.message).toMatch(/unknown command type 'fly'.*move/);
  });

  it('answers once on tonypi/commands/response with {robot_id, command_id, success, message, timestamp}', () => {
    const c = { command_id: 'c1', type: 'move' as const, params: {}, origin: 'command' as const };
    expect(protocol.accepted(c, TS)).toBeNull();
    const m = protocol.finished(c, { ok: true, message: 'moving' }, TS)!;
    expect(m.topic).toBe('tonypi/commands/response');
    expect(decodeTopic(m.topic)).toMatchObject({ ok: true, channel: 'command/response', robot_id: null });
    const json = JSON.parse(m.payload);
    expect(json).toEqual({
      robot_id: 'tonypi_07',
      command_id: 'c1',
      success: true,
      message: 'moving',
      timestamp: '2026-01-26T10:30:00.123000',
    });
    expect(CommandResponsePayload.safeParse(json).success).toBe(true);
  });

  it('answers an emergency stop on tonypi/emergency_stop/response, even one sent without an id', () => {
    const c = {
      command_id: null,
      type: 'emergency_stop' as const,
      params: {},
      origin: 'emergency_stop' as const,
    };
    const m = protocol.finished(c, { ok: true, message: 'stopped' }, TS)!;
    expect(m.topic).toBe('tonypi/emergency_stop/response');
    const json = JSON.parse(m.payload);
    expect(json).toMatchObject({ robot_id: 'tonypi_07', success: true, emergency_stopped: true });
    expect(CommandResponsePayload.safeParse(json).success).toBe(true);
  });
});
