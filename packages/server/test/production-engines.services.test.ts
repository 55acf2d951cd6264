import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * The server as deployed: PostgreSQL (TEST_DATABASE_URL) and an external Mosquitto
 * (TEST_MQTT_URL). `.ci/run` starts both on loopback; run with `npm run test:services`.
 */
const databaseUrl = process.env.TEST_DATABASE_URL;
const mqttUrl = process.env.TEST_MQTT_URL;
if (!databaseUrl || !mqttUrl) {
  throw new Error('Set TEST_DATABASE_URL and TEST_MQTT_URL (see .ci/run) to run the services suite');
}

/** A database of its own per server, so runs do not see each other's robots. */
async function freshDatabase(): Promise<string> {
  const { default: pg } = await import('pg');
  const name = `tonypi_it_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(databaseUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

const servers: TestServer[] = [];
let dbUrl: string;
const group = `it-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  dbUrl = await freshDatabase();
  // Two instances on one database and one broker, splitting the ingest through a shared subscription.
  for (let i = 0; i < 2; i++) {
    servers.push(await startTestServer({ DATABASE_URL: dbUrl, MQTT_URL: mqttUrl, MQTT_SHARED_GROUP: group }));
  }
});
afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('on PostgreSQL and Mosquitto', () => {
  it('reports the real engines in health', async () => {
    const body = await (await servers[0]!.api('/api/v1/health', { anonymous: true })).json();
    expect(body.status).toBe('ok');
    expect(body.components.database.kind).toBe('postgres');
    expect(body.components.broker.kind).toContain('mqtt://');
  });

  it('splits storing between two servers without duplicates, while each observes every message', async () => {
    const lives = await Promise.all(
      servers.map(async (s) => {
        const live = await LiveClient.connect(s.url, { authorization: `Bearer ${s.token}` });
        live.send({ type: 'subscribe', robots: ['tonypi_ext'], channels: ['telemetry', 'status'] });
        await live.next('subscribed');
        return live;
      }),
    );
    const robot = mqtt.connect(mqttUrl!, { clientId: 'tonypi_ext', reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      robot.once('connect', () => resolve());
      robot.once('error', reject);
    });
    await robot.publishAsync('tonypi/tonypi_ext/status', JSON.stringify({ status: 'online' }), { qos: 1 });
    const now = Date.now();
    for (let i = 0; i < 200; i++) {
      await robot.publishAsync(
        'tonypi/tonypi_ext/system',
        JSON.stringify({ ts: now - 20_000 + i * 100, cpu_percent: i }),
        {
          qos: 1,
        },
      );
    }
    await robot.endAsync();

    // Every server observes all 201 messages (registry, live stream) …
    await waitFor(
      () => servers.every((s) => s.server.pipeline.stats().messages_accepted === 201),
      10_000,
      'both servers observing all 201 messages',
    );
    // … and each of the 200 points is stored by exactly one of them.
    const stored = await waitFor(
      async () => {
        for (const s of servers) await s.server.pipeline.flush();
        const counts = servers.map((s) => s.server.pipeline.stats().points_stored);
        return counts[0]! + counts[1]! === 200 ? counts : undefined;
      },
      10_000,
      'all 200 points stored once',
    );
    expect(stored[0]).toBeGreaterThan(0);
    expect(stored[1]).toBeGreaterThan(0);

    for (const [i, s] of servers.entries()) {
      const body = await (await s.api('/api/v1/robots/tonypi_ext')).json();
      expect(body.status, `server ${i}`).toBe('online');
      expect(body.latest.measurements.system.fields.cpu_percent, `server ${i}`).toBe(199);
      await lives[i]!.next('telemetry', (f) => (f.fields as { cpu_percent: number }).cpu_percent === 199);
      await lives[i]!.next('status', (f) => f.status === 'online');
      lives[i]!.close();
    }
    const list = await (await servers[1]!.api('/api/v1/robots')).json();
    expect(list.total).toBe(1);
  });
});
