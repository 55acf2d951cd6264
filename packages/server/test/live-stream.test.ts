import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
/** One connection per robot, its client id the robot id: the broker takes a client's id as its identity. */
const robots = new Map<string, MqttClient>();
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  for (const c of robots.values()) await c.endAsync(true);
  await t?.close();
});

async function robot(id: string): Promise<MqttClient> {
  let c = robots.get(id);
  if (!c) {
    c = await connectMqtt(t.mqttUrl, { clientId: id });
    robots.set(id, c);
  }
  return c;
}

const publish = async (topic: string, body: unknown) =>
  (await robot(topic.split('/')[1]!)).publishAsync(topic, JSON.stringify(body), { qos: 1 });

describe('WS /api/v1/stream', () => {
  it('authenticates with an auth message, then streams the subscribed robots only', async () => {
    const live = await LiveClient.connect(t.url);
    expect((await live.next('hello')).authenticated).toBe(false);
    live.send({ type: 'auth', token: t.token });
    await live.next('hello', (f) => f.authenticated === true);
    live.send({ type: 'subscribe', robots: ['live_a'], channels: ['telemetry', 'status'] });
    expect(await live.next('subscribed')).toMatchObject({
      robots: ['live_a'],
      channels: ['telemetry', 'status'],
    });

    await publish('tonypi/live_b/system', { cpu_percent: 99 });
    await publish('tonypi/live_a/system', { cpu_percent: 11 });
    const frame = await live.next('telemetry');
    expect(frame).toMatchObject({ robot_id: 'live_a', measurement: 'system', fields: { cpu_percent: 11 } });
    expect(typeof frame.ts).toBe('number');
    await live.next('status', (f) => f.robot_id === 'live_a' && f.status === 'online');
    // live_b once more, then a marker from live_a: by the time the marker is here, anything of
    // live_b's the stream would have sent is here too.
    await publish('tonypi/live_b/status', { status: 'maintenance' });
    await publish('tonypi/live_a/status', { status: 'maintenance' });
    await live.next('status', (f) => f.robot_id === 'live_a' && f.status === 'maintenance');
    expect(live.frames.filter((f) => f.robot_id === 'live_b')).toEqual([]);
    live.close();
  });

  // How often (10 Hz per series) is LiveHub's, on a fake clock (src/live/live-hub.test.ts).
  it('sends the newest value of a robot that publishes faster than the stream’s rate', async () => {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
    live.send({ type: 'subscribe', robots: ['live_fast'], channels: ['telemetry'] });
    await live.next('subscribed');
    const fast = await robot('live_fast');
    for (let i = 1; i <= 200; i++)
      fast.publish('tonypi/live_fast/system', JSON.stringify({ cpu_percent: i }));
    await live.next('telemetry', (f) => (f.fields as { cpu_percent: number }).cpu_percent === 200);
    live.close();
  });

  it('never drops status events and sends log events to log subscribers', async () => {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
    live.send({ type: 'subscribe', robots: ['*'], channels: ['status', 'log'] });
    await live.next('subscribed');
    await publish('tonypi/live_c/status', { status: 'online' });
    await publish('tonypi/live_c/log', { level: 'error', message: 'servo 3 stalled', source: 'servo' });
    await publish('tonypi/live_c/status', { status: 'maintenance' });
    await publish('tonypi/live_c/status', { status: 'offline' });
    await live.next('log', (f) => f.robot_id === 'live_c');
    await waitFor(() => live.of('status').filter((f) => f.robot_id === 'live_c').length === 3);
    expect(
      live
        .of('status')
        .filter((f) => f.robot_id === 'live_c')
        .map((f) => f.status),
    ).toEqual(['online', 'maintenance', 'offline']);
    expect(live.of('log')[0]).toMatchObject({ level: 'error', message: 'servo 3 stalled', source: 'servo' });
    expect(live.of('telemetry')).toEqual([]);
    live.close();
  });

  it('answers a bad client message with a specific error and keeps the connection', async () => {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
    live.send('not json');
    expect(await live.next('error')).toMatchObject({ code: 'bad_request', message: 'Not JSON' });
    live.send({ type: 'subscribe', channels: ['weather'] });
    expect(await live.next('error', (f) => f.code === 'validation_error')).toMatchObject({
      message: expect.stringContaining('channels.0'),
    });
    live.send({ type: 'ping', id: 'p1' });
    expect(await live.next('pong')).toMatchObject({ id: 'p1' });
    live.close();
  });

  it('refuses messages before authentication and closes on a bad token', async () => {
    const live = await LiveClient.connect(t.url);
    live.send({ type: 'subscribe', robots: ['*'], channels: ['telemetry'] });
    expect(await live.next('error')).toMatchObject({ code: 'unauthorized', message: 'Authenticate first' });
    const closed = live.closed();
    live.send({ type: 'auth', token: 'forged.token.value' });
    expect(await closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('closes at once when the upgrade carries a bad bearer token', async () => {
    const live = await LiveClient.connect(t.url, { authorization: 'Bearer nope' });
    expect(await live.closed()).toEqual({ code: 4401, reason: 'Unauthorized' });
  });
});
