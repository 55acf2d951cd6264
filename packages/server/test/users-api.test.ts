import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Account {
  id: string;
  username: string;
  email: string;
  role: string;
  is_active: boolean;
  must_change_password: boolean;
}

async function createUser(
  json: Record<string, unknown>,
): Promise<{ user: Account; temporary_password?: string }> {
  const res = await t.api('/api/v1/users', { method: 'POST', json });
  expect(res.status, JSON.stringify(json)).toBe(201);
  return res.json();
}

async function login(username: string, password: string): Promise<Response> {
  return t.api('/api/v1/auth/login', { method: 'POST', anonymous: true, json: { username, password } });
}

async function tokenOf(username: string, password: string): Promise<string> {
  const res = await login(username, password);
  expect(res.status).toBe(200);
  return (await res.json()).access_token;
}

const as = (token: string, pathname: string, init: RequestInit & { json?: unknown } = {}) =>
  t.api(pathname, { ...init, anonymous: true, headers: { authorization: `Bearer ${token}` } });

const fieldsOf = async (res: Response) =>
  ((await res.json()).error.details.fields as Array<{ field: string }>).map((f) => f.field).sort();

async function adminId(): Promise<string> {
  const res = await t.api('/api/v1/users?search=admin&role=admin');
  return ((await res.json()).items as Account[]).find((u) => u.username === 'admin')!.id;
}

describe('POST /api/v1/users', () => {
  it('creates a user with the given password, who can then sign in', async () => {
    const { user, temporary_password } = await createUser({
      username: 'olivia',
      email: 'Olivia@Example.com',
      role: 'operator',
      password: 'olivia-long-password',
    });
    expect(temporary_password).toBeUndefined();
    expect(user).toMatchObject({
      username: 'olivia',
      email: 'olivia@example.com',
      role: 'operator',
      is_active: true,
      must_change_password: false,
      updated_at: null,
    });
    expect(Object.keys(user)).not.toContain('password_hash');
    expect((await login('olivia', 'olivia-long-password')).status).toBe(200);
  });

  it('generates a temporary password, returned once, that must be changed', async () => {
    const { user, temporary_password } = await createUser({
      username: 'tim',
      email: 'tim@example.com',
      role: 'viewer',
    });
    expect(user.must_change_password).toBe(true);
    expect(temporary_password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect((await login('tim', temporary_password!)).status).toBe(200);
    const again = await (await t.api(`/api/v1/users/${user.id}`)).json();
    expect(JSON.stringify(again)).not.toContain(temporary_password);
  });

  it('answers 409 conflict naming a taken username or e-mail, in any case', async () => {
    await createUser({ username: 'dup', email: 'dup@example.com', role: 'viewer' });
    const both = await t.api('/api/v1/users', {
      method: 'POST',
      json: { username: 'DUP', email: 'DUP@example.com', role: 'viewer' },
    });
    expect(both.status).toBe(409);
    expect((await both.json()).error).toEqual({
      code: 'conflict',
      message: 'The username and e-mail address are already taken',
      details: { fields: ['username', 'email'] },
    });
    const email = await t.api('/api/v1/users', {
      method: 'POST',
      json: { username: 'dup2', email: 'dup@example.com', role: 'viewer' },
    });
    expect((await email.json()).error.message).toBe('The e-mail address is already taken');
  });

  it('answers 400 validation_error listing every bad field', async () => {
    const res = await t.api('/api/v1/users', {
      method: 'POST',
      json: { username: 'has space', email: 'not-an-email', role: 'root', password: 'short-pw', extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(await fieldsOf(res)).toEqual([
      'body',
      'body.email',
      'body.password',
      'body.role',
      'body.username',
    ]);
    const missing = await t.api('/api/v1/users', { method: 'POST', json: {} });
    expect(await fieldsOf(missing)).toEqual(['body.email', 'body.role', 'body.username']);
  });

  it('counts a password of 12 characters by code points, not bytes', async () => {
    const short = await t.api('/api/v1/users', {
      method: 'POST',
      json: { username: 'emoji', email: 'emoji@example.com', role: 'viewer', password: '🔑'.repeat(11) },
    });
    expect(await fieldsOf(short)).toEqual(['body.password']);
    await createUser({
      username: 'emoji',
      email: 'emoji@example.com',
      role: 'viewer',
      password: '🔑'.repeat(12),
    });
  });
});

describe('GET /api/v1/users', () => {
  it('filters by role, active and search, sorts, pages and counts', async () => {
    for (const name of ['list_a', 'list_b', 'list_c']) {
      await createUser({ username: name, email: `${name}@list.example`, role: 'viewer' });
    }
    const page = await (
      await t.api('/api/v1/users?search=LIST.EXAMPLE&sort=username&order=desc&limit=2')
    ).json();
    expect(page.total).toBe(3);
    expect(page.items.map((u: Account) => u.username)).toEqual(['list_c', 'list_b']);
    const admins = await (await t.api('/api/v1/users?role=admin&active=true')).json();
    expect(admins.items.map((u: Account) => u.username)).toEqual(['admin']);
    expect((await (await t.api('/api/v1/users?active=false&search=list_')).json()).total).toBe(0);
  });

  it('answers 400 naming each bad parameter', async () => {
    const res = await t.api('/api/v1/users?role=god&active=yes&sort=password_hash&limit=0');
    expect(res.status).toBe(400);
    expect(await fieldsOf(res)).toEqual([
      'querystring.active',
      'querystring.limit',
      'querystring.role',
      'querystring.sort',
    ]);
  });
});

describe('GET /api/v1/users/{id}', () => {
  it('answers 404 user_not_found for an unknown id', async () => {
    const res = await t.api('/api/v1/users/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(404);
    expect((await res.json()).error).toEqual({
      code: 'user_not_found',
      message: 'No user with id 00000000-0000-4000-8000-000000000000',
    });
  });
});

describe('PATCH /api/v1/users/{id}', () => {
  it("changes the e-mail address and role, and a disabled user's sign-in is refused", async () => {
    const { user } = await createUser({
      username: 'pat',
      email: 'pat@example.com',
      role: 'viewer',
      password: 'pat-long-password',
    });
    const res = await t.api(`/api/v1/users/${user.id}`, {
      method: 'PATCH',
      json: { email: 'pat@example.org', role: 'operator' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: 'pat@example.org', role: 'operator', is_active: true });
    const off = await t.api(`/api/v1/users/${user.id}`, { method: 'PATCH', json: { is_active: false } });
    expect((await off.json()).is_active).toBe(false);
    expect((await login('pat', 'pat-long-password')).status).not.toBe(200);
    await t.api(`/api/v1/users/${user.id}`, { method: 'PATCH', json: { is_active: true } });
    expect((await login('pat', 'pat-long-password')).status).toBe(200);
  });

  it('refuses an empty change, and an e-mail address another user holds', async () => {
    const { user } = await createUser({ username: 'quinn', email: 'quinn@example.com', role: 'viewer' });
    const empty = await t.api(`/api/v1/users/${user.id}`, { method: 'PATCH', json: {} });
    expect(empty.status).toBe(400);
    const taken = await t.api(`/api/v1/users/${user.id}`, {
      method: 'PATCH',
      json: { email: 'OLIVIA@example.com' },
    });
    expect(taken.status).toBe(409);
    expect((await taken.json()).error.details).toEqual({ fields: ['email'] });
    const same = await t.api(`/api/v1/users/${user.id}`, {
      method: 'PATCH',
      json: { email: 'quinn@example.com' },
    });
    expect(same.status).toBe(200);
  });

  it('refuses to disable oneself, and to demote the last active admin (409 saying why)', async () => {
    const id = await adminId();
    const self = await t.api(`/api/v1/users/${id}`, { method: 'PATCH', json: { is_active: false } });
    expect(self.status).toBe(409);
    expect((await self.json()).error).toMatchObject({ code: 'conflict', details: { reason: 'self' } });
    const demote = await t.api(`/api/v1/users/${id}`, { method: 'PATCH', json: { role: 'viewer' } });
    expect(demote.status).toBe(409);
    expect((await demote.json()).error.message).toMatch(/^admin is the last active admin/);
  });
});

describe('POST /api/v1/users/{id}/reset-password', () => {
  it('sets the given password, or returns a generated one once; the old one stops working', async () => {
    const { user } = await createUser({
      username: 'rita',
      email: 'rita@example.com',
      role: 'viewer',
      password: 'rita-first-password',
    });
    const set = await t.api(`/api/v1/users/${user.id}/reset-password`, {
      method: 'POST',
      json: { password: 'rita-second-password' },
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ user: expect.objectContaining({ must_change_password: false }) });
    expect((await login('rita', 'rita-first-password')).status).toBe(401);
    expect((await login('rita', 'rita-second-password')).status).toBe(200);
    const generated = await (
      await t.api(`/api/v1/users/${user.id}/reset-password`, { method: 'POST', json: {} })
    ).json();
    expect(generated.user.must_change_password).toBe(true);
    expect((await login('rita', generated.temporary_password)).status).toBe(200);
  });

  it('takes no body at all for a generated password', async () => {
    const { user } = await createUser({ username: 'nobody_body', email: 'nb@example.com', role: 'viewer' });
    const res = await t.api(`/api/v1/users/${user.id}/reset-password`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect((await res.json()).temporary_password).toMatch(/^[A-Za-z0-9_-]{20}$/);
  });

  it('refuses a short password and an unknown user', async () => {
    const { user } = await createUser({ username: 'sam', email: 'sam@example.com', role: 'viewer' });
    const short = await t.api(`/api/v1/users/${user.id}/reset-password`, {
      method: 'POST',
      json: { password: 'x' },
    });
    expect(await fieldsOf(short)).toEqual(['body.password']);
    const unknown = await t.api('/api/v1/users/nobody/reset-password', { method: 'POST', json: {} });
    expect(unknown.status).toBe(404);
  });
});

describe('DELETE /api/v1/users/{id}', () => {
  it('deletes a user (204), who is then unknown', async () => {
    const { user } = await createUser({ username: 'del', email: 'del@example.com', role: 'viewer' });
    const res = await t.api(`/api/v1/users/${user.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await t.api(`/api/v1/users/${user.id}`)).status).toBe(404);
    expect((await t.api(`/api/v1/users/${user.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses to delete oneself', async () => {
    const res = await t.api(`/api/v1/users/${await adminId()}`, { method: 'DELETE' });
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toBe('You cannot delete yourself: ask another admin');
  });
});

describe('who may manage users', () => {
  it('refuses operators and viewers with 403 forbidden, and audits the attempt as denied', async () => {
    await createUser({
      username: 'vic',
      email: 'vic@example.com',
      role: 'viewer',
      password: 'vic-long-password',
    });
    const token = await tokenOf('vic', 'vic-long-password');
    const list = await as(token, '/api/v1/users');
    expect(list.status).toBe(403);
    expect((await list.json()).error.code).toBe('forbidden');
    const create = await as(token, '/api/v1/users', {
      method: 'POST',
      body: JSON.stringify({ username: 'sneaky', email: 'sneaky@example.com', role: 'admin' }),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    expect(create.status).toBe(403);
    const audit = await (await t.api('/api/v1/audit?actor=vic&outcome=denied')).json();
    expect(audit.items).toEqual([
      expect.objectContaining({
        action: 'user.create',
        actor: expect.objectContaining({ type: 'user', name: 'vic' }),
        details: { route: 'POST /api/v1/users', permission: 'users:manage' },
      }),
    ]);
    expect((await as(token, '/api/v1/audit')).status).toBe(403);
  });
});

describe('GET /api/v1/audit', () => {
  it('shows every user change, newest first, without passwords', async () => {
    const { user, temporary_password } = await createUser({
      username: 'audited',
      email: 'audited@example.com',
      role: 'viewer',
    });
    await t.api(`/api/v1/users/${user.id}`, { method: 'PATCH', json: { role: 'operator' } });
    await t.api(`/api/v1/users/${user.id}`, { method: 'DELETE' });
    const res = await t.api(`/api/v1/audit?target_type=user&target_id=${user.id}&action=user.`);
    expect(res.status).toBe(200);
    const page = await res.json();
    expect(page.total).toBe(3);
    expect(page.items.map((e: { action: string }) => e.action)).toEqual([
      'user.delete',
      'user.update',
      'user.create',
    ]);
    expect(page.items[1]).toMatchObject({
      actor: { type: 'user', name: 'admin' },
      outcome: 'success',
      address: '127.0.0.1',
      details: { username: 'audited', changes: { role: { from: 'viewer', to: 'operator' } } },
    });
    expect(JSON.stringify(page)).not.toContain(temporary_password);
  });

  it('records refusals: a conflict is a failure with its reason', async () => {
    const page = await (await t.api('/api/v1/audit?action=user.update&outcome=failure')).json();
    expect(page.items.map((e: { details: { reason: string } }) => e.details.reason)).toContain(
      'You cannot disable yourself: ask another admin',
    );
  });

  it('takes ISO-8601 and epoch ms times, and answers 400 naming each bad filter', async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const ok = await t.api(`/api/v1/audit?from=${from}&to=${Date.now() + 60_000}&limit=1`);
    expect(ok.status).toBe(200);
    const page = await ok.json();
    expect(page.items).toHaveLength(1);
    expect(page.next_before_id).toBe(page.items[0].id);
    const bad = await t.api('/api/v1/audit?from=yesterday&outcome=maybe&before_id=-1&limit=501');
    expect(bad.status).toBe(400);
    expect(await fieldsOf(bad)).toEqual([
      'querystring.before_id',
      'querystring.from',
      'querystring.limit',
      'querystring.outcome',
    ]);
    const reversed = await t.api('/api/v1/audit?from=2026-01-02&to=2026-01-01');
    expect(await fieldsOf(reversed)).toEqual(['querystring.to']);
  });
});

describe('hostile strings', () => {
  const INJECTION = "x' OR '1'='1'; DROP TABLE users; --";
  const SCRIPT = '<script>alert(1)</script>';

  it('refuses SQL and script in usernames and e-mail addresses with 400, and nothing is written', async () => {
    for (const [username, email] of [
      [INJECTION, 'inj@example.com'],
      [SCRIPT, 'script@example.com'],
      ['okname', `${SCRIPT}@example.com`],
      ['okname', "a@b.com'; DROP TABLE users; --"],
    ]) {
      const res = await t.api('/api/v1/users', { method: 'POST', json: { username, email, role: 'viewer' } });
      expect(res.status, `${username} ${email}`).toBe(400);
      expect((await res.json()).error.code).toBe('validation_error');
    }
    expect((await (await t.api('/api/v1/users?search=okname')).json()).total).toBe(0);
  });

  it('stores an apostrophe e-mail verbatim and finds it', async () => {
    const { user } = await createUser({
      username: 'o.brien',
      email: "o'brien--@example.com",
      role: 'viewer',
    });
    expect(user.email).toBe("o'brien--@example.com");
    const found = await (await t.api(`/api/v1/users?search=${encodeURIComponent("o'brien--")}`)).json();
    expect(found.items.map((u: Account) => u.id)).toEqual([user.id]);
  });

  it('searches and looks up ids with injection and script strings harmlessly', async () => {
    const total = (await (await t.api('/api/v1/users?limit=500')).json()).total;
    for (const search of [INJECTION, SCRIPT, '%', '\\', "' OR 1=1 --", '_x_']) {
      const res = await t.api(`/api/v1/users?search=${encodeURIComponent(search)}`);
      expect(res.status, search).toBe(200);
      expect((await res.json()).total, search).toBe(0);
    }
    for (const id of [INJECTION, SCRIPT, "1' OR '1'='1"]) {
      const res = await t.api(`/api/v1/users/${encodeURIComponent(id)}`);
      expect(res.status, id).toBe(404);
      expect((await res.json()).error.code).toBe('user_not_found');
      expect((await t.api(`/api/v1/users/${encodeURIComponent(id)}`, { method: 'DELETE' })).status).toBe(404);
    }
    const audit = await t.api(
      `/api/v1/audit?actor=${encodeURIComponent(INJECTION)}&action=${encodeURIComponent("%' --.")}`,
    );
    expect(audit.status).toBe(200);
    expect((await audit.json()).total).toBe(0);
    expect((await (await t.api('/api/v1/users?limit=500')).json()).total).toBe(total);
    expect((await t.api('/api/v1/users?search=%00')).status).toBe(400);
  });
});
