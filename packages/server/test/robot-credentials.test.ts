import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
const clients: MqttClient[] = [];
beforeAll(async () => {
  // ALLOW_ANONYMOUS_ROBOTS is on (the default): both kinds of robot side by side.
  t = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
});
afterAll(async () => {
  await t?.close();
});

interface Credentials {
  username: string;
  password: string;
  url: string;
}

async function register(robot_id: string, body: Record<string, unknown> = {}) {
  const res = await t.api('/api/v1/robots', { method: 'POST', json: { robot_id, ...body } });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

async function connect(clientId: string, creds?: { username: string; password: string }) {
  const c = await connectMqtt(t.mqttUrl, { clientId, ...creds });
  clients.push(c);
  return c;
}

/** The CONNACK refusal's message, or 'connected'. */
async function connectError(opts: mqtt.IClientOptions): Promise<string> {
  const c = mqtt.connect(t.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  const outcome = await new Promise<string>((resolve) => {
    c.once('connect', () => resolve('connected'));
    c.once('error', (err) => resolve(err.message));
  });
  await c.endAsync(true);
  return outcome;
}

const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));

async function health() {
  return (await (await t.api('/api/v1/health', { anonymous: true })).json()) as {
    components: { broker: { refused: Record<string, number> } };
    ingest: { rejected: Record<string, number> };
    robots: { anonymous: number; anonymous_ids: string[] };
  };
}

async function auditRows(robot_id: string) {
  const { rows } = await t.server.db.query<{
    action: string;
    outcome: string;
    actor_name: string;
    details: unknown;
  }>(`SELECT action, outcome, actor_name, details FROM audit_events WHERE target_id = $1 ORDER BY id`, [
    robot_id,
  ]);
  return rows;
}

/** Waits until the broker has dropped `n` more publishes (acl_denied) than `before`. */
async function aclDenied(before: number, n = 1) {
  return waitFor(
    async () => ((await health()).components.broker.refused.acl_denied === before + n ? true : undefined),
    5000,
    'the broker to drop the publish',
  );
}

/** The SUBACK return codes for one filter (mqtt.js turns a failure, 0x80, into an error carrying the packet). */
async function suback(c: MqttClient, filter: string): Promise<number[]> {
  try {
    return (await c.subscribeAsync(filter, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    return (err as { packet?: { granted?: number[] } }).packet?.granted ?? [];
  }
}

const latest = async (robot_id: string) => (await t.api(`/api/v1/robots/${robot_id}/latest`)).json();

describe('POST /api/v1/robots', () => {
  it('registers a robot with its details and returns its MQTT credentials once (201)', async () => {
    const { status, body, headers } = await register('cred_01', {
      name: 'Cart one',
      description: 'aisle 3',
      location: { x: 1, y: 2, z: 0 },
      ip_address: '10.0.0.5',
      camera_url: 'http://10.0.0.5:8081/?action=stream',
      thresholds: { battery_low: 25 },
      settings: { speed: 2 },
      tags: ['aisle-3', 'cart'],
    });
    expect(status).toBe(201);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body.mqtt).toEqual({
      username: 'cred_01',
      password: expect.stringMatching(/^tpr_[A-Za-z0-9_-]{32}$/),
      url: t.mqttUrl,
    });
    expect(body.robot).toMatchObject({
      robot_id: 'cred_01',
      name: 'Cart one',
      registration: 'active',
      tags: ['aisle-3', 'cart'],
      has_credentials: true,
      anonymous: false,
      deleted_at: null,
      thresholds: { battery_low: 25 },
    });
    // Stored as a keyed hash, never as the secret.
    const { rows } = await t.server.db.query<{ secret_hash: string }>(
      'SELECT secret_hash FROM robot_credentials WHERE robot_id = $1',
      ['cred_01'],
    );
    expect(rows[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(body.mqtt.password);
    const audit = await auditRows('cred_01');
    expect(audit).toEqual([
      expect.objectContaining({ action: 'robot.register', outcome: 'success', actor_name: 'admin' }),
    ]);
    expect(JSON.stringify(audit)).not.toContain(body.mqtt.password);
  });

  it('refuses an id already registered with credentials (409 conflict), audited as a failure', async () => {
    await register('cred_dup');
    const again = await register('cred_dup');
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');
    expect((await auditRows('cred_dup')).map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'robot.register:success',
      'robot.register:failure',
    ]);
  });

  it('lists every bad field (400 validation_error): id rule, tags, unknown fields', async () => {
    for (const body of [
      { robot_id: 'status' },
      { robot_id: 'a/b' },
      { robot_id: "x'; DROP TABLE robots;--" },
      { robot_id: 'ok_id', tags: ['no spaces'] },
      { robot_id: 'ok_id', camera_url: 'javascript:alert(1)' },
      { robot_id: 'ok_id', password: 'chosen' },
    ]) {
      const res = await t.api('/api/v1/robots', { method: 'POST', json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error.code).toBe('validation_error');
    }
    expect((await t.api('/api/v1/robots/ok_id')).status).toBe(404);
  });

  it('is for admins only (401 without a session)', async () => {
    const res = await t.api('/api/v1/robots', {
      method: 'POST',
      json: { robot_id: 'nobody' },
      anonymous: true,
    });
    expect(res.status).toBe(401);
  });

  it('claims a robot that registered itself (200): active, credentials, its anonymous session closed', async () => {
    const anon = await connect('cred_claim');
    await anon.publishAsync('tonypi/cred_claim/battery', JSON.stringify({ percent: 50 }), { qos: 1 });
    await waitFor(
      async () => (await t.api('/api/v1/robots/cred_claim')).status === 200,
      5000,
      'self-registered',
    );
    expect((await (await t.api('/api/v1/robots/cred_claim')).json()).registration).toBe('pending');
    const gone = closed(anon);
    const { status, body } = await register('cred_claim', { name: 'Claimed' });
    expect(status).toBe(200);
    expect(body.robot).toMatchObject({ registration: 'active', name: 'Claimed', has_credentials: true });
    await gone;
    // From now on only with its secret.
    expect(await connectError({ clientId: 'cred_claim' })).toMatch(/Bad username or password/);
    const c = await connect('cred_claim', body.mqtt);
    await c.publishAsync('tonypi/cred_claim/battery', JSON.stringify({ percent: 51 }), { qos: 1 });
    await waitFor(async () => (await latest('cred_claim')).measurements.battery?.fields.percent === 51);
    expect((await auditRows('cred_claim')).map((r) => r.action)).toEqual(['robot.claim']);
    expect((await register('cred_claim')).status).toBe(409);
  });
});

describe('the embedded broker with robot credentials', () => {
  let creds: Credentials;
  let other: Credentials;
  beforeAll(async () => {
    creds = (await register('acl_a')).body.mqtt;
    other = (await register('acl_b')).body.mqtt;
  });

  it('accepts the robot with its secret and refuses a wrong one (CONNACK 4)', async () => {
    expect(await connectError({ clientId: 'acl_a', username: 'acl_a', password: 'tpr_wrong' })).toMatch(
      /Bad username or password/,
    );
    expect(await connectError({ clientId: 'acl_a', username: 'acl_a', password: other.password })).toMatch(
      /Bad username or password/,
    );
    expect(await connectError({ clientId: 'acl_a', username: 'acl_a', password: creds.password })).toBe(
      'connected',
    );
  });

  it("refuses a client id other than the username (CONNACK 2): no robot takes over another one's session", async () => {
    expect(await connectError({ clientId: 'acl_b', username: 'acl_a', password: creds.password })).toMatch(
      /Identifier rejected/,
    );
  });

  it('never accepts a robot that has credentials anonymously', async () => {
    expect(await connectError({ clientId: 'acl_a' })).toMatch(/Bad username or password/);
  });

  it("refuses a publish on another robot's topic, in either layout, and counts it (acl_denied)", async () => {
    const a = await connect('acl_a', creds);
    const before = (await health()).ingest.rejected.acl_denied ?? 0;
    await a.publishAsync('tonypi/acl_b/battery', JSON.stringify({ percent: 1 }), { qos: 1 });
    await a.publishAsync('tonypi/sensors/acl_b', JSON.stringify({ sensor_type: 'light_level', value: 3 }), {
      qos: 1,
    });
    await waitFor(
      async () => (await health()).ingest.rejected.acl_denied === before + 2,
      5000,
      'two refusals',
    );
    // The robot is not disconnected: its own messages, in both layouts, still go through.
    await a.publishAsync('tonypi/acl_a/battery', JSON.stringify({ percent: 77 }), { qos: 1 });
    await a.publishAsync('tonypi/sensors/acl_a', JSON.stringify({ sensor_type: 'light_level', value: 9 }), {
      qos: 1,
    });
    await waitFor(async () => (await latest('acl_a')).measurements.sensors?.fields.light_level_percent === 9);
    expect((await latest('acl_a')).measurements.battery.fields.percent).toBe(77);
    expect((await latest('acl_b')).measurements).toEqual({});
  });

  it('drops a publish on a topic the server does not read, without disconnecting the robot', async () => {
    const a = await connect('acl_a', creds);
    const before = (await health()).components.broker.refused.acl_denied ?? 0;
    await a.publishAsync('elsewhere/acl_b/telemetry', JSON.stringify({ x: 1 }), { qos: 1, retain: true });
    await aclDenied(before);
    expect(a.connected).toBe(true);
    await a.publishAsync('tonypi/acl_a/battery', JSON.stringify({ percent: 78 }), { qos: 1 });
    await waitFor(async () => (await latest('acl_a')).measurements.battery?.fields.percent === 78);
  });

  it('refuses tonypi/battery and tonypi/location whose payload names another robot (acl_denied in the ingest)', async () => {
    const a = await connect('acl_a', creds);
    const before = (await health()).ingest.rejected.acl_denied ?? 0;
    await a.publishAsync('tonypi/battery', JSON.stringify({ robot_id: 'acl_b', percentage: 5 }), { qos: 1 });
    await a.publishAsync('tonypi/location', JSON.stringify({ robot_id: 'acl_b', x: 1, y: 1, z: 0 }), {
      qos: 1,
    });
    await waitFor(
      async () => (await health()).ingest.rejected.acl_denied === before + 2,
      5000,
      'two refusals',
    );
    await a.publishAsync('tonypi/battery', JSON.stringify({ robot_id: 'acl_a', percentage: 66 }), { qos: 1 });
    await waitFor(async () => (await latest('acl_a')).measurements.battery?.fields.percent === 66);
    expect((await latest('acl_b')).measurements).toEqual({});
  });

  it('grants its own command topics and the broadcasts, and refuses any other subscription (SUBACK failure)', async () => {
    const a = await connect('acl_a', creds);
    const own = [
      'tonypi/acl_a/command',
      'tonypi/acl_a/config',
      'tonypi/commands/acl_a',
      'tonypi/emergency_stop/acl_a',
      'tonypi/items/acl_a',
      'tonypi/system/broadcast',
      'tonypi/commands/broadcast',
      'tonypi/emergency_stop/broadcast',
    ];
    const granted = await a.subscribeAsync(own, { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual(own.map(() => 1));
    const before = (await health()).components.broker.refused.subscribe_denied ?? 0;
    for (const filter of ['tonypi/acl_b/command', 'tonypi/#', 'tonypi/acl_b/telemetry']) {
      expect(await suback(a, filter), filter).toEqual([128]);
    }
    expect((await health()).components.broker.refused.subscribe_denied).toBe(before + 3);
    // Still connected: the refusal is in the SUBACK, not a disconnect.
    expect(a.connected).toBe(true);
  });

  it('holds an anonymous client to the ACL of its client id', async () => {
    const anon = await connect('anon_x');
    const before = (await health()).ingest.rejected.acl_denied ?? 0;
    await anon.publishAsync('tonypi/acl_a/status', JSON.stringify({ status: 'offline' }), {
      qos: 1,
      retain: true,
    });
    await waitFor(async () => (await health()).ingest.rejected.acl_denied === before + 1, 5000, 'refused');
    expect(await suback(anon, 'tonypi/acl_a/command')).toEqual([128]);
    await anon.publishAsync('tonypi/anon_x/battery', JSON.stringify({ percent: 40 }), { qos: 1 });
    await waitFor(async () => (await latest('anon_x')).measurements.battery?.fields.percent === 40);
    const h = await health();
    expect(h.robots.anonymous_ids).toContain('anon_x');
    expect(h.robots.anonymous_ids).not.toContain('acl_a');
    const listed = await (await t.api('/api/v1/robots/anon_x')).json();
    expect(listed).toMatchObject({ anonymous: true, has_credentials: false });
  });
});

describe('POST /api/v1/robots/{id}/credentials/rotate', () => {
  it('issues a new secret once: the old one stops working and the session is closed', async () => {
    const first = (await register('rot_01')).body.mqtt as Credentials;
    const c = await connect('rot_01', first);
    const gone = closed(c);
    const res = await t.api('/api/v1/robots/rot_01/credentials/rotate', { method: 'POST' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.mqtt.password).not.toBe(first.password);
    await gone;
    expect(await connectError({ clientId: 'rot_01', username: 'rot_01', password: first.password })).toMatch(
      /Bad username or password/,
    );
    expect(await connectError({ clientId: 'rot_01', username: 'rot_01', password: body.mqtt.password })).toBe(
      'connected',
    );
    expect((await auditRows('rot_01')).map((r) => r.action)).toEqual([
      'robot.register',
      'robot.credentials.rotate',
    ]);
  });

  it('is a 409 for a robot without credentials and a 404 for an unknown one', async () => {
    const anon = await connect('rot_anon');
    await anon.publishAsync('tonypi/rot_anon/battery', JSON.stringify({ percent: 5 }), { qos: 1 });
    await waitFor(async () => (await t.api('/api/v1/robots/rot_anon')).status === 200);
    expect((await t.api('/api/v1/robots/rot_anon/credentials/rotate', { method: 'POST' })).status).toBe(409);
    const unknown = await t.api('/api/v1/robots/nobody_here/credentials/rotate', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('robot_not_found');
  });
});

describe('DELETE /api/v1/robots/{id} and restore', () => {
  it('disables the robot: session closed, connections and messages refused, history kept; restore undoes it', async () => {
    const creds = (await register('del_01')).body.mqtt as Credentials;
    const c = await connect('del_01', creds);
    await c.publishAsync('tonypi/del_01/battery', JSON.stringify({ percent: 80 }), { qos: 1 });
    await waitFor(async () => (await latest('del_01')).measurements.battery?.fields.percent === 80);
    const gone = closed(c);
    const res = await t.api('/api/v1/robots/del_01', { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      robot_id: 'del_01',
      is_active: false,
      deleted_at: expect.any(String),
    });
    await gone;
    expect(await connectError({ clientId: 'del_01', ...creds })).toMatch(/Not authorized/);
    expect(await connectError({ clientId: 'del_01' })).toMatch(/Not authorized/);
    // Out of the list, unless asked for; its history stays.
    const list = await (await t.api('/api/v1/robots?limit=500')).json();
    expect(list.items.map((r: { robot_id: string }) => r.robot_id)).not.toContain('del_01');
    const deleted = await (await t.api('/api/v1/robots?deleted=true')).json();
    expect(deleted.items.map((r: { robot_id: string }) => r.robot_id)).toContain('del_01');
    expect((await t.api('/api/v1/robots/del_01/telemetry?measurement=battery&from=1h')).status).toBe(200);
    expect((await t.api('/api/v1/robots/del_01', { method: 'DELETE' })).status).toBe(409);
    expect((await t.api('/api/v1/robots/del_01', { method: 'PATCH', json: { name: 'x' } })).status).toBe(409);

    const restored = await t.api('/api/v1/robots/del_01/restore', { method: 'POST' });
    expect(restored.status).toBe(200);
    expect(await restored.json()).toMatchObject({ is_active: true, deleted_at: null });
    const again = await connect('del_01', creds);
    await again.publishAsync('tonypi/del_01/battery', JSON.stringify({ percent: 81 }), { qos: 1 });
    await waitFor(async () => (await latest('del_01')).measurements.battery?.fields.percent === 81);
    expect((await t.api('/api/v1/robots/del_01/restore', { method: 'POST' })).status).toBe(409);
    expect((await auditRows('del_01')).map((r) => `${r.action}:${r.outcome}`)).toEqual([
      'robot.register:success',
      'robot.delete:success',
      'robot.delete:failure',
      'robot.update:failure',
      'robot.restore:success',
      'robot.restore:failure',
    ]);
  });

  it("refuses a deleted anonymous robot's messages", async () => {
    const anon = await connect('del_anon');
    await anon.publishAsync('tonypi/del_anon/battery', JSON.stringify({ percent: 3 }), { qos: 1 });
    await waitFor(async () => (await t.api('/api/v1/robots/del_anon')).status === 200);
    const gone = closed(anon);
    expect((await t.api('/api/v1/robots/del_anon', { method: 'DELETE' })).status).toBe(200);
    await gone;
    expect(await connectError({ clientId: 'del_anon' })).toMatch(/Not authorized/);
  });
});

describe('PATCH /api/v1/robots/{id}', () => {
  it('changes the fields given, clears those set to null, and audits the field names', async () => {
    await register('patch_01', { name: 'Before', description: 'old', tags: ['a'] });
    const res = await t.api('/api/v1/robots/patch_01', {
      method: 'PATCH',
      json: { name: 'After', description: null, tags: ['b', 'c'], thresholds: { temp_critical: 90 } },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      name: 'After',
      description: null,
      tags: ['b', 'c'],
      thresholds: { temp_critical: 90, battery_low: 20 },
    });
    const byTag = await (await t.api('/api/v1/robots?tag=c')).json();
    expect(byTag.items.map((r: { robot_id: string }) => r.robot_id)).toEqual(['patch_01']);
    const audit = await auditRows('patch_01');
    expect(audit.at(-1)).toMatchObject({
      action: 'robot.update',
      details: { fields: ['name', 'description', 'thresholds', 'tags'] },
    });
  });

  it('refuses an empty change (400), unknown fields (400) and unknown robots (404 robot_not_found)', async () => {
    await register('patch_02');
    expect((await t.api('/api/v1/robots/patch_02', { method: 'PATCH', json: {} })).status).toBe(400);
    expect(
      (await t.api('/api/v1/robots/patch_02', { method: 'PATCH', json: { robot_id: 'x' } })).status,
    ).toBe(400);
    const unknown = await t.api('/api/v1/robots/nobody_x', { method: 'PATCH', json: { name: 'n' } });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('robot_not_found');
  });
});

describe('GET /api/v1/robots/{id}/stats', () => {
  it("counts a robot's messages and last message per channel and its time online", async () => {
    const creds = (await register('stats_01')).body.mqtt as Credentials;
    const c = await connect('stats_01', creds);
    await c.publishAsync('tonypi/stats_01/status', JSON.stringify({ status: 'online' }), { qos: 1 });
    for (let i = 0; i < 3; i++)
      await c.publishAsync('tonypi/stats_01/battery', JSON.stringify({ percent: 50 + i }), { qos: 1 });
    await waitFor(async () => (await latest('stats_01')).measurements.battery?.fields.percent === 52);
    const stats = await waitFor(
      async () => {
        const body = await (await t.api('/api/v1/robots/stats_01/stats?from=1h')).json();
        return body.online_s > 0 ? body : undefined;
      },
      15_000,
      'online time counted',
    );
    expect(stats).toMatchObject({ robot_id: 'stats_01', messages: { status: 1, battery: 3 } });
    expect(Object.keys(stats.last_seen).sort()).toEqual(['battery', 'status']);
    expect(stats.uptime_share).toBeGreaterThan(0);
    expect(stats.uptime_share).toBeLessThanOrEqual(1);
    expect(Date.parse(stats.from) % 3600_000).toBe(0);
  });

  it('answers 404 for an unknown robot and 400 for a period that ends before it starts', async () => {
    expect((await t.api('/api/v1/robots/nobody_y/stats')).status).toBe(404);
    await register('stats_02');
    const bad = await t.api('/api/v1/robots/stats_02/stats?from=1h&to=2h');
    expect(bad.status).toBe(400);
  });
});

describe('robot credentials across a restart', () => {
  it('keeps working: the hashes are in the database, the key in DATA_DIR', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-creds-'));
    try {
      const first = await startTestServer({}, { keepDataDir: dataDir });
      let creds: Credentials;
      try {
        const res = await first.api('/api/v1/robots', { method: 'POST', json: { robot_id: 'kept_01' } });
        creds = (await res.json()).mqtt;
        await first.api('/api/v1/robots/kept_01', { method: 'DELETE' });
        await first.api('/api/v1/robots/kept_01/restore', { method: 'POST' });
      } finally {
        await first.close();
      }
      const second = await startTestServer({}, { keepDataDir: dataDir });
      try {
        const ok = mqtt.connect(second.mqttUrl, { clientId: 'kept_01', ...creds, reconnectPeriod: 0 });
        await new Promise<void>((resolve, reject) => {
          ok.once('connect', () => resolve());
          ok.once('error', reject);
        });
        await ok.endAsync(true);
        const anon = mqtt.connect(second.mqttUrl, { clientId: 'kept_01', reconnectPeriod: 0 });
        const err = await new Promise<Error>((resolve) => anon.once('error', resolve));
        expect(err.message).toMatch(/Bad username or password/);
        await anon.endAsync(true);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
