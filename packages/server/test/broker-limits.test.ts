import { once } from 'node:events';
import net from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { remainingLength } from '../src/broker/mqtt-test-packets';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * What anonymous clients cannot do to the embedded broker and the robots' state (issue 6, items 5, 6 and 10):
 * through real MQTT clients against the whole server.
 */

interface Health {
  components: { broker: { clients: number; refused: Record<string, number>; retained_messages: number } };
  robots: { known: number; pending: number };
  ingest: { rejected: Record<string, number> };
}

const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
});

async function client(t: TestServer, clientId: string, opts: Parameters<typeof connectMqtt>[1] = {}) {
  const c = await connectMqtt(t.mqttUrl, { clientId, ...opts });
  clients.push(c);
  return c;
}

const health = async (t: TestServer) =>
  (await (await t.api('/api/v1/health', { anonymous: true })).json()) as Health;

const robotOf = async (t: TestServer, id: string) => (await t.api(`/api/v1/robots/${id}`)).json();

describe('the embedded broker and anonymous clients', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ MQTT_MAX_CONNECTIONS_PER_ADDRESS: '6', MQTT_RETAINED_MAX_BYTES: '256' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ignores a status for robot X that another client publishes: X keeps the state it reports (acl_denied)', async () => {
    const robot = await client(t, 'tonypi_x');
    await robot.publishAsync('tonypi/tonypi_x/status', JSON.stringify({ status: 'online' }), { qos: 1 });
    const intruder = await client(t, 'intruder');
    await intruder.publishAsync('tonypi/tonypi_x/status', JSON.stringify({ status: 'maintenance' }), {
      qos: 1,
      retain: true,
    });
    await intruder.publishAsync(
      'tonypi/status/tonypi_x',
      JSON.stringify({ robot_id: 'tonypi_x', status: 'emergency_stopped' }),
      { qos: 1 },
    );
    await robot.publishAsync('tonypi/tonypi_x/battery', JSON.stringify({ percent: 55 }), { qos: 1 });
    const body = await waitFor(async () => {
      const b = await robotOf(t, 'tonypi_x');
      return b.latest?.measurements.battery?.fields.percent === 55 ? b : undefined;
    });
    expect(body.status).toBe('online');
    const h = await health(t);
    expect(h.ingest.rejected.acl_denied).toBe(2);
    // Nor is the intruder's status kept for whoever subscribes later.
    expect(h.components.broker.refused.retained_not_owner).toBe(1);
  });

  it('keeps a robot online while other clients take over its client id: no offline from their Last Wills', async () => {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
    live.send({ type: 'subscribe', robots: ['tonypi_y'], channels: ['status'] });
    await live.next('subscribed');
    const will = {
      topic: 'tonypi/tonypi_y/status',
      payload: Buffer.from(JSON.stringify({ status: 'offline' })),
      qos: 1 as const,
      retain: true,
    };
    const robot = await client(t, 'tonypi_y', { will });
    await robot.publishAsync('tonypi/tonypi_y/status', JSON.stringify({ status: 'online' }), { qos: 1 });
    await live.next('status', (f) => f.status === 'online');
    const before = (await health(t)).components.broker.refused.takeover_will_dropped ?? 0;
    let last = robot;
    for (let i = 0; i < 3; i++) last = await client(t, 'tonypi_y', { will });
    await waitFor(
      async () => (await health(t)).components.broker.refused.takeover_will_dropped === before + 3,
      5000,
      'three takeovers',
    );
    // A marker from the session that holds the id now: every status frame would have come before it.
    await last.publishAsync('tonypi/tonypi_y/battery', JSON.stringify({ percent: 42 }), { qos: 1 });
    const body = await waitFor(async () => {
      const b = await robotOf(t, 'tonypi_y');
      return b.latest?.measurements.battery?.fields.percent === 42 ? b : undefined;
    });
    expect(body.status).toBe('online');
    expect(live.of('status').map((f) => f.status)).toEqual(['online']);
    live.close();
  });

  it('does not keep an over-size retained message: delivered and applied, refused retention, counted', async () => {
    const robot = await client(t, 'tonypi_z');
    const status = { status: 'online', ip_address: '192.0.2.7', note: 'x'.repeat(300) };
    await robot.publishAsync('tonypi/tonypi_z/status', JSON.stringify(status), { qos: 1, retain: true });
    const body = await waitFor(async () => {
      const b = await robotOf(t, 'tonypi_z');
      return b.ip_address === '192.0.2.7' ? b : undefined;
    });
    expect(body.status).toBe('online');
    const h = await health(t);
    expect(h.components.broker.refused.retained_too_large).toBe(1);
    const metrics = await (await t.api('/metrics')).text();
    expect(metrics).toContain('tonypi_mqtt_limit_refusals_total{reason="retained_too_large"} 1');
  });

  it('refuses the CONNECT of a client beyond MQTT_MAX_CONNECTIONS_PER_ADDRESS, counted', async () => {
    // The connections of the tests before are closed on the server's side too.
    await waitFor(async () => (await health(t)).components.broker.clients === 0, 5000, 'no client left');
    for (let i = 0; i < 6; i++) await client(t, `tonypi_c${i}`);
    await expect(client(t, 'tonypi_c6')).rejects.toMatchObject({ code: 3 });
    expect((await health(t)).components.broker.refused.connections_per_address).toBe(1);
  });

  it('closes the connection of a client that publishes a topic that is not valid UTF-8', async () => {
    const socket = net.connect(Number(new URL(t.mqttUrl).port), '127.0.0.1');
    socket.on('error', () => undefined);
    // Read what the server sends (its CONNACK): a socket with unread data never reports its close.
    socket.resume();
    const closing = once(socket, 'close');
    await once(socket, 'connect');
    const id = Buffer.from('tonypi_raw');
    const connect = Buffer.concat([
      Buffer.from([0x00, 0x04, ...Buffer.from('MQTT'), 0x04, 0x02, 0x00, 0x3c, 0x00, id.length]),
      id,
    ]);
    const topic = Buffer.from([...Buffer.from('tonypi/'), 0xc3, 0x28, ...Buffer.from('/status')]);
    const publish = Buffer.concat([
      Buffer.from([0x00, topic.length]),
      topic,
      Buffer.from('{"status":"online"}'),
    ]);
    socket.write(Buffer.concat([Buffer.from([0x10, ...remainingLength(connect.length)]), connect]));
    socket.write(Buffer.concat([Buffer.from([0x30, ...remainingLength(publish.length)]), publish]));
    await closing;
    expect((await health(t)).components.broker.refused.malformed_string).toBe(1);
  });
});

describe('robots registering themselves', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ ROBOT_AUTO_REGISTER_PER_MIN: '2', ROBOT_CONFIRM_AFTER_S: '1' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('registers at most ROBOT_AUTO_REGISTER_PER_MIN a minute, as pending; the others get registration_limited', async () => {
    for (const id of ['tonypi_a', 'tonypi_b', 'tonypi_c']) {
      const c = await client(t, id);
      await c.publishAsync(`tonypi/${id}/battery`, JSON.stringify({ percent: 50 }), { qos: 1 });
    }
    const h = await waitFor(async () => {
      const b = await health(t);
      return b.ingest.rejected.registration_limited === 1 ? b : undefined;
    });
    expect(h.robots.pending).toBe(2);
    const pending = await (await t.api('/api/v1/robots?registration=pending')).json();
    expect(
      pending.items.map((r: { robot_id: string; registration: string }) => [r.robot_id, r.registration]),
    ).toEqual([
      ['tonypi_a', 'pending'],
      ['tonypi_b', 'pending'],
    ]);
    expect((await t.api('/api/v1/robots/tonypi_c')).status).toBe(404);
  });

  it('confirms a pending robot (active) once it kept talking ROBOT_CONFIRM_AFTER_S', async () => {
    const c = await client(t, 'tonypi_a');
    const active = await waitFor(async () => {
      await c.publishAsync('tonypi/tonypi_a/battery', JSON.stringify({ percent: 51 }), { qos: 1 });
      const list = await (await t.api('/api/v1/robots?registration=active')).json();
      return list.total === 1 ? list : undefined;
    });
    expect(active.items[0]).toMatchObject({ robot_id: 'tonypi_a', registration: 'active' });
    expect((await health(t)).robots.pending).toBe(1);
    expect((await t.api('/api/v1/robots?registration=unknown')).status).toBe(400);
  });
});
