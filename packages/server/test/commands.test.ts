import { Fleet } from '@tonypi/agent';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * Commands and emergency stops end to end (issue #7 §3): the real server, simulated robots of both
 * protocols (packages/agent) executing every command, and raw MQTT clients standing in for a robot that
 * never answers and for the original client's exact wire format.
 */

const CANON = 'cmd_canon_1';
const LEGACY = 'cmd_legacy_1';
/** A robot that is online but never answers. */
const MUTE = 'cmd_mute_1';
/** The original client's wire format, answered by hand. */
const RAW_LEGACY = 'cmd_raw_legacy_1';

const silent = { info: () => undefined, warn: () => undefined };
const FINAL = ['succeeded', 'failed', 'timed_out', 'rejected'];

let t: TestServer;
let canonical: Fleet;
let legacy: Fleet;
let mute: MqttClient;
let rawLegacy: MqttClient;
/** The stand-in robots keep reporting, as robots do (else they go offline after 30 s of silence). */
let heartbeat: NodeJS.Timeout | undefined;
/** What the raw legacy robot received on its command topics. */
const rawReceived: Array<{ topic: string; body: Record<string, unknown> }> = [];

async function robotStatus(id: string): Promise<string | undefined> {
  const res = await t.api(`/api/v1/robots/${id}`);
  return res.status === 200 ? (await res.json()).status : undefined;
}

async function online(id: string): Promise<void> {
  await waitFor(async () => (await robotStatus(id)) === 'online', 10_000, `${id} online`);
}

beforeAll(async () => {
  t = await startTestServer();
  const common = { brokerUrl: t.mqttUrl, rateHz: 2, faults: false, autonomy: false, logger: silent };
  canonical = await Fleet.start({ ...common, robots: 1, robotIds: [CANON] });
  legacy = await Fleet.start({ ...common, robots: 1, robotIds: [LEGACY], protocol: 'legacy' });

  mute = await connectMqtt(t.mqttUrl, { clientId: MUTE });
  mute.publish(`tonypi/${MUTE}/status`, JSON.stringify({ status: 'online', ts: Date.now() }), { qos: 1 });

  rawLegacy = await connectMqtt(t.mqttUrl, { clientId: RAW_LEGACY });
  await rawLegacy.subscribeAsync([`tonypi/commands/${RAW_LEGACY}`, `tonypi/emergency_stop/${RAW_LEGACY}`]);
  rawLegacy.on('message', (topic, payload) => {
    const body = JSON.parse(payload.toString()) as Record<string, unknown>;
    rawReceived.push({ topic, body });
    // As tonypi_client.py answers: once, with success, on the shared response topic.
    const estop = topic.startsWith('tonypi/emergency_stop/');
    rawLegacy.publish(
      estop ? 'tonypi/emergency_stop/response' : 'tonypi/commands/response',
      JSON.stringify({
        robot_id: RAW_LEGACY,
        command_id: body.id,
        type: body.type,
        success: body.type !== 'set_servo',
        message: `done ${String(body.type)}`,
        timestamp: new Date().toISOString().slice(0, 19),
      }),
    );
  });
  rawLegacy.publish(
    `tonypi/status/${RAW_LEGACY}`,
    JSON.stringify({
      robot_id: RAW_LEGACY,
      status: 'online',
      timestamp: new Date().toISOString().slice(0, 19),
    }),
  );
  heartbeat = setInterval(() => {
    mute.publish(`tonypi/${MUTE}/telemetry`, JSON.stringify({ ts: Date.now(), battery: { percent: 80 } }));
    rawLegacy.publish(
      'tonypi/battery',
      JSON.stringify({ robot_id: RAW_LEGACY, percentage: 80, voltage: 11.8, charging: false }),
    );
  }, 2000);
  for (const id of [CANON, LEGACY, MUTE, RAW_LEGACY]) await online(id);
}, 60_000);

afterAll(async () => {
  clearInterval(heartbeat);
  await canonical?.stop();
  await legacy?.stop();
  await mute?.endAsync();
  await rawLegacy?.endAsync();
  await t?.close();
});

function send(robot: string, body: unknown, opts: { token?: string; key?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  if (opts.token) {
    return fetch(`${t.url}/api/v1/robots/${robot}/commands`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
  return t.api(`/api/v1/robots/${robot}/commands`, { method: 'POST', json: body, headers });
}

async function accepted(robot: string, body: unknown): Promise<string> {
  const res = await send(robot, body);
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(202);
  expect(json).toEqual({ command_id: expect.any(String), status: 'pending' });
  return json.command_id;
}

async function settled(id: string, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const c = await (await t.api(`/api/v1/commands/${id}`)).json();
      return FINAL.includes(c.status) ? c : undefined;
    },
    timeoutMs,
    `command ${id} finished`,
  );
}

async function userToken(role: 'operator' | 'viewer', username: string): Promise<string> {
  const password = `${username}-long-password`;
  const created = await t.api('/api/v1/users', {
    method: 'POST',
    json: { username, email: `${username}@example.test`, role, password },
  });
  expect(created.status).toBe(201);
  const login = await t.api('/api/v1/auth/login', {
    method: 'POST',
    anonymous: true,
    json: { username, password },
  });
  return (await login.json()).access_token;
}

describe('POST /api/v1/robots/:id/commands', () => {
  it('runs a move on a canonical robot: pending → sent → acknowledged → succeeded, each on the live stream', async () => {
    const live = await LiveClient.connect(t.url);
    live.send({ type: 'auth', token: t.token });
    live.send({ type: 'subscribe', robots: ['*'], channels: ['command'] });
    await live.next('subscribed').catch(() => undefined);
    const id = await accepted(CANON, {
      command: 'move',
      params: { direction: 'forward', distance_m: 0.05, speed_mps: 0.25 },
    });
    const done = await settled(id);
    expect(done).toMatchObject({
      command_id: id,
      robot_id: CANON,
      command: 'move',
      params: { direction: 'forward', distance_m: 0.05, speed_mps: 0.25 },
      status: 'succeeded',
      message: 'moving forward 0.05 m',
      requested_by: 'admin',
    });
    expect(done.sent_at).not.toBeNull();
    expect(done.acknowledged_at).not.toBeNull();
    expect(done.finished_at).not.toBeNull();
    await live.next('command', (f) => f.command_id === id && f.status === 'succeeded');
    const states = live
      .of('command')
      .filter((f) => f.command_id === id)
      .map((f) => f.status);
    expect(states).toEqual(['pending', 'sent', 'acknowledged', 'succeeded']);
    live.close();
  });

  it('executes every command of the vocabulary on a simulated robot of each protocol', async () => {
    const vocabulary = [
      { command: 'turn', params: { direction: 'left', angle_deg: 10 } },
      { command: 'stop', params: {} },
      { command: 'head_nod', params: {} },
      { command: 'head_shake', params: {} },
      { command: 'set_servo', params: { servo_id: 5, position: 600 } },
      { command: 'action', params: { name: 'stand' } },
      { command: 'speak', params: { text: 'hello' } },
      { command: 'status_request', params: {} },
      { command: 'battery_request', params: {} },
      { command: 'set_config', params: { values: { telemetry_hz: 5 } } },
      { command: 'start_job', params: { task_name: 'pack', items_total: 2 } },
      { command: 'stop_job', params: { reason: 'test over' } },
      { command: 'resume', params: {} },
    ];
    for (const robot of [CANON, LEGACY]) {
      for (const body of vocabulary) {
        const id = await accepted(robot, body);
        const done = await settled(id);
        expect(done.status, `${robot} ${body.command}: ${done.message}`).toBe('succeeded');
      }
    }
    const status = await settled(await accepted(CANON, { command: 'status_request', params: {} }));
    expect(status.result).toMatchObject({ status: 'online', battery_percent: expect.any(Number) });
  });

  it('sends a legacy robot `{type, id, …params}` on tonypi/commands/{id} and matches its answer by id', async () => {
    const id = await accepted(RAW_LEGACY, {
      command: 'move',
      params: { direction: 'left', distance_m: 0.3, speed_mps: 0.1 },
    });
    expect(await settled(id)).toMatchObject({ status: 'succeeded', message: 'done move' });
    const got = rawReceived.find((r) => r.body.id === id);
    expect(got?.topic).toBe(`tonypi/commands/${RAW_LEGACY}`);
    expect(got?.body).toMatchObject({
      type: 'move',
      id,
      direction: 'left',
      distance: 0.3,
      speed: 0.1,
      distance_m: 0.3,
      speed_mps: 0.1,
    });
    // The original client's `success: false` is a failure.
    const servo = await accepted(RAW_LEGACY, { command: 'set_servo', params: { servo_id: 1, position: 10 } });
    expect(await settled(servo)).toMatchObject({ status: 'failed', message: 'done set_servo' });
  });

  it('fails a move the emergency-stopped robot refuses, with the robot’s reason', async () => {
    const stop = await t.api(`/api/v1/robots/${CANON}/emergency-stop`, {
      method: 'POST',
      json: { reason: 'test: refuse moves' },
    });
    expect(stop.status).toBe(202);
    const { stop_id } = await stop.json();
    await waitFor(
      async () => (await (await t.api(`/api/v1/emergency-stops/${stop_id}`)).json()).acknowledged === 1,
      5000,
      'the stop acknowledged',
    );
    const id = await accepted(CANON, { command: 'move', params: { direction: 'forward', distance_m: 0.1 } });
    const done = await settled(id);
    expect(done.status).toBe('failed');
    expect(done.message).toContain('emergency stop active (test: refuse moves)');
    const resume = await t.api(`/api/v1/robots/${CANON}/resume`, { method: 'POST', json: {} });
    expect(resume.status).toBe(202);
    await online(CANON);
  });

  it('times a command out when the robot never answers, and lets no other robot answer for it', async () => {
    const id = await accepted(MUTE, { command: 'status_request', params: {}, timeout_s: 1 });
    // Another robot claims to have done it: not its command.
    rawLegacy.publish(
      'tonypi/commands/response',
      JSON.stringify({ robot_id: RAW_LEGACY, command_id: id, success: true, message: 'not mine' }),
    );
    const done = await settled(id);
    expect(done).toMatchObject({ status: 'timed_out', message: 'no answer from the robot within 1 s' });
    expect(done.sent_at).not.toBeNull();
  });

  it('refuses a robot that is offline with 409 robot_offline, or queues it with queue_ttl_s and sends it when it is back', async () => {
    const reg = await t.api('/api/v1/robots', { method: 'POST', json: { robot_id: 'cmd_later_1' } });
    expect(reg.status).toBe(201);
    const { mqtt: creds } = await reg.json();

    const refused = await send('cmd_later_1', { command: 'head_nod', params: {} });
    expect(refused.status).toBe(409);
    const body = await refused.json();
    expect(body.error.code).toBe('robot_offline');
    const rejected = await (await t.api(`/api/v1/commands/${body.error.details.command_id}`)).json();
    expect(rejected.status).toBe('rejected');

    const expiring = await accepted('cmd_later_1', { command: 'head_shake', params: {}, queue_ttl_s: 1 });
    expect(await settled(expiring)).toMatchObject({ status: 'rejected', sent_at: null });

    const queued = await accepted('cmd_later_1', { command: 'head_nod', params: {}, queue_ttl_s: 60 });
    const pending = await (await t.api(`/api/v1/commands/${queued}`)).json();
    expect(pending).toMatchObject({ status: 'pending', sent_at: null });
    expect(pending.message).toMatch(/^queued until /);

    const robot = await Fleet.start({
      brokerUrl: t.mqttUrl,
      robots: 1,
      robotIds: ['cmd_later_1'],
      faults: false,
      autonomy: false,
      logger: silent,
      credentials: () => ({ username: creds.username, password: creds.password }),
    });
    try {
      expect(await settled(queued)).toMatchObject({ status: 'succeeded', message: 'nodded' });
    } finally {
      await robot.stop();
    }
  });

  it('answers a retry with the same Idempotency-Key with the first command, and refuses the key for another body', async () => {
    const body = { command: 'speak', params: { text: 'once only' } };
    const first = await send(CANON, body, { key: 'retry-42' });
    expect(first.status).toBe(202);
    const { command_id } = await first.json();
    await settled(command_id);
    const again = await send(CANON, body, { key: 'retry-42' });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ command_id, status: 'succeeded' });
    const history = await (await t.api(`/api/v1/robots/${CANON}/commands?command=speak&limit=100`)).json();
    expect(
      history.items.filter((c: { params: { text: string } }) => c.params.text === 'once only'),
    ).toHaveLength(1);

    const other = await send(
      CANON,
      { command: 'speak', params: { text: 'something else' } },
      { key: 'retry-42' },
    );
    expect(other.status).toBe(409);
    expect((await other.json()).error).toMatchObject({
      code: 'idempotency_key_reused',
      details: { command_id },
    });
    const bad = await send(CANON, body, { key: 'has spaces in it' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details.fields[0].field).toBe('headers.idempotency-key');
  });

  it('answers 429 with Retry-After when one user floods commands, and never limits an emergency stop', async () => {
    const token = await userToken('operator', 'flooding_operator');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    // All at once: one after the other, a busy machine answers slowly enough for the bucket to refill between them.
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        send(MUTE, { command: 'status_request', params: {}, timeout_s: 1 }, { token }),
      ),
    );
    for (const res of answers) {
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        expect((await res.json()).error.code).toBe('rate_limited');
      } else await res.body?.cancel();
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Another user is not held back by this one.
    expect((await send(MUTE, { command: 'status_request', params: {}, timeout_s: 1 })).status).toBe(202);
    const stop = await fetch(`${t.url}/api/v1/robots/${MUTE}/emergency-stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'flood test' }),
    });
    expect(stop.status).toBe(202);
    const resume = await fetch(`${t.url}/api/v1/robots/${MUTE}/resume`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(resume.status).toBe(202);
  });

  it('lets only an admin send shutdown or reboot: an operator gets 403 naming robots:power', async () => {
    const token = await userToken('operator', 'power_operator');
    for (const command of ['shutdown', 'reboot']) {
      const res = await send(MUTE, { command, params: {} }, { token });
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatchObject({
        code: 'forbidden',
        details: { permission: 'robots:power' },
      });
    }
    expect((await send(MUTE, { command: 'shutdown', params: {}, timeout_s: 1 })).status).toBe(202);
  });

  it('answers each bad input with its own error', async () => {
    const cases: Array<[unknown, number, string, string?]> = [
      [{ command: 'fly', params: {} }, 400, 'validation_error', 'body.command'],
      [{ command: 'move', params: { distance_m: -1 } }, 400, 'validation_error', 'body.params.distance_m'],
      [{ command: 'move', params: { speed_mps: 3 } }, 400, 'validation_error', 'body.params.speed_mps'],
      [{ command: 'move', params: { direction: 'up' } }, 400, 'validation_error', 'body.params.direction'],
      [
        { command: 'set_servo', params: { servo_id: 7, position: 500 } },
        400,
        'validation_error',
        'body.params.servo_id',
      ],
      [
        { command: 'set_servo', params: { servo_id: 1, position: 1001 } },
        400,
        'validation_error',
        'body.params.position',
      ],
      [{ command: 'action', params: { name: '../etc/passwd' } }, 400, 'validation_error', 'body.params.name'],
      [{ command: 'speak', params: { text: 'x'.repeat(501) } }, 400, 'validation_error', 'body.params.text'],
      [
        { command: 'start_job', params: { task_name: 'pack' } },
        400,
        'validation_error',
        'body.params.items_total',
      ],
      [{ command: 'stop', params: { force: true } }, 400, 'validation_error', 'body.params'],
      [{ command: 'emergency_stop', params: {} }, 400, 'validation_error', 'body.command'],
      [{ command: 'stop', timeout_s: 0 }, 400, 'validation_error', 'body.timeout_s'],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await send(CANON, body);
      const json = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(json.error.code).toBe(code);
      if (field) expect(json.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    const unknown = await send('no_such_robot', { command: 'stop', params: {} });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('robot_not_found');
    const missing = await t.api('/api/v1/commands/no-such-command');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('command_not_found');
    const noStop = await t.api('/api/v1/emergency-stops/no-such-stop');
    expect((await noStop.json()).error.code).toBe('emergency_stop_not_found');
    const badCursor = await t.api(`/api/v1/robots/${CANON}/commands?cursor=nonsense`);
    expect(badCursor.status).toBe(400);
  });
});

describe('GET /api/v1/robots/:id/commands', () => {
  it('pages through a robot’s history newest first, filtered by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await accepted(LEGACY, { command: 'battery_request', params: {} }));
    for (const id of ids) await settled(id);
    const page1 = await (
      await t.api(`/api/v1/robots/${LEGACY}/commands?command=battery_request&limit=2`)
    ).json();
    expect(page1.items.map((c: { command_id: string }) => c.command_id)).toEqual([ids[2], ids[1]]);
    const page2 = await (
      await t.api(
        `/api/v1/robots/${LEGACY}/commands?command=battery_request&limit=2&cursor=${page1.next_cursor}`,
      )
    ).json();
    expect(page2.items[0].command_id).toBe(ids[0]);
    const failed = await (await t.api(`/api/v1/robots/${LEGACY}/commands?status=failed`)).json();
    expect(failed.items.every((c: { status: string }) => c.status === 'failed')).toBe(true);
  });
});

describe('POST /api/v1/robots/:id/emergency-stop', () => {
  it('holds a robot that is offline stopped, and sends it the stop when it reconnects', async () => {
    const reg = await t.api('/api/v1/robots', { method: 'POST', json: { robot_id: 'cmd_away_1' } });
    const { mqtt: creds } = await reg.json();
    const res = await t.api('/api/v1/robots/cmd_away_1/emergency-stop', {
      method: 'POST',
      json: { reason: 'stopped while away' },
    });
    expect(res.status).toBe(202);
    const { stop_id, robots } = await res.json();
    expect(robots).toBe(1);
    const before = await (await t.api(`/api/v1/emergency-stops/${stop_id}`)).json();
    expect(before).toMatchObject({ robots: 1, acknowledged: 0, by_status: { rejected: 1 } });
    expect(before.items[0].message).toContain('robot_offline');

    const robot = await Fleet.start({
      brokerUrl: t.mqttUrl,
      robots: 1,
      robotIds: ['cmd_away_1'],
      faults: false,
      autonomy: false,
      logger: silent,
      credentials: () => ({ username: creds.username, password: creds.password }),
    });
    try {
      const after = await waitFor(
        async () => {
          const v = await (await t.api(`/api/v1/emergency-stops/${stop_id}`)).json();
          return v.acknowledged === 1 ? v : undefined;
        },
        5000,
        'the stop delivered on reconnect',
      );
      expect(after.items).toHaveLength(2);
      expect(robot.robots[0]?.model.emergency).toEqual({ reason: 'stopped while away' });
      expect(await robotStatus('cmd_away_1')).toBe('emergency_stopped');
      const resume = await t.api('/api/v1/robots/cmd_away_1/resume', { method: 'POST', json: {} });
      const { stop_id: resume_id } = await resume.json();
      await waitFor(
        async () => (await (await t.api(`/api/v1/emergency-stops/${resume_id}`)).json()).acknowledged === 1,
      );
      expect(robot.robots[0]?.model.emergency).toBeNull();
      await online('cmd_away_1');
      const audit = await (await t.api('/api/v1/audit?target_id=cmd_away_1')).json();
      expect(audit.items.map((a: { action: string }) => a.action)).toEqual(
        expect.arrayContaining(['robot.emergency_stop', 'robot.resume']),
      );
    } finally {
      await robot.stop();
    }
  });
});

describe('emergency stop of the fleet', () => {
  it('reaches robots of both protocols, records each acknowledgement, and holds them emergency_stopped until resumed', async () => {
    const live = await LiveClient.connect(t.url);
    live.send({ type: 'auth', token: t.token });
    live.send({ type: 'subscribe', robots: ['*'], channels: ['status'] });
    const res = await t.api('/api/v1/fleet/emergency-stop', {
      method: 'POST',
      json: { reason: 'fleet drill' },
    });
    expect(res.status).toBe(202);
    const { stop_id, robots } = await res.json();
    expect(robots).toBeGreaterThanOrEqual(4);
    const view = await waitFor(
      async () => {
        const v = await (await t.api(`/api/v1/emergency-stops/${stop_id}`)).json();
        const confirmed = (id: string) =>
          v.items.some(
            (c: { robot_id: string; status: string }) =>
              c.robot_id === id && (c.status === 'succeeded' || c.status === 'acknowledged'),
          );
        return [CANON, LEGACY, RAW_LEGACY].every(confirmed) ? v : undefined;
      },
      5000,
      'every answering robot acknowledged the stop',
    );
    expect(view).toMatchObject({
      stop_id,
      action: 'emergency_stop',
      reason: 'fleet drill',
      requested_by: 'admin',
    });
    expect(rawReceived.some((r) => r.topic === `tonypi/emergency_stop/${RAW_LEGACY}`)).toBe(true);
    for (const id of [CANON, LEGACY, RAW_LEGACY, MUTE])
      expect(await robotStatus(id)).toBe('emergency_stopped');
    await live.next('status', (f) => f.robot_id === MUTE && f.status === 'emergency_stopped');

    // The robot's own status lags (or lies): the registry keeps the stop until resume.
    rawLegacy.publish(
      `tonypi/status/${RAW_LEGACY}`,
      JSON.stringify({
        robot_id: RAW_LEGACY,
        status: 'online',
        timestamp: new Date().toISOString().slice(0, 19),
      }),
    );
    mute.publish(`tonypi/${MUTE}/status`, JSON.stringify({ status: 'online', ts: Date.now() }), { qos: 1 });
    await waitFor(async () => {
      const audit = await (await t.api('/api/v1/audit?action=fleet.emergency_stop')).json();
      return audit.items?.length > 0;
    });
    expect(await robotStatus(RAW_LEGACY)).toBe('emergency_stopped');
    expect(await robotStatus(MUTE)).toBe('emergency_stopped');

    const resumed = await t.api('/api/v1/fleet/resume', { method: 'POST', json: { reason: 'drill over' } });
    expect(resumed.status).toBe(202);
    expect((await resumed.json()).robots).toBeGreaterThanOrEqual(4);
    for (const id of [CANON, LEGACY, RAW_LEGACY, MUTE]) await online(id);
    const audit = await (await t.api('/api/v1/audit?action=fleet.resume')).json();
    expect(audit.items[0]).toMatchObject({ action: 'fleet.resume', outcome: 'success' });
    live.close();
  });
});
