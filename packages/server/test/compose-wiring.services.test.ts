import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Broker,
  composeEnvironment,
  connectMqtt,
  DYNSEC_ADMIN,
  MQTT_SERVER_PASSWORD,
  requireMosquitto,
  startBroker,
} from './helpers/deploy';
import { allQueries, DEPLOY_DIR, substituteInfluxQL } from './helpers/grafana';
import { ADMIN_PASSWORD, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * docker-compose.yml's wiring without Docker: the server started with the `server` service's environment
 * as compose resolves it from an .env (only the service host names mapped to this machine's engines),
 * PostgreSQL as the role `tonypi` owning its database, Mosquitto on deploy/mosquitto as start.sh starts
 * it, then the Grafana role job the way compose runs it once the server is healthy. The InfluxDB part of
 * TELEMETRY_URL is used when TEST_INFLUX_URL is set; without it the server keeps its embedded store.
 */
const adminUrl = process.env.TEST_DATABASE_URL;
if (!adminUrl) throw new Error('Set TEST_DATABASE_URL (see .ci/run) to run the services suite');
requireMosquitto();

const execFileAsync = promisify(execFile);
const POSTGRES_PASSWORD = `pg${Math.random().toString(36).slice(2)}`;
const database = `tonypi_compose_${Math.random().toString(36).slice(2, 8)}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let broker: Broker;
let server: TestServer;
let dbUrl: URL;
let env: Record<string, string>;
let robotMqtt: { username: string; password: string } | undefined;

beforeAll(async () => {
  // What the postgres image makes from POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB: a superuser (the
  // Grafana role job needs to create a role) owning the database.
  await admin(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tonypi') THEN CREATE ROLE tonypi LOGIN; END IF;
  END $$`);
  await admin(`ALTER ROLE tonypi SUPERUSER PASSWORD '${POSTGRES_PASSWORD}'`);
  await admin(`CREATE DATABASE ${database} OWNER tonypi`);
  broker = await startBroker();

  const values: Record<string, string> = {
    POSTGRES_PASSWORD,
    MQTT_SERVER_PASSWORD,
    MQTT_DYNSEC_ADMIN_PASSWORD: DYNSEC_ADMIN.password,
    INFLUX_SERVER_PASSWORD: 'influx-test-password',
    ADMIN_PASSWORD,
    JWT_SECRET: 'j'.repeat(40),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  env = composeEnvironment('server', values);
  // The compose network's host names → this machine's engines.
  const pgHost = new URL(adminUrl!);
  dbUrl = new URL(env.DATABASE_URL!);
  expect(`${dbUrl.hostname}:${dbUrl.port}${dbUrl.pathname}`).toBe('postgres:5432/tonypi');
  dbUrl.hostname = pgHost.hostname;
  dbUrl.port = pgHost.port;
  dbUrl.pathname = `/${database}`;
  env.DATABASE_URL = dbUrl.toString();
  expect(env.MQTT_URL).toBe('mqtt://mosquitto:1883');
  env.MQTT_URL = `mqtt://127.0.0.1:${broker.tcpPort}`;
  const telemetry = new URL(env.TELEMETRY_URL!);
  expect(telemetry.host).toBe('influxdb:8086');
  if (process.env.TEST_INFLUX_URL) {
    telemetry.host = new URL(process.env.TEST_INFLUX_URL).host;
    env.TELEMETRY_URL = telemetry.toString();
  } else delete env.TELEMETRY_URL;
  // The image's own settings; the test server picks loopback ports and a temp data dir instead.
  for (const key of ['PORT', 'HOST', 'DATA_DIR']) delete env[key];
  server = await startTestServer(env);
});

afterAll(async () => {
  await server?.close();
  await broker?.stop();
  if (broker) rmSync(broker.dir, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});

describe("deploy/docker-compose.yml's server environment", () => {
  it('starts the server healthy on PostgreSQL and on Mosquitto as fleet-server, with no simulated robots', async () => {
    expect(env.MQTT_USERNAME).toBe('fleet-server');
    expect(env.MQTT_DYNSEC).toBe('true');
    expect(env.MQTT_DYNSEC_ADMIN_USERNAME).toBe(DYNSEC_ADMIN.username);
    expect(env.SIMULATED_ROBOTS).toBe('0');
    expect(env.ALLOW_ANONYMOUS_ROBOTS).toBe('false');
    const res = await server.api('/api/v1/health', { anonymous: true });
    const body = (await res.json()) as { status: string; components: Record<string, { kind?: string }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.components.database!.kind).toBe('postgres');
    expect(body.components.broker!.kind).toContain(`127.0.0.1:${broker.tcpPort}`);
  });

  it("gives Grafana's role, made after the server is healthy, the robots an admin registers", async () => {
    const created = await server.api('/api/v1/robots', {
      method: 'POST',
      json: { robot_id: 'compose_bot', name: 'Compose bot' },
    });
    expect(created.status).toBe(201);
    robotMqtt = ((await created.json()) as { mqtt: { username: string; password: string } }).mqtt;
    // The postgres-grafana-role job: psql with the compose service's environment and command.
    const job = composeEnvironment('postgres-grafana-role', {
      POSTGRES_PASSWORD,
      GRAFANA_PG_PASSWORD: 'grafana-pw',
    });
    expect(job).toMatchObject({ PGUSER: 'tonypi', PGDATABASE: 'tonypi', PGHOST: 'postgres' });
    await execFileAsync(
      'psql',
      [
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-v',
        `grafana_password=${job.GRAFANA_PG_PASSWORD}`,
        '-f',
        new URL('postgres/grafana-readonly.sql', DEPLOY_DIR).pathname,
      ],
      {
        env: {
          ...process.env,
          PGHOST: dbUrl.hostname,
          PGPORT: dbUrl.port,
          PGUSER: job.PGUSER,
          PGPASSWORD: job.PGPASSWORD,
          PGDATABASE: database,
        },
      },
    );
    const grafanaUrl = new URL(dbUrl);
    grafanaUrl.username = 'grafana_ro';
    grafanaUrl.password = 'grafana-pw';
    const grafana = new pg.Client({ connectionString: grafanaUrl.toString() });
    await grafana.connect();
    try {
      const { rows } = await grafana.query(
        `SELECT robot_id, name FROM robots WHERE robot_id = 'compose_bot'`,
      );
      expect(rows).toEqual([{ robot_id: 'compose_bot', name: 'Compose bot' }]);
    } finally {
      await grafana.end();
    }
  });

  it('lets the registered robot in with its own credentials (the server made its client in the plugin)', async () => {
    expect(robotMqtt?.username).toBe('compose_bot');
    const robot = await connectMqtt(`mqtt://127.0.0.1:${broker.tcpPort}`, {
      clientId: 'compose_bot',
      ...robotMqtt!,
    });
    try {
      await robot.publishAsync('tonypi/compose_bot/system', JSON.stringify({ cpu_percent: 42.125 }), {
        qos: 1,
      });
    } finally {
      await robot.endAsync();
    }
    await waitFor(
      async () => {
        const res = await server.api('/api/v1/robots/compose_bot/latest');
        return res.ok && JSON.stringify(await res.json()).includes('42.125');
      },
      20_000,
      "the robot's reading in its latest values",
    );
    // A made-up robot is refused, as is a known robot with a wrong secret.
    await expect(
      connectMqtt(`mqtt://127.0.0.1:${broker.tcpPort}`, {
        clientId: 'compose_bot',
        username: 'compose_bot',
        password: 'wrong',
      }),
    ).rejects.toThrow(/Not authorized|Bad username or password/i);
  });

  it.runIf(process.env.TEST_INFLUX_URL)(
    "stores a robot's readings in InfluxDB where the robot dashboard's battery panel finds them",
    async () => {
      // The robot itself, with the credentials its registration answered (its client in the plugin).
      const client = await connectMqtt(`mqtt://127.0.0.1:${broker.tcpPort}`, {
        clientId: robotMqtt!.username,
        ...robotMqtt!,
      });
      try {
        await client.publishAsync(
          'tonypi/compose_bot/battery',
          JSON.stringify({ percent: 77, voltage_v: 11.9 }),
          {
            qos: 1,
          },
        );
      } finally {
        await client.endAsync();
      }
      const panel = allQueries().find(
        (q) => q.dashboard === 'tonypi-robot' && q.panel === 'Battery' && q.text.includes('last('),
      );
      expect(panel).toBeDefined();
      const now = Date.now();
      const q = substituteInfluxQL(panel!.text, {
        from: new Date(now - 600_000),
        to: new Date(now + 60_000),
        interval: '10s',
        variables: { robot_id: 'compose_bot' },
      });
      const url = new URL('/query', process.env.TEST_INFLUX_URL);
      url.searchParams.set('db', 'fleet_raw');
      url.searchParams.set('epoch', 'ms');
      url.searchParams.set('q', q);
      let values: unknown[] = [];
      await waitFor(
        async () => {
          const body = (await (await fetch(url)).json()) as {
            results: { series?: { values: unknown[][] }[] }[];
          };
          values = body.results[0]?.series?.flatMap((series) => series.values.map((row) => row[1])) ?? [];
          return values.includes(77);
        },
        20_000,
        'the battery reading in fleet_raw',
      );
      expect(values).toContain(77);
    },
  );
});
