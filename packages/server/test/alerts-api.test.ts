import { ALERTS_TOTAL_CAP } from '@tonypi/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearAlerts, insertAlerts, insertRule } from './helpers/alert-rows';
import { LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
const tokens: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };
const MINUTE = 60_000;
/** A fixed "now" a little in the past, so rows inserted at now - n minutes sort as the test means. */
let now: number;

async function login(username: string, password: string): Promise<string> {
  const res = await t.api('/api/v1/auth/login', {
    method: 'POST',
    anonymous: true,
    json: { username, password },
  });
  expect(res.status).toBe(200);
  return (await res.json()).access_token;
}

beforeAll(async () => {
  t = await startTestServer();
  for (const role of ['operator', 'viewer'] as const) {
    const password = `${role}-long-password`;
    const res = await t.api('/api/v1/users', {
      method: 'POST',
      json: { username: `alerts_${role}`, email: `${role}@alerts.example`, role, password },
    });
    expect(res.status).toBe(201);
    tokens[role] = await login(`alerts_${role}`, password);
  }
  expect((await t.api('/api/v1/robots', { method: 'POST', json: { robot_id: 'tonypi_01' } })).status).toBe(
    201,
  );
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await clearAlerts(t);
  now = Date.now() - MINUTE;
});

/** A request as `role` (default: the admin of the test server). */
function as(
  role: 'operator' | 'viewer' | 'admin',
  pathname: string,
  init: RequestInit & { json?: unknown } = {},
) {
  if (role === 'admin') return t.api(pathname, init);
  return t.api(pathname, {
    ...init,
    anonymous: true,
    headers: { authorization: `Bearer ${tokens[role]}` },
  });
}

const list = async (query: string) => {
  const res = await t.api(`/api/v1/alerts${query}`);
  expect(res.status, query).toBe(200);
  return res.json();
};
const idsOf = (body: { items: Array<{ id: number }> }) => body.items.map((a) => a.id);
const errorOf = async (res: Response) => (await res.json()).error;

describe('GET /api/v1/alerts', () => {
  it('lists alerts newest first with every field of the alert view', async () => {
    const [older, newer] = await insertAlerts(t, [
      { created_at: now - 2 * MINUTE, source: 'cpu' },
      { created_at: now - MINUTE, robot_id: null, severity: 'critical', title: 'Broker down' },
    ]);
    const body = await list('');
    expect(idsOf(body)).toEqual([newer, older]);
    expect(body).toMatchObject({ total: 2, total_capped: false, next_cursor: null });
    expect(body.items[0]).toMatchObject({
      id: newer,
      robot_id: null,
      severity: 'critical',
      state: 'open',
      title: 'Broker down',
      muted: false,
      acknowledged_by: null,
      resolved_at: null,
      created_at: new Date(now - MINUTE).toISOString(),
    });
  });

  it('filters by robot, severity (several), type, rule, state (several), muted and the original booleans', async () => {
    const rule = await insertRule(t, 'cpu_hot');
    const [a, b, c, d, e] = await insertAlerts(t, [
      {
        robot_id: 'r1',
        severity: 'info',
        alert_type: 'threshold',
        rule_id: rule,
        created_at: now - 5 * MINUTE,
      },
      {
        robot_id: 'r2',
        severity: 'warning',
        alert_type: 'robot_offline',
        state: 'acknowledged',
        created_at: now - 4 * MINUTE,
      },
      { robot_id: 'r1', severity: 'critical', state: 'resolved', muted: true, created_at: now - 3 * MINUTE },
      { robot_id: 'r3', severity: 'critical', alert_type: 'robot_offline', created_at: now - 2 * MINUTE },
      { robot_id: null, severity: 'warning', rule_id: rule, state: 'resolved', created_at: now - MINUTE },
    ]);
    // b was acknowledged through the API (acknowledged_at set), as the `acknowledged` boolean asks for.
    await t.server.db.query('UPDATE alerts SET acknowledged_at = now() WHERE id = $1', [b]);

    expect(idsOf(await list('?robot_id=r1'))).toEqual([c, a]);
    expect(idsOf(await list('?robot_id=r1,r3'))).toEqual([d, c, a]);
    expect(idsOf(await list('?severity=critical&severity=info'))).toEqual([d, c, a]);
    expect(idsOf(await list('?severity=warning,critical,info'))).toEqual([e, d, c, b, a]);
    expect(idsOf(await list('?alert_type=robot_offline'))).toEqual([d, b]);
    expect(idsOf(await list(`?rule_id=${rule}`))).toEqual([e, a]);
    expect(idsOf(await list('?state=open'))).toEqual([d, a]);
    expect(idsOf(await list('?state=open,acknowledged'))).toEqual([d, b, a]);
    expect(idsOf(await list('?muted=true'))).toEqual([c]);
    expect(idsOf(await list('?resolved=true'))).toEqual([e, c]);
    expect(idsOf(await list('?resolved=false'))).toEqual([d, b, a]);
    expect(idsOf(await list('?acknowledged=true'))).toEqual([b]);
    expect(idsOf(await list('?acknowledged=false&resolved=false'))).toEqual([d, a]);
    expect(idsOf(await list('?robot_id=r1&severity=critical&state=resolved'))).toEqual([c]);
    expect((await list('?state=open')).total).toBe(2);
  });

  it('filters by creation time: ISO-8601, epoch ms, a duration back from now, and the original time_range', async () => {
    const [old, recent] = await insertAlerts(t, [
      { created_at: Date.now() - 3 * 86_400_000 },
      { created_at: Date.now() - 30 * MINUTE },
    ]);
    expect(idsOf(await list('?from=1h'))).toEqual([recent]);
    expect(idsOf(await list('?time_range=24h'))).toEqual([recent]);
    expect(idsOf(await list('?to=1d'))).toEqual([old]);
    expect(
      idsOf(
        await list(
          `?from=${Date.now() - 4 * 86_400_000}&to=${new Date(Date.now() - 86_400_000).toISOString()}`,
        ),
      ),
    ).toEqual([old]);
    expect(idsOf(await list('?from=7d'))).toEqual([recent, old]);
  });

  it('searches title and message for the text as it is: % and _ are not wildcards', async () => {
    const [pct, under, plain] = await insertAlerts(t, [
      { title: 'Battery at 100% discharge', created_at: now - 3 * MINUTE },
      { title: 'x', message: 'servo_3 stalled', created_at: now - 2 * MINUTE },
      { title: 'Battery at 1000 cycles', message: 'servo 3 worn', created_at: now - MINUTE },
    ]);
    expect(idsOf(await list('?search=100%25'))).toEqual([pct]);
    expect(idsOf(await list('?search=servo_'))).toEqual([under]);
    expect(idsOf(await list('?search=BATTERY'))).toEqual([plain, pct]);
    expect(idsOf(await list('?search=servo'))).toEqual([plain, under]);
  });

  it('pages with an opaque cursor that stays put while new alerts arrive, alerts of one instant included', async () => {
    // Ten alerts, three of them created in the same microsecond: the id breaks the tie.
    const same = now - 5 * MINUTE;
    const ids = await insertAlerts(t, [
      ...Array.from({ length: 7 }, (_, i) => ({ created_at: now - (20 - i) * MINUTE })),
      { created_at: same },
      { created_at: same },
      { created_at: same },
    ]);
    const expected = [...ids].reverse();

    const first = await list('?limit=4');
    expect(idsOf(first)).toEqual(expected.slice(0, 4));
    expect(first.total).toBe(10);
    expect(first.next_cursor).toEqual(expect.any(String));

    // Raised meanwhile: newer than every alert of the walk, so they do not shift the pages that follow.
    await insertAlerts(t, [{ created_at: Date.now() }, { created_at: Date.now() }]);

    const second = await list(`?limit=4&cursor=${first.next_cursor}`);
    expect(idsOf(second)).toEqual(expected.slice(4, 8));
    // Carried by the cursor, not counted again.
    expect(second.total).toBe(10);
    const third = await list(`?limit=4&cursor=${second.next_cursor}`);
    expect(idsOf(third)).toEqual(expected.slice(8));
    expect(third.next_cursor).toBeNull();
    // A fresh first page sees the new ones.
    expect((await list('?limit=4')).total).toBe(12);
  });

  it('walks alerts created microseconds apart exactly once, in order (the cursor keeps PostgreSQL’s µs)', async () => {
    const { rows } = await t.server.db.query<{ id: number }>(
      `INSERT INTO alerts (robot_id, alert_type, severity, title, message, created_at)
       SELECT 'r_us', 'threshold', 'info', 'x', 'y', timestamptz '2026-11-30 12:00:00.000001+00' + i * interval '1 microsecond'
         FROM generate_series(1, 9) AS i
       RETURNING id`,
    );
    const expected = rows.map((r) => Number(r.id)).reverse();
    const walked: number[] = [];
    let cursor: string | null = null;
    do {
      const body = await list(`?robot_id=r_us&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      walked.push(...idsOf(body));
      cursor = body.next_cursor;
    } while (cursor);
    expect(walked).toEqual(expected);
  });

  it('keeps the filter across pages and says null on the last one', async () => {
    await insertAlerts(
      t,
      Array.from({ length: 6 }, (_, i) => ({
        created_at: now - i * MINUTE,
        severity: i % 2 === 0 ? ('critical' as const) : ('info' as const),
      })),
    );
    const one = await list('?severity=critical&limit=2');
    const two = await list(`?severity=critical&limit=2&cursor=${one.next_cursor}`);
    expect([...one.items, ...two.items].map((a: { severity: string }) => a.severity)).toEqual(
      Array(3).fill('critical'),
    );
    expect(two.items).toHaveLength(1);
    expect(two.next_cursor).toBeNull();
    expect(one.total).toBe(3);
  });

  it(`counts total up to ${ALERTS_TOTAL_CAP} and says when it stopped there`, async () => {
    await t.server.db.query(
      `INSERT INTO alerts (robot_id, alert_type, severity, title, message)
       SELECT 'bulk', 'threshold', 'info', 'x', 'y' FROM generate_series(1, $1)`,
      [ALERTS_TOTAL_CAP + 5],
    );
    const body = await list('?limit=1');
    expect(body).toMatchObject({ total: ALERTS_TOTAL_CAP, total_capped: true });
    const next = await list(`?limit=1&cursor=${body.next_cursor}`);
    expect(next).toMatchObject({ total: ALERTS_TOTAL_CAP, total_capped: true });
    expect(await list('?limit=1&robot_id=nobody')).toMatchObject({ total: 0, total_capped: false });
  });

  it('refuses bad input with 400 validation_error naming each field', async () => {
    const fields = async (query: string) => {
      const res = await t.api(`/api/v1/alerts${query}`);
      expect(res.status, query).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe('validation_error');
      return error.details.fields.map((f: { field: string; message: string }) => `${f.field}: ${f.message}`);
    };
    expect(await fields('?state=open,closed')).toEqual([
      'querystring.state: not one of open, acknowledged, resolved: closed',
    ]);
    expect(await fields('?cursor=not-a-cursor')).toEqual([
      expect.stringMatching(/^querystring\.cursor: not a cursor this API gave out/),
    ]);
    // A well-formed base64url string that is not one of ours.
    expect(await fields(`?cursor=${btoa('1.2').replace(/=+$/, '')}`)).toHaveLength(1);
    expect(await fields('?severity=urgent')).toEqual([
      'querystring.severity: not one of info, warning, critical: urgent',
    ]);
    expect(await fields('?limit=501&robot_id=bad%20id')).toEqual([
      expect.stringMatching(/^querystring\.robot_id: not a robot id/),
      expect.stringMatching(/^querystring\.limit: /),
    ]);
    expect(await fields('?from=yesterday')).toEqual([
      expect.stringMatching(/^querystring\.from: not a date-time/),
    ]);
    expect(await fields('?from=1h&to=2h')).toEqual(['querystring.to: must be after from']);
    expect(await fields('?from=1h&time_range=24h')).toEqual([
      'querystring.time_range: give from or time_range, not both',
    ]);
    expect(await fields('?time_range=2026-01-01')).toHaveLength(1);
    expect(await fields('?resolved=yes')).toHaveLength(1);
  });

  it('is open to every role (robots:read) and to nobody signed out', async () => {
    expect((await as('viewer', '/api/v1/alerts')).status).toBe(200);
    expect((await t.api('/api/v1/alerts', { anonymous: true })).status).toBe(401);
  });
});

describe('GET /api/v1/alerts/{id}', () => {
  it('answers the alert, 404 alert_not_found for an unknown id, 400 for an id that is not one', async () => {
    const [id] = await insertAlerts(t, [{ title: 'Servo 3 hot' }]);
    const res = await as('viewer', `/api/v1/alerts/${id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, title: 'Servo 3 hot' });

    const missing = await t.api('/api/v1/alerts/999999');
    expect(missing.status).toBe(404);
    expect(await errorOf(missing)).toMatchObject({
      code: 'alert_not_found',
      message: 'No alert with id 999999',
    });
    expect((await t.api('/api/v1/alerts/abc')).status).toBe(400);
    expect((await t.api('/api/v1/alerts/0')).status).toBe(400);
  });
});

describe('GET /api/v1/alerts/stats', () => {
  it('counts the last 24 hours by default: by severity, state, type and robot, with the original fields', async () => {
    await insertAlerts(t, [
      { robot_id: 'r1', severity: 'critical', state: 'open', created_at: now - MINUTE },
      { robot_id: 'r1', severity: 'critical', state: 'acknowledged', created_at: now - 2 * MINUTE },
      { robot_id: 'r1', severity: 'warning', state: 'resolved', muted: true, created_at: now - 3 * MINUTE },
      { robot_id: 'r2', severity: 'info', alert_type: 'robot_offline', created_at: now - 4 * MINUTE },
      {
        robot_id: null,
        severity: 'warning',
        alert_type: 'manual',
        state: 'resolved',
        created_at: now - 5 * MINUTE,
      },
      // Two days old: outside the default range.
      { robot_id: 'r3', severity: 'critical', created_at: now - 48 * 3600_000 },
    ]);
    const res = await as('viewer', '/api/v1/alerts/stats');
    expect(res.status).toBe(200);
    const stats = await res.json();
    expect(stats).toMatchObject({
      total: 5,
      critical: 2,
      warning: 2,
      info: 1,
      unacknowledged: 2,
      unresolved: 3,
      muted: 1,
      by_severity: { info: 1, warning: 2, critical: 2 },
      by_state: { open: 2, acknowledged: 1, resolved: 2 },
      by_type: { threshold: 3, robot_offline: 1, manual: 1 },
      by_robot: [
        { robot_id: 'r1', total: 3, unresolved: 2 },
        { robot_id: null, total: 1, unresolved: 0 },
        { robot_id: 'r2', total: 1, unresolved: 1 },
      ],
    });
    expect(Date.parse(stats.to) - Date.parse(stats.from)).toBe(24 * 3600_000);

    const wider = await (await t.api('/api/v1/alerts/stats?time_range=7d&robot_id=r1,r3&top=1')).json();
    expect(wider).toMatchObject({ total: 4, critical: 3, by_robot: [{ robot_id: 'r1', total: 3 }] });
    expect(wider.by_robot).toHaveLength(1);
    expect((await t.api('/api/v1/alerts/stats?top=0')).status).toBe(400);
  });

  it('answers zeros for a range without alerts', async () => {
    const stats = await (await t.api('/api/v1/alerts/stats')).json();
    expect(stats).toMatchObject({ total: 0, critical: 0, unresolved: 0, by_type: {}, by_robot: [] });
  });
});

describe('POST /api/v1/alerts/{id}/acknowledge', () => {
  it('records who and when and the note, audited; again is 200 and changes nothing', async () => {
    const [id] = await insertAlerts(t, [{}]);
    const res = await as('operator', `/api/v1/alerts/${id}/acknowledge`, {
      method: 'POST',
      json: { note: 'looking at it' },
    });
    expect(res.status).toBe(200);
    const acked = await res.json();
    expect(acked).toMatchObject({
      id,
      state: 'acknowledged',
      acknowledged_by: 'alerts_operator',
      acknowledge_note: 'looking at it',
    });
    expect(Date.now() - Date.parse(acked.acknowledged_at)).toBeLessThan(60_000);

    const again = await t.api(`/api/v1/alerts/${id}/acknowledge`, {
      method: 'POST',
      json: { note: 'me too' },
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(acked);

    const audit = await (await t.api(`/api/v1/audit?action=alert.acknowledge&target_id=${id}`)).json();
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({
      actor: { type: 'user', name: 'alerts_operator' },
      outcome: 'success',
      details: { note: 'looking at it', state: 'acknowledged' },
    });
  });

  it('takes no body at all, and records an API key by its name', async () => {
    const key = await (
      await t.api('/api/v1/api-keys', { method: 'POST', json: { name: 'pager-bot', role: 'operator' } })
    ).json();
    const [id] = await insertAlerts(t, [{}]);
    const res = await fetch(`${t.url}/api/v1/alerts/${id}/acknowledge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ acknowledged_by: 'pager-bot', acknowledge_note: null });
  });

  it('refuses a resolved alert with 409 (audited as a failure), an unknown one with 404, a viewer with 403', async () => {
    const [resolved] = await insertAlerts(t, [{ state: 'resolved' }]);
    const res = await t.api(`/api/v1/alerts/${resolved}/acknowledge`, { method: 'POST', json: {} });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toMatchObject({ code: 'conflict' });
    const audit = await (await t.api(`/api/v1/audit?action=alert.acknowledge&target_id=${resolved}`)).json();
    expect(audit.items[0]).toMatchObject({ outcome: 'failure', details: { code: 'conflict' } });

    const missing = await t.api('/api/v1/alerts/424242/acknowledge', { method: 'POST', json: {} });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('alert_not_found');

    const [open] = await insertAlerts(t, [{}]);
    const viewer = await as('viewer', `/api/v1/alerts/${open}/acknowledge`, { method: 'POST', json: {} });
    expect(viewer.status).toBe(403);
    expect((await errorOf(viewer)).message).toContain('robots:control');
    expect((await t.api(`/api/v1/alerts/${open}`).then((r) => r.json())).state).toBe('open');

    const long = await t.api(`/api/v1/alerts/${open}/acknowledge`, {
      method: 'POST',
      json: { note: 'x'.repeat(1001) },
    });
    expect(long.status).toBe(400);
    expect((await errorOf(long)).details.fields[0].field).toBe('body.note');
  });
});

describe('POST /api/v1/alerts/acknowledge (bulk)', () => {
  it('acknowledges the open alerts of the ids and leaves the others alone', async () => {
    const [a, b, resolved] = await insertAlerts(t, [{}, {}, { state: 'resolved' }]);
    const res = await as('operator', '/api/v1/alerts/acknowledge', {
      method: 'POST',
      json: { ids: [a, resolved, 999_999], note: 'batch' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ acknowledged: 1 });
    const states = await list('');
    expect(
      Object.fromEntries(states.items.map((x: { id: number; state: string }) => [x.id, x.state])),
    ).toEqual({ [a as number]: 'acknowledged', [b as number]: 'open', [resolved as number]: 'resolved' });
  });

  it('acknowledges every open alert matching a filter; {} is the original acknowledge-all', async () => {
    const rule = await insertRule(t, 'servo_hot');
    await insertAlerts(t, [
      { robot_id: 'r1', severity: 'critical' },
      { robot_id: 'r1', severity: 'info' },
      { robot_id: 'r2', severity: 'critical', rule_id: rule },
      { robot_id: 'r2', severity: 'warning', alert_type: 'robot_offline' },
    ]);
    const ack = async (filter: Record<string, unknown>) => {
      const res = await t.api('/api/v1/alerts/acknowledge', { method: 'POST', json: { filter } });
      expect(res.status).toBe(200);
      return (await res.json()).acknowledged;
    };
    expect(await ack({ robot_id: 'r1', severity: ['critical', 'warning'] })).toBe(1);
    expect(await ack({ rule_id: rule })).toBe(1);
    expect(await ack({ alert_type: 'robot_offline' })).toBe(1);
    expect(await ack({})).toBe(1);
    expect(await ack({})).toBe(0);
    const audit = await (await t.api('/api/v1/audit?action=alert.acknowledge_many&limit=1')).json();
    expect(audit.items[0]).toMatchObject({
      actor: { name: 'admin' },
      details: { acknowledged: 0, filter: {} },
    });
  });

  it('refuses a body with neither ids nor filter, or both, or an unknown field (400), and a viewer (403)', async () => {
    for (const json of [
      {},
      { ids: [1], filter: {} },
      { ids: [] },
      { filter: { robot: 'r1' } },
      { note: 'x' },
    ]) {
      const res = await t.api('/api/v1/alerts/acknowledge', { method: 'POST', json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect((await errorOf(res)).code).toBe('validation_error');
    }
    const res = await as('viewer', '/api/v1/alerts/acknowledge', { method: 'POST', json: { filter: {} } });
    expect(res.status).toBe(403);
  });
});

describe('POST /api/v1/alerts/{id}/resolve', () => {
  it('resolves with who, when and the note; again is 200 unchanged; unknown 404; viewer 403', async () => {
    const [id] = await insertAlerts(t, [{ state: 'acknowledged' }]);
    expect((await as('viewer', `/api/v1/alerts/${id}/resolve`, { method: 'POST', json: {} })).status).toBe(
      403,
    );
    const res = await as('operator', `/api/v1/alerts/${id}/resolve`, {
      method: 'POST',
      json: { note: 'fan replaced' },
    });
    expect(res.status).toBe(200);
    const resolved = await res.json();
    expect(resolved).toMatchObject({
      state: 'resolved',
      resolved_by: 'alerts_operator',
      resolve_note: 'fan replaced',
      resolved_at: expect.any(String),
    });
    const again = await t.api(`/api/v1/alerts/${id}/resolve`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(resolved);
    expect((await t.api('/api/v1/alerts/777777/resolve', { method: 'POST', json: {} })).status).toBe(404);
    expect(idsOf(await list('?resolved=true'))).toEqual([id]);
  });
});

describe('DELETE /api/v1/alerts/{id}', () => {
  it('is for admins only (alerts:delete): the alert is gone, audited, and a second delete is 404', async () => {
    const [id] = await insertAlerts(t, [{ title: 'Gone soon' }]);
    for (const role of ['viewer', 'operator'] as const) {
      const res = await as(role, `/api/v1/alerts/${id}`, { method: 'DELETE' });
      expect(res.status, role).toBe(403);
      expect((await errorOf(res)).message).toContain('alerts:delete');
    }
    const res = await t.api(`/api/v1/alerts/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, title: 'Gone soon' });
    expect((await t.api(`/api/v1/alerts/${id}`)).status).toBe(404);
    expect((await t.api(`/api/v1/alerts/${id}`, { method: 'DELETE' })).status).toBe(404);
    const audit = await (await t.api(`/api/v1/audit?action=alert.delete&target_id=${id}`)).json();
    expect(
      audit.items.map((e: { outcome: string; actor: { name: string } }) => [e.outcome, e.actor.name]),
    ).toEqual([
      ['failure', 'admin'],
      ['success', 'admin'],
      ['denied', 'alerts_operator'],
      ['denied', 'alerts_viewer'],
    ]);
  });
});

describe('POST /api/v1/alerts (manual alert)', () => {
  it('raises an open alert about a known robot or the fleet (201), audited', async () => {
    const res = await as('operator', '/api/v1/alerts', {
      method: 'POST',
      json: {
        robot_id: 'tonypi_01',
        severity: 'warning',
        title: '  Gripper sticks  ',
        message: 'seen by the night shift',
        source: 'gripper',
        value: 3,
        threshold: 2,
        details: { shift: 'night', parts: [{ id: 7 }] },
      },
    });
    expect(res.status).toBe(201);
    const alert = await res.json();
    expect(alert).toMatchObject({
      robot_id: 'tonypi_01',
      alert_type: 'manual',
      severity: 'warning',
      state: 'open',
      title: 'Gripper sticks',
      source: 'gripper',
      value: 3,
      threshold: 2,
      rule_id: null,
      details: { shift: 'night', parts: [{ id: 7 }] },
    });
    expect(await (await t.api(`/api/v1/alerts/${alert.id}`)).json()).toEqual(alert);
    const fleet = await t.api('/api/v1/alerts', {
      method: 'POST',
      json: { severity: 'info', alert_type: 'maintenance', title: 'Hall B closed', message: 'until 14:00' },
    });
    expect(await fleet.json()).toMatchObject({ robot_id: null, alert_type: 'maintenance' });
    const audit = await (await t.api(`/api/v1/audit?action=alert.create&target_id=${alert.id}`)).json();
    expect(audit.items[0]).toMatchObject({ actor: { name: 'alerts_operator' }, outcome: 'success' });
  });

  it('refuses an unknown robot (404 robot_not_found), bad fields (400 each named) and a viewer (403)', async () => {
    const unknown = await t.api('/api/v1/alerts', {
      method: 'POST',
      json: { robot_id: 'nobody_here', severity: 'info', title: 't', message: 'm' },
    });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({
      code: 'robot_not_found',
      message: 'No robot with id nobody_here',
    });

    const bad = await t.api('/api/v1/alerts', {
      method: 'POST',
      json: { severity: 'urgent', title: '   ', message: 'm', value: 'high', colour: 'red' },
    });
    expect(bad.status).toBe(400);
    const fields = (await errorOf(bad)).details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['body.severity', 'body.title', 'body.value']));

    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { deeper: deep };
    const tooDeep = await t.api('/api/v1/alerts', {
      method: 'POST',
      json: { severity: 'info', title: 't', message: 'm', details: deep },
    });
    expect(tooDeep.status).toBe(400);
    expect((await errorOf(tooDeep)).details.fields[0]).toMatchObject({
      field: 'body.details',
      message: expect.stringContaining('nested deeper than 8 levels'),
    });
    const tooBig = await t.api('/api/v1/alerts', {
      method: 'POST',
      json: { severity: 'info', title: 't', message: 'm', details: { blob: 'x'.repeat(20_000) } },
    });
    expect(tooBig.status).toBe(400);
    expect((await errorOf(tooBig)).details.fields[0].message).toMatch(/at most 16384 bytes/);

    const viewer = await as('viewer', '/api/v1/alerts', {
      method: 'POST',
      json: { severity: 'info', title: 't', message: 'm' },
    });
    expect(viewer.status).toBe(403);
    expect((await list('')).total).toBe(0);
  });
});

describe('the live stream’s alert channel', () => {
  async function subscriber(robots: string[]): Promise<LiveClient> {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${tokens.viewer}` });
    live.send({ type: 'subscribe', robots, channels: ['alert'] });
    await live.next('subscribed');
    return live;
  }

  it('sends each change (raised, acknowledged, resolved, deleted) with the alert, to the robot’s subscribers and fleet alerts to all', async () => {
    const onlyR1 = await subscriber(['tonypi_01']);
    const every = await subscriber(['*']);
    try {
      const raised = await (
        await t.api('/api/v1/alerts', {
          method: 'POST',
          json: { robot_id: 'tonypi_01', severity: 'critical', title: 'Fall detected', message: 'imu' },
        })
      ).json();
      const fleet = await (
        await t.api('/api/v1/alerts', {
          method: 'POST',
          json: { severity: 'info', title: 'Fleet', message: 'm' },
        })
      ).json();
      const [other] = await insertAlerts(t, [{ robot_id: 'r_other' }]);
      await t.api(`/api/v1/alerts/${other}/acknowledge`, { method: 'POST', json: {} });
      await t.api(`/api/v1/alerts/${raised.id}/acknowledge`, { method: 'POST', json: {} });
      await t.api(`/api/v1/alerts/${raised.id}/resolve`, { method: 'POST', json: {} });
      await t.api(`/api/v1/alerts/${raised.id}`, { method: 'DELETE' });

      const changes = (live: LiveClient) =>
        live
          .of('alert')
          .map((f) => [(f.alert as { id: number }).id, f.change, (f.alert as { state: string }).state]);
      await every.next('alert', (f) => f.change === 'deleted');
      expect(changes(every)).toEqual([
        [raised.id, 'raised', 'open'],
        [fleet.id, 'raised', 'open'],
        [other, 'acknowledged', 'acknowledged'],
        [raised.id, 'acknowledged', 'acknowledged'],
        [raised.id, 'resolved', 'resolved'],
        [raised.id, 'deleted', 'resolved'],
      ]);
      await onlyR1.next('alert', (f) => f.change === 'deleted');
      expect(changes(onlyR1)).toEqual([
        [raised.id, 'raised', 'open'],
        [fleet.id, 'raised', 'open'],
        [raised.id, 'acknowledged', 'acknowledged'],
        [raised.id, 'resolved', 'resolved'],
        [raised.id, 'deleted', 'resolved'],
      ]);
      expect(every.of('alert')[0]).toMatchObject({
        alert: { title: 'Fall detected', acknowledged_by: null },
      });
    } finally {
      onlyR1.close();
      every.close();
    }
  });

  it('relays alert.changed from any publisher (the alert engine too), at once', async () => {
    const live = await subscriber(['*']);
    try {
      const [id] = await insertAlerts(t, [{ robot_id: 'tonypi_01', title: 'Servo 2 hot' }]);
      const alert = await (await t.api(`/api/v1/alerts/${id}`)).json();
      t.server
        .service('events')
        .publish('alert.changed', { change: 'escalated', alert: { ...alert, severity: 'critical' } });
      expect(await live.next('alert')).toMatchObject({
        change: 'escalated',
        alert: { id, severity: 'critical' },
      });
    } finally {
      live.close();
    }
  });

  it('never throttles: 100 alert changes of one robot in one burst all arrive', async () => {
    const live = await subscriber(['tonypi_01']);
    try {
      const ids = await insertAlerts(
        t,
        Array.from({ length: 100 }, () => ({ robot_id: 'tonypi_01' })),
      );
      // One statement, 100 changes published back to back on the same tick.
      const res = await t.api('/api/v1/alerts/acknowledge', {
        method: 'POST',
        json: { filter: { robot_id: 'tonypi_01' } },
      });
      expect(await res.json()).toEqual({ acknowledged: 100 });
      await waitFor(() => live.of('alert').length >= 100, 5000, '100 alert frames');
      const got = live.of('alert').map((f) => (f.alert as { id: number }).id);
      expect([...got].sort((x, y) => x - y)).toEqual(ids);
      expect(live.of('alert').every((f) => f.change === 'acknowledged')).toBe(true);
    } finally {
      live.close();
    }
  });
});
