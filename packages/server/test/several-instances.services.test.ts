import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * Issue #9 §3: two server instances on one PostgreSQL and one Mosquitto (and, with TEST_INFLUX_URL, one InfluxDB
 * as the telemetry store): a session made on one is valid on the other; history is complete whichever stored a
 * point; one alert per condition; a command timed out once; a report schedule run once per period; and each
 * instance's browsers see the alert, command and report changes the other one made.
 */
const databaseUrl = process.env.TEST_DATABASE_URL;
const mqttUrl = process.env.TEST_MQTT_URL;
const influxUrl = process.env.TEST_INFLUX_URL;
if (!databaseUrl || !mqttUrl) {
  throw new Error('Set TEST_DATABASE_URL and TEST_MQTT_URL (see .ci/run) to run the services suite');
}

const suffix = randomBytes(4).toString('hex');
const ROBOT = `multi_${suffix}`;
let a: TestServer;
let b: TestServer;
let robot: MqttClient;
const lives: LiveClient[] = [];

async function freshDatabase(): Promise<string> {
  const { default: pg } = await import('pg');
  const name = `tonypi_multi_${suffix}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(databaseUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

beforeAll(async () => {
  const env: Record<string, string> = {
    DATABASE_URL: await freshDatabase(),
    MQTT_URL: mqttUrl!,
    MQTT_SHARED_GROUP: `multi-${suffix}`,
    // One secret for both: a session signed by one instance is checked by the other.
    JWT_SECRET: randomBytes(32).toString('hex'),
  };
  if (influxUrl) {
    const u = new URL(influxUrl);
    env.TELEMETRY_URL = `influx://${u.host}/?db=multi_${suffix}`;
  }
  a = await startTestServer(env);
  b = await startTestServer(env);
  robot = mqtt.connect(mqttUrl!, { clientId: ROBOT, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    robot.once('connect', () => resolve());
    robot.once('error', reject);
  });
  await robot.publishAsync(`tonypi/${ROBOT}/status`, JSON.stringify({ status: 'online' }), { qos: 1 });
  for (const s of [a, b]) {
    await waitFor(
      async () => (await (await s.api(`/api/v1/robots/${ROBOT}`)).json()).status === 'online',
      10_000,
      'the robot online on both instances',
    );
  }
  for (const s of [a, b]) {
    const live = await LiveClient.connect(s.url, { authorization: `Bearer ${s.token}` });
    live.send({ type: 'subscribe', robots: [ROBOT], channels: ['alert', 'command', 'report'] });
    await live.next('subscribed');
    lives.push(live);
  }
}, 60_000);

afterAll(async () => {
  for (const l of lives) l.close();
  await robot?.endAsync(true);
  await a?.close();
  await b?.close();
});

describe('two server instances', () => {
  it('accept each other’s sessions', async () => {
    const res = await fetch(`${b.url}/api/v1/auth/session`, {
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).user.username).toBe('admin');
  });

  it.skipIf(!influxUrl)('read the same, complete history whichever of them stored a point', async () => {
    const now = Date.now();
    for (let i = 0; i < 100; i++) {
      await robot.publishAsync(
        `tonypi/${ROBOT}/battery`,
        JSON.stringify({ ts: now - 60_000 + i * 500, percent: 50 + (i % 10), voltage_v: 7.5 }),
        { qos: 1 },
      );
    }
    for (const s of [a, b]) {
      await waitFor(
        async () => {
          for (const x of [a, b]) await x.server.pipeline.flush();
          const body = await (
            await s.api(
              `/api/v1/robots/${ROBOT}/telemetry?measurement=battery&field=percent&from=10m&points=2000`,
            )
          ).json();
          const count = (body.series ?? []).reduce(
            (n: number, series: { points: { count: number }[] }) =>
              n + series.points.reduce((m, x) => m + x.count, 0),
            0,
          );
          return count === 100 ? count : undefined;
        },
        20_000,
        'all 100 points read back through each instance',
      );
    }
    const stored = [a, b].map((s) => s.server.pipeline.stats().points_stored);
    // Each message stored once, by one or the other: both stored some, and each reads them all.
    expect(stored[0]! + stored[1]!).toBe(100);
    expect(Math.min(stored[0]!, stored[1]!)).toBeGreaterThan(0);
  });

  it('raise one alert for one condition, and both instances’ browsers see it', async () => {
    const rule = await a.api('/api/v1/alert-rules', {
      method: 'POST',
      json: {
        robot_id: ROBOT,
        measurement: 'system',
        field: 'cpu_percent',
        direction: 'above',
        warning_level: 80,
        critical_level: 95,
        sustained_s: 0,
        name: `multi cpu ${suffix}`,
      },
    });
    expect(rule.status, await rule.clone().text()).toBe(201);
    const { id: ruleId } = await rule.json();
    // Both instances read the rule (each caches the rules and refreshes them on change).
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 20; i++) {
      await robot.publishAsync(
        `tonypi/${ROBOT}/system`,
        JSON.stringify({ ts: Date.now(), cpu_percent: 97 }),
        { qos: 1 },
      );
      await new Promise((r) => setTimeout(r, 50));
    }
    const open = await waitFor(
      async () => {
        const body = await (await b.api(`/api/v1/alerts?robot_id=${ROBOT}&state=open`)).json();
        const mine = body.items.filter((x: { rule_id: number | null }) => x.rule_id === ruleId);
        return mine.length > 0 ? mine : undefined;
      },
      10_000,
      'the alert raised',
    );
    await new Promise((r) => setTimeout(r, 1000));
    for (const s of [a, b]) {
      const body = await (await s.api(`/api/v1/alerts?robot_id=${ROBOT}`)).json();
      expect(body.items.filter((x: { rule_id: number | null }) => x.rule_id === ruleId)).toHaveLength(1);
    }
    for (const live of lives) {
      await live.next(
        'alert',
        (f) => (f.alert as { id: number }).id === open[0].id && f.change === 'raised',
        10_000,
      );
    }
    // Acknowledged through one instance: the other's browser sees it too.
    const ack = await b.api(`/api/v1/alerts/${open[0].id}/acknowledge`, { method: 'POST', json: {} });
    expect(ack.status).toBe(200);
    await lives[0]!.next(
      'alert',
      (f) => (f.alert as { id: number }).id === open[0].id && f.change === 'acknowledged',
      10_000,
    );
  });

  it('time a command out once, and both instances’ browsers see it', async () => {
    const sent = await a.api(`/api/v1/robots/${ROBOT}/commands`, {
      method: 'POST',
      json: { command: 'status_request', params: {}, timeout_s: 1 },
    });
    expect(sent.status, await sent.clone().text()).toBe(202);
    const { command_id } = await sent.json();
    for (const live of lives) {
      await live.next(
        'command',
        (f) => (f as { command_id?: string }).command_id === command_id && f.status === 'timed_out',
        10_000,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
    for (const live of lives) {
      const timedOut = live
        .of('command')
        .filter((f) => (f as { command_id?: string }).command_id === command_id && f.status === 'timed_out');
      expect(timedOut).toHaveLength(1);
    }
    for (const s of [a, b]) {
      expect((await (await s.api(`/api/v1/commands/${command_id}`)).json()).status).toBe('timed_out');
    }
  });

  it('run a report schedule once per period, and both instances’ browsers follow the report', async () => {
    const created = await a.api('/api/v1/report-schedules', {
      method: 'POST',
      json: { name: `multi ${suffix}`, kind: 'jobs', robot_id: ROBOT, frequency: 'daily' },
    });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    await a.server
      .service('db')
      .query("UPDATE report_schedules SET next_run_at = now() - interval '1 second' WHERE id = $1", [id]);
    await Promise.all([
      a.server.service('reportSchedules').tick(),
      b.server.service('reportSchedules').tick(),
      a.server.service('reportSchedules').tick(),
      b.server.service('reportSchedules').tick(),
    ]);
    const runs = await (await b.api(`/api/v1/reports?schedule_id=${id}`)).json();
    expect(runs.total).toBe(1);
    const reportId = runs.items[0].id as number;
    for (const live of lives) {
      await live.next('report', (f) => f.report_id === reportId && f.status === 'completed', 20_000);
    }
  });
});
