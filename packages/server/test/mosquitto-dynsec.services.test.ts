/**
 * Robots confined by a real Mosquitto 2.0 (Debian's, which `.ci/run` installs) through its dynamic-security
 * plugin, the server managing each robot's client and role (issue #9 §2). The suite starts its own broker on
 * 127.0.0.1 on a free port with a temp dir: no anonymous clients, persistence on, the plugin's file made by
 * `mosquitto_ctrl dynsec init`; the server logs in as `fleet-server` and keeps the accounts as the plugin's admin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Fleet } from '@tonypi/agent';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/app';
import { DynsecAccounts } from '../src/broker/dynsec/dynsec-accounts';
import { DynsecControl } from '../src/broker/dynsec/dynsec-control';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { RobotAdminRepository } from '../src/robots/robot-admin.repository';
import { type Mosquitto, startMosquitto } from './helpers/mosquitto';
import { ADMIN_PASSWORD, loopbackEnv, TEST_SERVER_ENV, waitFor } from './helpers/test-server';

const GROUP = 'fleet-ingest';
const SERVER_LOGIN = { username: 'fleet-server', password: `srv-${Math.random().toString(36).slice(2)}` };

let broker: Mosquitto;
let dataDir: string;
let server: RunningServer;
let token: string;
const lines: string[] = [];
const secrets = new Map<string, string>();
const clients: MqttClient[] = [];

interface Instance {
  server: RunningServer;
  token: string;
}

/** A server managing the broker's accounts, logging everything into `lines`. */
async function startInstance(dir: string, env: Record<string, string> = {}): Promise<Instance> {
  const config = loadConfig({
    ...loopbackEnv(dir),
    ...TEST_SERVER_ENV,
    LOG_LEVEL: 'trace',
    MQTT_URL: broker.url,
    MQTT_USERNAME: SERVER_LOGIN.username,
    MQTT_PASSWORD: SERVER_LOGIN.password,
    MQTT_SHARED_GROUP: GROUP,
    MQTT_DYNSEC: 'true',
    MQTT_DYNSEC_ADMIN_USERNAME: broker.admin.username,
    MQTT_DYNSEC_ADMIN_PASSWORD: broker.admin.password,
    ALLOW_ANONYMOUS_ROBOTS: 'false',
    ...env,
  });
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const started = await startServer(config, {
    logger: createLogger('trace', { destination, format: 'json' }),
  });
  const login = await fetch(`${started.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  return { server: started, token: ((await login.json()) as { access_token: string }).access_token };
}

async function api(
  pathname: string,
  init: { method?: string; json?: unknown } = {},
  on: Instance = { server, token },
) {
  const res = await fetch(`${on.server.url}${pathname}`, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${on.token}`,
      ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Registers a robot; its secret is kept to be looked for in the logs. */
async function register(robot_id: string, on?: Instance): Promise<string> {
  const res = await api('/api/v1/robots', { json: { robot_id } }, on);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  secrets.set(`${robot_id} secret`, res.body.mqtt.password);
  return res.body.mqtt.password;
}

async function rotate(robot_id: string): Promise<string> {
  const res = await api(`/api/v1/robots/${robot_id}/credentials/rotate`, { method: 'POST' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  secrets.set(`${robot_id} rotated secret`, res.body.mqtt.password);
  return res.body.mqtt.password;
}

/** The CONNACK's refusal, or 'connected' (the client is then kept, closed after the suite). */
async function attempt(opts: mqtt.IClientOptions): Promise<{ outcome: string; client?: MqttClient }> {
  const c = mqtt.connect(broker.url, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 5,
    ...opts,
  });
  const outcome = await new Promise<string>((resolve) => {
    c.once('connect', () => resolve('connected'));
    c.once('error', (err) => resolve(err.message));
  });
  if (outcome !== 'connected') {
    await c.endAsync(true);
    return { outcome };
  }
  clients.push(c);
  return { outcome, client: c };
}

async function robot(robot_id: string, password: string): Promise<MqttClient> {
  const { outcome, client } = await attempt({ clientId: robot_id, username: robot_id, password });
  expect(outcome).toBe('connected');
  return client!;
}

/** What the server knows of a robot's `system` channel (undefined before anything was stored). */
async function cpu(robot_id: string): Promise<number | undefined> {
  const res = await api(`/api/v1/robots/${robot_id}`);
  return res.body?.latest?.measurements?.system?.fields?.cpu_percent;
}

/** A subscription's granted QoS codes, or the SUBACK's failure codes (mqtt.js rejects a failed one). */
async function suback(c: MqttClient, filter: string): Promise<number[]> {
  try {
    return (await c.subscribeAsync(filter, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: Array<number | { qos: number }> } }).packet;
    return (packet?.granted ?? []).map((g) => (typeof g === 'number' ? g : g.qos));
  }
}

const stored = () => server.pipeline.stats().points_stored;
const accepted = () => server.pipeline.stats().messages_accepted;

beforeAll(async () => {
  broker = await startMosquitto();
  secrets.set('dynsec admin password', broker.admin.password);
  secrets.set('server mqtt password', SERVER_LOGIN.password);
  dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-dynsec-'));
  ({ server, token } = await startInstance(dataDir));
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await server?.stop();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('robots on Mosquitto with the dynamic-security plugin', () => {
  let secretA: string;
  let secretB: string;

  it('lets a registered robot publish its telemetry, which is stored', async () => {
    secretA = await register('dyn_a');
    secretB = await register('dyn_b');
    const a = await robot('dyn_a', secretA);
    await a.publishAsync('tonypi/dyn_a/system', JSON.stringify({ ts: Date.now(), cpu_percent: 41 }), {
      qos: 1,
    });
    await waitFor(async () => (await cpu('dyn_a')) === 41, 10_000, 'dyn_a telemetry stored');
  });

  it("refuses a robot's publish as another robot: the message never reaches the server", async () => {
    const a = await robot('dyn_a', secretA);
    const before = accepted();
    // MQTT 5: the broker answers a denied publish with PUBACK 135, which mqtt.js reports as an error.
    for (const topic of ['tonypi/dyn_b/system', 'tonypi/system/dyn_b', 'tonypi/dyn_b/command/response']) {
      await a
        .publishAsync(topic, JSON.stringify({ ts: Date.now(), cpu_percent: 666 }), { qos: 1 })
        .catch(() => undefined);
    }
    // Nor the server's topics, its own command included.
    await a.publishAsync('tonypi/dyn_a/command', '{"command":"shutdown"}', { qos: 1 }).catch(() => undefined);
    // A marker on its own topic comes after them: once it is in, the others would have been too.
    await a.publishAsync('tonypi/dyn_a/system', JSON.stringify({ ts: Date.now(), cpu_percent: 42 }), {
      qos: 1,
    });
    await waitFor(async () => (await cpu('dyn_a')) === 42, 10_000, 'marker stored');
    expect(accepted() - before).toBe(1);
    expect(await cpu('dyn_b')).toBeUndefined();
  });

  it("refuses a robot's subscription to another robot's commands, and delivers it only its own", async () => {
    const a = await robot('dyn_a', secretA);
    const b = await robot('dyn_b', secretB);
    for (const filter of ['tonypi/dyn_b/command', 'tonypi/commands/dyn_b', 'tonypi/#', 'tonypi/+/command']) {
      const codes = await suback(a, filter);
      expect(codes.length, filter).toBe(1);
      expect(codes[0], filter).toBeGreaterThanOrEqual(128);
    }
    expect(await suback(a, 'tonypi/dyn_a/command')).toEqual([1]);
    expect(await suback(b, 'tonypi/dyn_b/command')).toEqual([1]);
    const toA: string[] = [];
    const toB: string[] = [];
    a.on('message', (topic) => toA.push(topic));
    b.on('message', (topic) => toB.push(topic));
    const res = await api('/api/v1/robots/dyn_a/commands', { json: { command: 'stop', params: {} } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await waitFor(() => toA.includes('tonypi/dyn_a/command'), 10_000, 'dyn_a gets its command');
    await new Promise((r) => setTimeout(r, 300));
    expect(toB).toEqual([]);
  });

  it("keeps robots out of the server's shared-subscription group", async () => {
    const a = await robot('dyn_a', secretA);
    for (const filter of [
      `$share/${GROUP}/tonypi/+/+`,
      `$share/${GROUP}/tonypi/#`,
      '$share/other/tonypi/#',
    ]) {
      const codes = await suback(a, filter);
      expect(codes[0], filter).toBeGreaterThanOrEqual(128);
    }
    const stolen: string[] = [];
    a.on('message', (topic) => stolen.push(topic));
    const b = await robot('dyn_b', secretB);
    const before = stored();
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      await b.publishAsync('tonypi/dyn_b/system', JSON.stringify({ ts: now + i, cpu_percent: i }), {
        qos: 1,
      });
    }
    // Every one of the ten is stored by the server: none went to the robot as a member of the group.
    await waitFor(
      async () => {
        await server.pipeline.flush();
        return stored() - before >= 10;
      },
      10_000,
      'all ten stored',
    );
    expect(await cpu('dyn_b')).toBe(9);
    expect(stolen).toEqual([]);
  });

  it('makes the old password fail and the new one work after a rotation, and closes the open session', async () => {
    const open = await robot('dyn_a', secretA);
    const closed = new Promise<void>((resolve) => open.once('close', () => resolve()));
    const rotated = await rotate('dyn_a');
    await closed;
    expect((await attempt({ clientId: 'dyn_a', username: 'dyn_a', password: secretA })).outcome).toMatch(
      /not authori[sz]ed/i,
    );
    await robot('dyn_a', rotated);
    secretA = rotated;
  });

  it('refuses a deleted robot, open session included, and lets it in again once restored', async () => {
    const open = await robot('dyn_b', secretB);
    const closed = new Promise<void>((resolve) => open.once('close', () => resolve()));
    expect((await api('/api/v1/robots/dyn_b', { method: 'DELETE' })).status).toBe(200);
    await closed;
    expect((await attempt({ clientId: 'dyn_b', username: 'dyn_b', password: secretB })).outcome).toMatch(
      /not authori[sz]ed/i,
    );
    expect((await api('/api/v1/robots/dyn_b/restore', { method: 'POST' })).status).toBe(200);
    await robot('dyn_b', secretB);
  });

  it('refuses a client id that is not the robot, and anonymous clients', async () => {
    expect((await attempt({ clientId: 'dyn_b', username: 'dyn_a', password: secretA })).outcome).toMatch(
      /not authori[sz]ed|identifier/i,
    );
    expect((await attempt({ clientId: 'dyn_anon' })).outcome).toMatch(/not authori[sz]ed/i);
  });

  it('reconciles the broker with the robots table, idempotently, from two instances at once', async () => {
    const control = await DynsecControl.connect({
      url: broker.url,
      ...broker.admin,
      logger: pino({ level: 'silent' }),
    });
    const control2 = await DynsecControl.connect({
      url: broker.url,
      ...broker.admin,
      logger: pino({ level: 'silent' }),
    });
    try {
      // The broker lost a robot's client, kept one the table does not know, and a role lost an ACL.
      await control.expect([
        { command: 'deleteClient', username: 'dyn_b' },
        { command: 'createRole', rolename: 'tonypi-robot-dyn_ghost' },
        {
          command: 'createClient',
          username: 'dyn_ghost',
          password: 'ghost-pw',
          roles: [{ rolename: 'tonypi-robot-dyn_ghost' }],
        },
        {
          command: 'removeRoleACL',
          rolename: 'tonypi-robot-dyn_a',
          acltype: 'subscribeLiteral',
          topic: 'tonypi/dyn_a/command',
        },
        {
          command: 'addRoleACL',
          rolename: 'tonypi-robot-dyn_a',
          acltype: 'subscribePattern',
          topic: '#',
          allow: true,
        },
      ]);
      const rows = await new RobotAdminRepository(server.db).listAccess();
      const silent = pino({ level: 'silent' });
      const reports = await Promise.all([
        new DynsecAccounts(control, silent).reconcile(rows),
        new DynsecAccounts(control2, silent).reconcile(rows),
      ]);
      expect(reports[0]!.robots).toBe(2);
      const again = await new DynsecAccounts(control, silent).reconcile(rows);
      expect(again).toMatchObject({ created_without_password: [], disabled: 0, roles_fixed: 0 });

      const [ghost, b, role] = await control.expect([
        { command: 'getClient', username: 'dyn_ghost' },
        { command: 'getClient', username: 'dyn_b' },
        { command: 'getRole', rolename: 'tonypi-robot-dyn_a' },
      ]);
      expect(ghost!.data).toMatchObject({ client: { disabled: true } });
      expect(b!.data).toMatchObject({ client: { roles: [{ rolename: 'tonypi-robot-dyn_b' }] } });
      const topics = (role!.data as { role: { acls: Array<{ topic: string }> } }).role.acls.map(
        (a) => a.topic,
      );
      expect(topics).toContain('tonypi/dyn_a/command');
      expect(topics).not.toContain('#');
    } finally {
      await control.close();
      await control2.close();
    }
    // dyn_b's client came back without a password (the table keeps a hash only): a rotation brings it in.
    expect((await attempt({ clientId: 'dyn_b', username: 'dyn_b', password: secretB })).outcome).toMatch(
      /not authori[sz]ed/i,
    );
    secretB = await rotate('dyn_b');
    await robot('dyn_b', secretB);
    const a = await robot('dyn_a', secretA);
    expect((await suback(a, '#'))[0]).toBeGreaterThanOrEqual(128);
  });

  it('never takes over a broker client it does not manage: the registration fails whole (503)', async () => {
    const control = await DynsecControl.connect({
      url: broker.url,
      ...broker.admin,
      logger: pino({ level: 'silent' }),
    });
    try {
      await control.expect([
        { command: 'createClient', username: 'dyn_foreign', password: 'operator-pw-1234' },
      ]);
      const res = await api('/api/v1/robots', { json: { robot_id: 'dyn_foreign' } });
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(res.body.error.code).toBe('service_unavailable');
      expect((await api('/api/v1/robots/dyn_foreign')).status).toBe(404);
      // The operator's client is as it was: its password still works.
      const { outcome } = await attempt({
        clientId: 'x1',
        username: 'dyn_foreign',
        password: 'operator-pw-1234',
      });
      expect(outcome).toBe('connected');
    } finally {
      await control.close();
    }
  });

  it('runs the robot agent unchanged under its role: online, telemetry, a command answered', async () => {
    const secret = await register('dyn_agent');
    const fleet = await Fleet.start({
      brokerUrl: broker.url,
      robots: 1,
      robotIds: ['dyn_agent'],
      credentials: (id) => ({ username: id, password: secret }),
      rateHz: 5,
      faults: false,
      autonomy: false,
      camera: false,
      logger: { info: () => undefined, warn: () => undefined },
    });
    try {
      await waitFor(
        async () => (await api('/api/v1/robots/dyn_agent')).body?.status === 'online',
        10_000,
        'dyn_agent online',
      );
      await waitFor(async () => (await cpu('dyn_agent')) !== undefined, 10_000, 'dyn_agent telemetry stored');
      const sent = await api('/api/v1/robots/dyn_agent/commands', { json: { command: 'stop', params: {} } });
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
      const done = await waitFor(
        async () => {
          const c = (await api(`/api/v1/commands/${sent.body.command_id}`)).body;
          return ['succeeded', 'failed', 'timed_out', 'rejected'].includes(c.status) ? c : undefined;
        },
        10_000,
        'the command answered',
      );
      expect(done.status).toBe('succeeded');
    } finally {
      await fleet.stop();
    }
  });

  it('reconnects after a broker restart and gets the QoS 1 messages published while it was away', async () => {
    for (const c of clients.splice(0)) c.end(true);
    const before = accepted();
    await broker.restart();
    // The server's reconnect waits 2 s: the robot publishes in between, to the session the broker kept for it.
    const a = await robot('dyn_a', secretA);
    const away = !server.service('bus').isConnected();
    const now = Date.now();
    for (let i = 0; i < 20; i++) {
      await a.publishAsync('tonypi/dyn_a/system', JSON.stringify({ ts: now + i, cpu_percent: 100 + i }), {
        qos: 1,
      });
    }
    expect(away, 'the server was still disconnected while the robot published').toBe(true);
    await waitFor(() => server.service('bus').isConnected(), 15_000, 'server reconnected');
    await waitFor(() => accepted() - before >= 20, 15_000, 'the 20 messages published while away');
    await waitFor(async () => (await cpu('dyn_a')) === 119, 10_000, 'the last one stored');
    // Resubscribed: what the robot sends now arrives too.
    await a.publishAsync('tonypi/dyn_a/system', JSON.stringify({ ts: Date.now(), cpu_percent: 7 }), {
      qos: 1,
    });
    await waitFor(async () => (await cpu('dyn_a')) === 7, 10_000, 'a message after the reconnect');
  });

  it('gets, after its own restart, the QoS 1 messages published while it was stopped (its id kept in DATA_DIR)', async () => {
    await server.stop();
    const a = await robot('dyn_a', secretA);
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
      await a.publishAsync('tonypi/dyn_a/system', JSON.stringify({ ts: now + i, cpu_percent: 200 + i }), {
        qos: 1,
      });
    }
    ({ server, token } = await startInstance(dataDir));
    await waitFor(async () => (await cpu('dyn_a')) === 204, 15_000, 'the messages sent while it was stopped');
    expect(server.pipeline.stats().messages_accepted).toBeGreaterThanOrEqual(5);
  });
});

/** A database of its own on TEST_DATABASE_URL's server. */
async function freshDatabase(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const name = `tonypi_dynsec_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const out = new URL(url);
  out.pathname = `/${name}`;
  return out.toString();
}

const databaseUrl = process.env.TEST_DATABASE_URL;

/**
 * Several instances on one PostgreSQL (TEST_DATABASE_URL, which `.ci/run` sets): the broker's accounts are
 * one set whichever instance changes them. Last of the suite: these instances' robots table does not know
 * the robots above, and their reconcile disables those, as it should for a broker serving one fleet.
 */
describe.skipIf(!databaseUrl)('two server instances on one PostgreSQL', () => {
  it('start at once (both reconciling), and a robot registered on one, rotated and deleted on the other, follows', async () => {
    const db = await freshDatabase(databaseUrl!);
    const dirs = await Promise.all([0, 1].map(() => mkdtemp(path.join(tmpdir(), 'tonypi-dynsec-pg-'))));
    const env = { DATABASE_URL: db, MQTT_SHARED_GROUP: 'fleet-pg' };
    const [one, two] = await Promise.all(dirs.map((dir) => startInstance(dir, env)));
    try {
      const first = await register('dyn_pg', one!);
      const c = await robot('dyn_pg', first);
      const now = Date.now();
      for (let i = 0; i < 10; i++) {
        await c.publishAsync('tonypi/dyn_pg/system', JSON.stringify({ ts: now + i, cpu_percent: i }), {
          qos: 1,
        });
      }
      const total = () =>
        one!.server.pipeline.stats().points_stored + two!.server.pipeline.stats().points_stored;
      await waitFor(
        async () => {
          await Promise.all([one!.server.pipeline.flush(), two!.server.pipeline.flush()]);
          return total() >= 10;
        },
        10_000,
        'the ten stored by the pair',
      );
      expect(total()).toBe(10);

      const rotated = await api('/api/v1/robots/dyn_pg/credentials/rotate', { method: 'POST' }, two!);
      expect(rotated.status).toBe(200);
      secrets.set('dyn_pg rotated secret', rotated.body.mqtt.password);
      expect((await attempt({ clientId: 'dyn_pg', username: 'dyn_pg', password: first })).outcome).toMatch(
        /not authori[sz]ed/i,
      );
      await robot('dyn_pg', rotated.body.mqtt.password);
      expect((await api('/api/v1/robots/dyn_pg', { method: 'DELETE' }, two!)).status).toBe(200);
      expect(
        (await attempt({ clientId: 'dyn_pg', username: 'dyn_pg', password: rotated.body.mqtt.password }))
          .outcome,
      ).toMatch(/not authori[sz]ed/i);
    } finally {
      for (const c of clients.splice(0)) c.end(true);
      await Promise.all([one?.server.stop(), two?.server.stop()]);
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    }
  });
});

describe('the log', () => {
  it('writes no secret to its log: not the admin password, the server password or a robot secret', () => {
    expect(lines.length).toBeGreaterThan(10);
    const all = lines.join('');
    for (const [name, secret] of secrets) expect(all.includes(secret), name).toBe(false);
  });
});
