import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/test-server';

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

  it('ingests from a robot on the external broker, and two servers split the load without duplicates', async () => {
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
        { qos: 1 },
      );
    }
    await robot.endAsync();
    const accepted = await waitFor(
      () => {
        const counts = servers.map((s) => s.server.pipeline.stats().messages_accepted);
        return counts[0]! + counts[1]! === 201 ? counts : undefined;
      },
      10_000,
      'all 201 messages accepted across both servers',
    );
    expect(accepted[0]).toBeGreaterThan(0);
    expect(accepted[1]).toBeGreaterThan(0);

    // The robot is one row in the shared database, whichever server registered it.
    const list = await waitFor(async () => {
      const body = await (await servers[1]!.api('/api/v1/robots')).json();
      return body.total === 1 ? body : undefined;
    });
    expect(list.items[0].robot_id).toBe('tonypi_ext');
  });
});
