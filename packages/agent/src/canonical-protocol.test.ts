import {
  CHANNEL_SCHEMAS,
  CommandResponsePayload,
  decodeTopic,
  MEASUREMENTS,
  type RobotChannel,
  TelemetryPayload,
} from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { createCanonicalProtocol } from './canonical-protocol';
import { EVENT_KINDS, workedRobot } from './protocol-test-fixtures';
import type { OutboundMessage, QoS } from './wire-protocol';

const identity = {
  robot_id: 'tonypi_07',
  agent_version: '0.1.0',
  ip_address: '127.0.0.1',
  camera_url: 'http://127.0.0.1:8081/?action=stream',
};
const protocol = createCanonicalProtocol(identity);
const { model, events } = workedRobot();
const TS = 1_790_000_000_000;

/** Decodes the topic and validates the payload against the contract's schema for its channel. */
function expectValid(m: OutboundMessage, channel: RobotChannel): Record<string, unknown> {
  const topic = decodeTopic(m.topic);
  expect(topic).toEqual({ ok: true, channel, layout: 'canonical', robot_id: 'tonypi_07' });
  const json = JSON.parse(m.payload) as Record<string, unknown>;
  const parsed = CHANNEL_SCHEMAS[channel].safeParse(json);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(json.ts).toBe(TS);
  return json;
}

function telemetryMessages(): OutboundMessage[] {
  const out: OutboundMessage[] = [];
  protocol.telemetry(model, TS, (topic: string, payload: string, qos: QoS, retain: boolean) =>
    out.push({ topic, payload, qos, retain }),
  );
  return out;
}

describe('canonical protocol: what the robot publishes', () => {
  it('registers a retained QoS 1 Last Will that says offline', () => {
    const will = protocol.lastWill(TS)!;
    expect(will).toMatchObject({ topic: 'tonypi/tonypi_07/status', qos: 1, retain: true });
    expect(JSON.parse(will.payload)).toEqual({ status: 'offline', ts: TS });
    expectValid(will, 'status');
  });

  it('publishes a retained online status with its versions, address and camera', () => {
    const m = protocol.status(model, 'online', TS);
    expect(m).toMatchObject({ qos: 1, retain: true });
    expect(expectValid(m, 'status')).toMatchObject({
      status: 'online',
      protocol_version: '1.0',
      agent_version: '0.1.0',
      ip_address: '127.0.0.1',
      camera_url: 'http://127.0.0.1:8081/?action=stream',
      hardware_available: false,
    });
  });

  it('sends ONE telemetry bundle per sample, QoS 0, that passes TelemetryPayload', () => {
    const out = telemetryMessages();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ topic: 'tonypi/tonypi_07/telemetry', qos: 0, retain: false });
    const json = expectValid(out[0]!, 'telemetry');
    const bundle = TelemetryPayload.parse(json);
    expect(Array.isArray(bundle.servos) && bundle.servos.map((s) => [s.id, s.name])).toEqual([
      [1, 'Left Hip'],
      [2, 'Left Knee'],
      [3, 'Right Hip'],
      [4, 'Right Knee'],
      [5, 'Head Pan'],
      [6, 'Head Tilt'],
    ]);
    expect(bundle.battery?.percent).toBeCloseTo(model.battery_percent, 0);
    expect(bundle.location).toMatchObject({ x_m: expect.any(Number), y_m: expect.any(Number) });
  });

  it('uses only the known field names of each measurement in the bundle', () => {
    const json = JSON.parse(telemetryMessages()[0]!.payload) as Record<string, Record<string, unknown>>;
    const known = (m: keyof typeof MEASUREMENTS): string[] => [...MEASUREMENTS[m].fields];
    for (const part of ['sensors', 'system', 'battery', 'location'] as const) {
      for (const key of Object.keys(json[part]!)) expect(known(part)).toContain(key);
    }
    const servos = json.servos as unknown as Record<string, unknown>[];
    for (const key of Object.keys(servos[0]!)) expect([...known('servos'), 'id', 'name']).toContain(key);
  });

  it('answers a battery request on the battery channel', () => {
    expect(expectValid(protocol.battery(model, TS), 'battery')).toMatchObject({
      percent: expect.any(Number),
      voltage_v: expect.any(Number),
      charging: expect.any(Boolean),
    });
  });

  it.each(EVENT_KINDS)('publishes the %s event on its channel, valid against the contract', (kind) => {
    const e = events.get(kind);
    expect(e, `the fixture produced no ${kind}`).toBeDefined();
    const m = protocol.event(e!, model, TS)!;
    const channel = kind.split(':')[0] as RobotChannel;
    expectValid(m, channel);
  });

  it('reports job progress with items_done / items_total', () => {
    const e = events.get('job:completed')!;
    const json = JSON.parse(protocol.event(e, model, TS)!.payload);
    expect(json).toMatchObject({ status: 'completed', items_done: json.items_total, percent: 100 });
  });
});

describe('canonical protocol: commands', () => {
  const cmd = (body: unknown, topic = 'tonypi/tonypi_07/command') =>
    protocol.decodeCommand(topic, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

  it('subscribes to its command topic, the fleet broadcast and its config at QoS 1', () => {
    expect(protocol.subscriptions()).toEqual({
      'tonypi/tonypi_07/command': { qos: 1 },
      'tonypi/system/broadcast': { qos: 1 },
      'tonypi/tonypi_07/config': { qos: 1 },
    });
  });

  it('decodes a valid command', () => {
    expect(cmd({ command_id: 'c1', type: 'move', params: { direction: 'forward' }, ts: TS })).toEqual({
      ok: true,
      command: { command_id: 'c1', type: 'move', params: { direction: 'forward' }, origin: 'command' },
    });
  });

  it('rejects an unknown type but keeps the command_id so the failure can be reported', () => {
    const d = cmd({ command_id: 'c2', type: 'fly', ts: TS });
    expect(d).toMatchObject({ ok: false, command_id: 'c2' });
    expect(d?.ok === false && d.message).toMatch(/^type: /);
  });

  it('rejects non-JSON without an id to answer to', () => {
    expect(cmd('{not json')).toMatchObject({ ok: false, command_id: null, message: 'payload is not JSON' });
  });

  it('decodes a fleet broadcast', () => {
    expect(cmd({ type: 'emergency_stop', reason: 'fire drill', ts: TS }, 'tonypi/system/broadcast')).toEqual({
      ok: true,
      command: {
        command_id: null,
        type: 'emergency_stop',
        params: { reason: 'fire drill' },
        origin: 'broadcast',
      },
    });
  });

  it('ignores topics that are not its own command topics', () => {
    expect(cmd({}, 'tonypi/tonypi_08/command')).toBeNull();
  });

  it('answers accepted, then succeeded or failed, on command/response (QoS 1), valid against the contract', () => {
    const c = { command_id: 'c1', type: 'move' as const, params: {}, origin: 'command' as const };
    const accepted = protocol.accepted(c, TS)!;
    expect(accepted).toMatchObject({ topic: 'tonypi/tonypi_07/command/response', qos: 1 });
    expect(CommandResponsePayload.parse(JSON.parse(accepted.payload))).toEqual({
      command_id: 'c1',
      status: 'accepted',
      ts: TS,
    });
    const done = protocol.finished(c, { ok: true, message: 'done', result: { x: 1 } }, TS)!;
    expect(CommandResponsePayload.parse(JSON.parse(done.payload))).toMatchObject({
      status: 'succeeded',
      message: 'done',
      result: { x: 1 },
    });
    expect(decodeTopic(done.topic)).toMatchObject({ ok: true, channel: 'command/response' });
    const failed = protocol.finished(c, { ok: false, message: 'no' }, TS)!;
    expect(JSON.parse(failed.payload)).toMatchObject({ status: 'failed', message: 'no' });
  });

  it('has nobody to answer for a broadcast', () => {
    const b = { command_id: null, type: 'emergency_stop' as const, params: {}, origin: 'broadcast' as const };
    expect(protocol.accepted(b, TS)).toBeNull();
    expect(protocol.finished(b, { ok: true, message: '' }, TS)).toBeNull();
  });
});
