import {
  CHANNEL_SCHEMAS,
  CommandResponsePayload,
  decodeTopic,
  type RobotChannel,
  TelemetryPayload,
} from '@tonypi/contracts';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './aedes-test-broker';
import { Fleet } from './fleet';
import { waitFor } from './testing';

interface Seen {
  topic: string;
  json: Record<string, unknown>;
  retain: boolean;
  at: number;
}

const ROBOTS = 3;
const RATE_HZ = 5;

/** An MQTT observer subscribed to everything under tonypi/, recording what it sees. */
async function observe(url: string, filter = 'tonypi/#'): Promise<{ client: MqttClient; seen: Seen[] }> {
  const client = await connectAsync(url, { clientId: `observer_${Math.random().toString(36).slice(2)}` });
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => {
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(payload.toString());
    } catch {
      // Our own malformed test commands come back to us too.
    }
    seen.push({ topic, json, retain: packet.retain, at: Date.now() });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, seen };
}

function validate(s: Seen): void {
  const topic = decodeTopic(s.topic);
  if (!topic.ok) return;
  const result = CHANNEL_SCHEMAS[topic.channel as RobotChannel].safeParse(s.json);
  expect(result.error?.issues ?? [], `${s.topic} ${JSON.stringify(s.json)}`).toEqual([]);
}

describe('Fleet, canonical protocol, against an in-process broker', () => {
  let broker: TestBroker;
  let obs: Awaited<ReturnType<typeof observe>>;
  let fleet: Fleet;
  const ids = ['tonypi_sim_01', 'tonypi_sim_02', 'tonypi_sim_03'];
  const responses = (id: string) =>
    obs.seen.filter((s) => s.topic.endsWith('/command/response') && s.json.command_id === id);
  const command = (robot: string, body: object) =>
    obs.client.publishAsync(`tonypi/${robot}/command`, JSON.stringify(body), { qos: 1 });

  beforeAll(async () => {
    broker = await startTestBroker();
    obs = await observe(broker.url);
    fleet = await Fleet.start({
      brokerUrl: broker.url,
      robots: ROBOTS,
      rateHz: RATE_HZ,
      faults: false,
      // Only commands move them: a job of their own would interrupt the commands under test.
      autonomy: false,
      seed: 1,
    });
  });

  afterAll(async () => {
    await fleet?.stop();
    await obs?.client.endAsync();
    await broker?.close();
  });

  it('names robots tonypi_sim_01 … and connects each with its id as the client id', () => {
    expect(fleet.robots.map((r) => r.id)).toEqual(ids);
    for (const id of ids) expect(broker.connected.has(id)).toBe(true);
  });

  it('leaves a retained online status for each robot', async () => {
    const late = await observe(broker.url, 'tonypi/+/status');
    try {
      await waitFor(() => late.seen.length >= ROBOTS || undefined, 2000, 'retained statuses');
      expect(late.seen.map((s) => [s.topic, s.json.status, s.retain]).sort()).toEqual(
        ids.map((id) => [`tonypi/${id}/status`, 'online', true]),
      );
      for (const s of late.seen) validate(s);
    } finally {
      await late.client.endAsync();
    }
  });

  it('sends a full telemetry sample right after its online status, so it never shows online without values', () => {
    for (const id of ids) {
      const own = obs.seen.filter((s) => s.topic.startsWith(`tonypi/${id}/`)).map((s) => s.topic);
      const status = own.indexOf(`tonypi/${id}/status`);
      expect(status).toBeGreaterThanOrEqual(0);
      // QoS 1 goes through mqtt.js's outgoing store, so QoS 0 samples (the one sent on connecting, and
      // on a busy machine the first scheduled one too) may overtake it; none may lag behind it.
      expect(own.slice(0, status + 2)).toContain(`tonypi/${id}/telemetry`);
    }
  });

  // The pace (robots × rate a second) is fleet.test.ts's, on a fake clock.
  it('keeps publishing telemetry bundles for every robot, each valid against the contract', async () => {
    const from = obs.seen.length;
    const bundles = (id: string) => obs.seen.slice(from).filter((s) => s.topic === `tonypi/${id}/telemetry`);
    await waitFor(() => ids.every((id) => bundles(id).length >= 3), 5000, 'three more bundles of each robot');
    for (const id of ids) {
      for (const s of bundles(id)) {
        expect(TelemetryPayload.safeParse(s.json).success).toBe(true);
        expect(s.retain).toBe(false);
      }
    }
    for (const s of obs.seen) validate(s);
  });

  it('answers a command accepted, then succeeded', async () => {
    await command('tonypi_sim_01', { command_id: 'cmd-ok', type: 'head_nod', params: {}, ts: Date.now() });
    await waitFor(() => responses('cmd-ok').length >= 2 || undefined, 5000, 'two responses');
    expect(responses('cmd-ok').map((s) => s.json.status)).toEqual(['accepted', 'succeeded']);
    for (const s of responses('cmd-ok')) expect(CommandResponsePayload.safeParse(s.json).success).toBe(true);
    expect(fleet.stats().commands).toBeGreaterThanOrEqual(1);
  });

  it('answers a battery request with the result and a battery message', async () => {
    await command('tonypi_sim_02', { command_id: 'cmd-bat', type: 'battery_request', ts: Date.now() });
    const done = await waitFor(
      () => responses('cmd-bat').find((s) => s.json.status === 'succeeded'),
      5000,
      'battery response',
    );
    expect(done.json.result).toMatchObject({ percent: expect.any(Number), voltage_v: expect.any(Number) });
    expect(obs.seen.some((s) => s.topic === 'tonypi/tonypi_sim_02/battery')).toBe(true);
  });

  it('answers an invalid command failed, saying why, and keeps running', async () => {
    await command('tonypi_sim_01', { command_id: 'cmd-bad', type: 'fly', ts: Date.now() });
    const badServo = { servo_id: 9, position: 500 };
    await command('tonypi_sim_01', {
      command_id: 'cmd-bad-param',
      type: 'set_servo',
      params: badServo,
      ts: Date.now(),
    });
    await obs.client.publishAsync('tonypi/tonypi_sim_01/command', 'not json', { qos: 1 });
    const bad = await waitFor(() => responses('cmd-bad')[0], 5000, 'failed response');
    expect(bad.json).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/^invalid command: type: /),
    });
    const badParam = await waitFor(
      () => responses('cmd-bad-param').find((s) => s.json.status !== 'accepted'),
      5000,
      'failed response',
    );
    expect(badParam.json).toMatchObject({
      status: 'failed',
      message: 'servo_id must be between 1 and 6, got 9',
    });
    await command('tonypi_sim_01', { command_id: 'cmd-after', type: 'status_request', ts: Date.now() });
    await waitFor(
      () => responses('cmd-after').find((s) => s.json.status === 'succeeded'),
      5000,
      'still answering',
    );
  });

  it('obeys a fleet-wide emergency stop until resumed', async () => {
    const publish = (type: string) =>
      obs.client.publishAsync(
        'tonypi/system/broadcast',
        JSON.stringify({ type, reason: 'drill', ts: Date.now() }),
        {
          qos: 1,
        },
      );
    const lastStatus = (id: string) => obs.seen.filter((s) => s.topic === `tonypi/${id}/status`).at(-1)?.json;
    await publish('emergency_stop');
    await waitFor(
      () => ids.every((id) => lastStatus(id)?.status === 'emergency_stopped') || undefined,
      5000,
      'e-stop',
    );
    expect(lastStatus('tonypi_sim_03')).toMatchObject({ emergency_stopped: true, emergency_reason: 'drill' });
    for (const r of fleet.robots) expect(r.model.emergency).toEqual({ reason: 'drill' });
    await publish('resume');
    await waitFor(() => ids.every((id) => lastStatus(id)?.status === 'online') || undefined, 5000, 'resume');
  });

  it('when a robot’s socket dies, the broker publishes its Last Will (offline), then it reconnects', async () => {
    const robot = fleet.robots[1]!;
    const from = obs.seen.length;
    const reconnects = fleet.stats().reconnects;
    robot.dropConnection();
    const statuses = () => obs.seen.slice(from).filter((s) => s.topic === 'tonypi/tonypi_sim_02/status');
    await waitFor(() => statuses().find((s) => s.json.status === 'offline'), 5000, 'the Last Will');
    expect(statuses()[0]!.json).toEqual({ status: 'offline', ts: expect.any(Number) });
    await waitFor(() => statuses().find((s) => s.json.status === 'online'), 5000, 'back online');
    expect(fleet.stats().reconnects).toBe(reconnects + 1);
  });

  it('stop() publishes offline for every robot, then disconnects', async () => {
    const from = obs.seen.length;
    await fleet.stop();
    const offline = await waitFor(
      () => {
        const s = obs.seen
          .slice(from)
          .filter((m) => m.topic.endsWith('/status') && m.json.status === 'offline');
        return s.length >= ROBOTS ? s : undefined;
      },
      5000,
      'offline statuses',
    );
    expect(offline.map((s) => s.topic).sort()).toEqual(ids.map((id) => `tonypi/${id}/status`));
    await waitFor(() => ids.every((id) => !broker.connected.has(id)) || undefined, 5000, 'disconnects');
    // A marker through the same broker: anything the robots sent before it has arrived by then.
    const after = obs.seen.length;
    await obs.client.publishAsync('tonypi/test/marker', 'after stop', { qos: 1 });
    await waitFor(
      () => obs.seen.slice(after).some((s) => s.topic === 'tonypi/test/marker'),
      5000,
      'the marker',
    );
    expect(obs.seen.slice(after).filter((s) => s.topic.endsWith('/telemetry'))).toEqual([]);
  });
});

describe('Fleet, legacy protocol (the seed robot client), against an in-process broker', () => {
  let broker: TestBroker;
  let obs: Awaited<ReturnType<typeof observe>>;
  let fleet: Fleet;
  const ids = ['tonypi_sim_01', 'tonypi_sim_02', 'tonypi_sim_03'];
  const responses = (topic: string, id: string) =>
    obs.seen.filter((s) => s.topic === topic && s.json.command_id === id);

  beforeAll(async () => {
    broker = await startTestBroker();
    obs = await observe(broker.url);
    fleet = await Fleet.start({
      brokerUrl: broker.url,
      robots: ROBOTS,
      rateHz: RATE_HZ,
      faults: false,
      // Only commands move them: a job of their own would interrupt the commands under test.
      autonomy: false,
      seed: 2,
      protocol: 'legacy',
    });
  });

  afterAll(async () => {
    await fleet?.stop();
    await obs?.client.endAsync();
    await broker?.close();
  });

  it('announces each robot online on tonypi/status/{id}, not retained', async () => {
    await waitFor(
      () => obs.seen.filter((s) => s.topic.startsWith('tonypi/status/')).length >= ROBOTS || undefined,
      5000,
      'status',
    );
    const statuses = obs.seen.filter((s) => s.topic.startsWith('tonypi/status/'));
    expect(statuses.map((s) => [s.topic, s.json.status, s.retain]).sort()).toEqual(
      ids.map((id) => [`tonypi/status/${id}`, 'online', false]),
    );
  });

  // The pace and the messages per sample are fleet.test.ts's, on a fake clock.
  it('publishes the seed client’s topics for every robot, every message valid against the contract', async () => {
    const from = obs.seen.length;
    const since = () => obs.seen.slice(from);
    await waitFor(
      () => ids.every((id) => since().filter((s) => s.topic === `tonypi/servos/${id}`).length >= 3),
      5000,
      'three more servo messages of each robot',
    );
    for (const id of ids) expect(since().some((s) => s.topic === `tonypi/sensors/${id}`)).toBe(true);
    for (const topic of ['tonypi/battery', 'tonypi/location']) {
      expect(obs.seen.some((s) => s.topic === topic && s.json.robot_id === 'tonypi_sim_03')).toBe(true);
    }
    for (const s of obs.seen) {
      validate(s);
      if (decodeTopic(s.topic).ok)
        expect(s.json.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
    }
  });

  it('runs a command from tonypi/commands/{id} and answers on tonypi/commands/response', async () => {
    await obs.client.publishAsync(
      'tonypi/commands/tonypi_sim_01',
      JSON.stringify({ type: 'head_shake', id: 'l-ok' }),
    );
    const r = await waitFor(() => responses('tonypi/commands/response', 'l-ok')[0], 5000, 'response');
    expect(r.json).toEqual({
      robot_id: 'tonypi_sim_01',
      command_id: 'l-ok',
      success: true,
      message: 'shook head',
      timestamp: expect.any(String),
    });
  });

  it('answers an unknown command with success: false', async () => {
    await obs.client.publishAsync(
      'tonypi/commands/tonypi_sim_02',
      JSON.stringify({ type: 'fly', id: 'l-bad' }),
    );
    const r = await waitFor(() => responses('tonypi/commands/response', 'l-bad')[0], 5000, 'response');
    expect(r.json).toMatchObject({ robot_id: 'tonypi_sim_02', success: false });
    expect(r.json.message).toMatch(/unknown command type 'fly'/);
  });

  it('takes broadcast commands on tonypi/commands/broadcast', async () => {
    await obs.client.publishAsync(
      'tonypi/commands/broadcast',
      JSON.stringify({ type: 'status_request', id: 'l-all' }),
    );
    await waitFor(
      () => (responses('tonypi/commands/response', 'l-all').length >= ROBOTS ? true : undefined),
      5000,
      'all',
    );
  });

  it('emergency-stops on tonypi/emergency_stop/{id} and answers on tonypi/emergency_stop/response', async () => {
    await obs.client.publishAsync('tonypi/emergency_stop/tonypi_sim_03', JSON.stringify({ id: 'l-stop' }));
    const r = await waitFor(() => responses('tonypi/emergency_stop/response', 'l-stop')[0], 5000, 'response');
    expect(r.json).toMatchObject({ robot_id: 'tonypi_sim_03', success: true, emergency_stopped: true });
    await waitFor(
      () =>
        obs.seen.find(
          (s) => s.topic === 'tonypi/status/tonypi_sim_03' && s.json.status === 'emergency_stopped',
        ),
      5000,
      'status',
    );
    await obs.client.publishAsync(
      'tonypi/commands/tonypi_sim_03',
      JSON.stringify({ type: 'resume', id: 'l-go' }),
    );
    await waitFor(() => responses('tonypi/commands/response', 'l-go')[0], 5000, 'resume');
    expect(fleet.robots[2]!.model.emergency).toBeNull();
  });

  it('has no Last Will: a dropped link publishes nothing, and the robot comes back', async () => {
    const from = obs.seen.length;
    fleet.robots[0]!.dropConnection();
    await waitFor(
      () =>
        obs.seen
          .slice(from)
          .find((s) => s.topic === 'tonypi/status/tonypi_sim_01' && s.json.status === 'online'),
      5000,
      'back online',
    );
    expect(obs.seen.slice(from).some((s) => s.json.status === 'offline')).toBe(false);
  });

  it('stop() publishes status offline for every robot', async () => {
    const from = obs.seen.length;
    await fleet.stop();
    const offline = await waitFor(
      () => {
        const s = obs.seen
          .slice(from)
          .filter((m) => m.topic.startsWith('tonypi/status/') && m.json.status === 'offline');
        return s.length >= ROBOTS ? s : undefined;
      },
      5000,
      'offline statuses',
    );
    expect(offline.map((s) => s.topic).sort()).toEqual(ids.map((id) => `tonypi/status/${id}`));
  });
});

describe('Fleet.start', () => {
  it('rejects with a clear error when the broker cannot be reached', async () => {
    const broker = await startTestBroker();
    const url = broker.url;
    await broker.close();
    await expect(
      Fleet.start({ brokerUrl: url, robots: 2, faults: false, connectTimeoutMs: 1500 }),
    ).rejects.toThrow(
      /tonypi_sim_0\d: could not connect to mqtt:\/\/127\.0\.0\.1:\d+ within 1500 ms \(last error: .*ECONNREFUSED/,
    );
  });

  it('rejects bad options before connecting', async () => {
    await expect(Fleet.start({ brokerUrl: 'mqtt://x', robots: 0 })).rejects.toThrow(/robots must be/);
    await expect(Fleet.start({ brokerUrl: 'mqtt://x', robots: 1, idPrefix: 'bad id ' })).rejects.toThrow(
      /invalid robot id 'bad id 01'/,
    );
  });
});
