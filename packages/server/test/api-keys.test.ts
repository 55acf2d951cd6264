import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../src/users/passwords';
import { UsersRepository } from '../src/users/users.repository';
import { LiveClient, startTestServer, type TestServer } from './helpers/test-server';

let t: TestServer;

interface Created {
  id: string;
  name: string;
  role: string;
  key: string;
  created_by: string | null;
  expires_at: string | null;
}

const withKey = (key: string, pathname: string, init: RequestInit & { json?: unknown } = {}) =>
  fetch(`${t.url}${pathname}`, {
    ...init,
    headers: {
      authorization: `Bearer ${key}`,
      ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });

async function createKey(body: Record<string, unknown>, by?: string): Promise<Created> {
  const res = by
    ? await withKey(by, '/api/v1/api-keys', { method: 'POST', json: body })
    : await t.api('/api/v1/api-keys', { method: 'POST', json: body });
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

/** How the server closes a live-stream socket that presents `headers` on the upgrade, once it does. */
function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('POST /api/v1/api-keys', () => {
  it("creates a key and shows it once: tpk_, 256 random bits, the key's fields", async () => {
    const created = await createKey({ name: 'nightly export', role: 'viewer' });
    expect(created.key).toMatch(/^tpk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      id: created.key.slice(4, 20),
      name: 'nightly export',
      role: 'viewer',
      created_by: expect.any(String),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
    });
    const { rows } = await t.server.db.query<{ secret_hash: string }>(
      'SELECT secret_hash FROM api_keys WHERE id = $1',
      [created.id],
    );
    expect(rows[0]?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(created.key).not.toContain(rows[0]?.secret_hash);
  });

  it('takes an expiry in days or as a time', async () => {
    const inDays = await createKey({ name: 'd', role: 'viewer', expires_in_days: 30 });
    expect(Date.parse(inDays.expires_at ?? '')).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const at = new Date(Date.now() + 3_600_000).toISOString();
    expect((await createKey({ name: 't', role: 'viewer', expires_at: at })).expires_at).toBe(at);
  });

  it.each([
    ['no name', { role: 'viewer' }, 'body.name'],
    ['a blank name', { name: '   ', role: 'viewer' }, 'body.name'],
    ['an unknown role', { name: 'x', role: 'root' }, 'body.role'],
    [
      'an expiry in the past',
      { name: 'x', role: 'viewer', expires_at: '2020-01-01T00:00:00Z' },
      'body.expires_at',
    ],
    [
      'an expiry that is not a time',
      { name: 'x', role: 'viewer', expires_at: 'tomorrow' },
      'body.expires_at',
    ],
    ['zero days', { name: 'x', role: 'viewer', expires_in_days: 0 }, 'body.expires_in_days'],
    [
      'both kinds of expiry',
      { name: 'x', role: 'viewer', expires_in_days: 1, expires_at: '2099-01-01T00:00:00Z' },
      'body.expires_in_days',
    ],
    ['an unknown field', { name: 'x', role: 'viewer', scopes: ['all'] }, 'body'],
  ])('refuses %s with 400 validation_error naming the field', async (_what, body, field) => {
    const res = await t.api('/api/v1/api-keys', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    const error = (await res.json()) as {
      error: { code: string; details: { fields: Array<{ field: string }> } };
    };
    expect(error.error.code).toBe('validation_error');
    expect(error.error.details.fields.map((f) => f.field)).toContain(field);
  });
});

describe('a key at work', () => {
  it('works on every route its role allows, and is refused (403) on the others', async () => {
    const viewer = await createKey({ name: 'dashboard', role: 'viewer' });
    expect((await withKey(viewer.key, '/api/v1/robots')).status).toBe(200);
    const manage = await withKey(viewer.key, '/api/v1/api-keys');
    expect(manage.status).toBe(403);
    expect((await errorOf(manage)).code).toBe('forbidden');
  });

  it('answers GET /auth/me with the key, its role and its creator', async () => {
    const key = await createKey({ name: 'me-check', role: 'operator', expires_in_days: 2 });
    const me = await (await withKey(key.key, '/api/v1/auth/me')).json();
    expect(me).toEqual({
      kind: 'api_key',
      user: expect.objectContaining({ username: 'admin', role: 'admin' }),
      role: 'operator',
      expires_at: expect.any(String),
      api_key: { id: key.id, name: 'me-check', expires_at: expect.any(String) },
      // A key has no password of its own: never held back by its creator's temporary one.
      must_change_password: false,
    });
  });

  it('has no session to sign out (400 bad_request) and no password to change (403 forbidden)', async () => {
    const key = await createKey({ name: 'no-session', role: 'viewer' });
    const out = await withKey(key.key, '/api/v1/auth/logout', { method: 'POST' });
    expect(out.status).toBe(400);
    expect((await errorOf(out)).code).toBe('bad_request');
    const password = await withKey(key.key, '/api/v1/auth/password', {
      method: 'POST',
      json: { current_password: 'anything', new_password: 'something-long-enough' },
    });
    expect(password.status).toBe(403);
    expect((await errorOf(password)).code).toBe('forbidden');
    expect((await withKey(key.key, '/api/v1/robots')).status).toBe(200);
  });

  it('refuses a malformed key and a wrong secret with 401 unauthorized', async () => {
    const key = await createKey({ name: 'guessed', role: 'viewer' });
    const wrongSecret = `${key.key.slice(0, 21)}${'A'.repeat(43)}`;
    for (const bad of ['tpk_nope', wrongSecret, `tpk_${'0'.repeat(16)}_${'A'.repeat(43)}`]) {
      const res = await withKey(bad, '/api/v1/robots');
      expect(res.status).toBe(401);
      expect(await errorOf(res)).toEqual({ code: 'unauthorized', message: 'API key is invalid' });
    }
  });

  it('is refused at once when expired: 401', async () => {
    const key = await createKey({ name: 'short-lived', role: 'viewer', expires_in_days: 1 });
    await t.server.db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [
      key.id,
    ]);
    const res = await withKey(key.key, '/api/v1/robots');
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe('API key expired');
  });

  it('acts for an API key in the audit trail when it makes a change', async () => {
    const admin = await createKey({ name: 'provisioner', role: 'admin' });
    const child = await createKey({ name: 'made-by-a-key', role: 'viewer' }, admin.key);
    const { rows } = await t.server.db.query<{ actor_type: string; actor_id: string; actor_name: string }>(
      "SELECT actor_type, actor_id, actor_name FROM audit_events WHERE action = 'api_key.create' AND target_id = $1",
      [child.id],
    );
    expect(rows).toEqual([{ actor_type: 'api_key', actor_id: admin.id, actor_name: 'provisioner' }]);
    // Its creator is the person behind the key.
    expect(child.created_by).toBe(admin.created_by);
  });

  it('stops working when its creator is disabled', async () => {
    const users = new UsersRepository(t.server.db);
    const second = await users.create({
      username: 'admin2',
      email: 'admin2@example.com',
      password_hash: await hashPassword('admin2-password-1'),
      role: 'admin',
    });
    const login = await fetch(`${t.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin2', password: 'admin2-password-1' }),
    });
    const { access_token } = (await login.json()) as { access_token: string };
    const key = await createKey({ name: 'orphan', role: 'viewer' }, access_token);
    expect((await withKey(key.key, '/api/v1/robots')).status).toBe(200);
    await t.server.db.query('UPDATE users SET is_active = false WHERE id = $1', [second.id]);
    await t.server.service('authSessions').revokeAllForUser(second.id);
    const res = await withKey(key.key, '/api/v1/robots');
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe("The API key's creator is disabled");
  });
});

describe('GET /api/v1/api-keys', () => {
  it('lists keys newest first without the key or its hash', async () => {
    const key = await createKey({ name: 'listed', role: 'viewer' });
    const res = await t.api('/api/v1/api-keys');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(key.key.slice(21));
    const { items } = JSON.parse(text) as { items: Array<Record<string, unknown>> };
    expect(items[0]).toEqual({
      id: key.id,
      name: 'listed',
      role: 'viewer',
      created_by: key.created_by,
      created_at: expect.any(String),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
    });
  });
});

describe('DELETE /api/v1/api-keys/{id}', () => {
  it('revokes the key: refused at once (401), listed with revoked_at, its live socket closed with 4401', async () => {
    const key = await createKey({ name: 'to-revoke', role: 'viewer' });
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/v1/stream`, {
      headers: { authorization: `Bearer ${key.key}` },
    });
    const closed = closeOf(ws);
    const frames: Array<{ type: string; [k: string]: unknown }> = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (frames.some((f) => f.type === 'hello' && f.authenticated === true)) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });

    expect((await t.api(`/api/v1/api-keys/${key.id}`, { method: 'DELETE' })).status).toBe(204);
    const res = await withKey(key.key, '/api/v1/robots');
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toEqual({ code: 'unauthorized', message: 'API key revoked' });
    expect(await closed).toEqual({ code: 4401, reason: 'Session revoked' });
    expect(frames.at(-1)).toMatchObject({ type: 'error', code: 'unauthorized', message: 'API key revoked' });

    const { items } = (await (await t.api('/api/v1/api-keys')).json()) as {
      items: Array<{ id: string; revoked_at: string | null }>;
    };
    expect(items.find((k) => k.id === key.id)?.revoked_at).toEqual(expect.any(String));
    // Revoking it again changes nothing.
    expect((await t.api(`/api/v1/api-keys/${key.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('answers an unknown id with 404 api_key_not_found, an injection attempt too', async () => {
    for (const id of ['0123456789abcdef', "x' OR '1'='1"]) {
      const res = await t.api(`/api/v1/api-keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe('api_key_not_found');
    }
  });
});

describe('the live stream with an API key', () => {
  it('signs in by the auth message and delivers what the role may read', async () => {
    const key = await createKey({ name: 'live-viewer', role: 'viewer' });
    const live = await LiveClient.connect(t.url);
    live.send({ type: 'auth', token: key.key });
    expect(await live.next('hello', (f) => f.authenticated === true)).toBeTruthy();
    live.send({ type: 'subscribe', robots: ['*'], channels: ['status'] });
    expect(await live.next('subscribed')).toBeTruthy();
    live.close();
  });

  it('closes the socket with 4401 when the key expires', async () => {
    // Far enough ahead that the socket is open before it (a busy CI machine took over 1.5 s to get there).
    const soon = new Date(Date.now() + 5000).toISOString();
    const key = await createKey({ name: 'expiring', role: 'viewer', expires_at: soon });
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/v1/stream`, {
      headers: { authorization: `Bearer ${key.key}` },
    });
    expect(await closeOf(ws)).toEqual({ code: 4401, reason: 'Session expired' });
  });
});

describe('the audit trail of API keys', () => {
  it('records creation and revocation, and never the key', async () => {
    const key = await createKey({ name: 'audited-key', role: 'viewer' });
    await t.api(`/api/v1/api-keys/${key.id}`, { method: 'DELETE' });
    const { rows } = await t.server.db.query<{ action: string; outcome: string; actor_name: string }>(
      'SELECT action, outcome, actor_name FROM audit_events WHERE target_id = $1 ORDER BY id',
      [key.id],
    );
    expect(rows).toEqual([
      { action: 'api_key.create', outcome: 'success', actor_name: 'admin' },
      { action: 'api_key.revoke', outcome: 'success', actor_name: 'admin' },
    ]);
    const all = await t.server.db.query<{ row: string }>(
      'SELECT row_to_json(a)::text AS row FROM audit_events a',
    );
    const text = all.rows.map((r) => r.row).join('\n');
    expect(text).not.toContain(key.key);
    expect(text).not.toContain(key.key.slice(21));
  });
});
