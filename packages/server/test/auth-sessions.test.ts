import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashPassword } from '../src/users/passwords';
import { UsersRepository } from '../src/users/users.repository';
import { ADMIN_PASSWORD, LiveClient, startTestServer, type TestServer } from './helpers/test-server';

let t: TestServer;
let users: UsersRepository;

interface SignIn {
  status: number;
  token: string;
  cookies: string[];
  body: { access_token?: string; error?: { code: string; message: string } };
}

async function login(username: string, password: string): Promise<SignIn> {
  const res = await fetch(`${t.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'auth-sessions-test' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await res.json()) as SignIn['body'];
  return { status: res.status, token: body.access_token ?? '', cookies: res.headers.getSetCookie(), body };
}

const as = (token: string, pathname: string, init: RequestInit & { json?: unknown } = {}) =>
  fetch(`${t.url}${pathname}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.headers as Record<string, string> | undefined),
    },
    body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
  });

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

async function makeUser(
  username: string,
  password: string,
  role: 'viewer' | 'operator' | 'admin' = 'viewer',
) {
  return users.create({
    username,
    email: `${username}@example.com`,
    password_hash: await hashPassword(password),
    role,
  });
}

/**
 * A live-stream socket signed in with the token and subscribed, so it has something to lose; `closed`
 * is listened for from the start, so a close that comes quickly is not missed.
 */
async function liveWith(token: string) {
  const live = await LiveClient.connect(t.url);
  const closed = live.closed();
  live.send({ type: 'auth', token });
  await live.next('hello', (f) => f.authenticated === true);
  live.send({ type: 'subscribe', robots: ['*'], channels: ['status'] });
  await live.next('subscribed');
  return Object.assign(live, { closedWith: closed });
}

/** How the server closes a socket that presents `headers` on the upgrade. */
function upgradeClosedWith(headers: Record<string, string>): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/v1/stream`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

async function auditRows(action: string) {
  const { rows } = await t.server.db.query<{
    actor_type: string;
    actor_id: string | null;
    actor_name: string | null;
    outcome: string;
    target_id: string | null;
    details: Record<string, unknown> | null;
    user_agent: string | null;
  }>(
    `SELECT actor_type, actor_id, actor_name, outcome, target_id, details, user_agent
       FROM audit_events WHERE action = $1 ORDER BY id`,
    [action],
  );
  return rows;
}

beforeAll(async () => {
  t = await startTestServer();
  users = new UsersRepository(t.server.db);
});
afterAll(async () => {
  await t?.close();
});

describe('POST /api/v1/auth/login: the session cookie', () => {
  it('sets tonypi_session (HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP) holding the bearer token', async () => {
    const signIn = await login('admin', ADMIN_PASSWORD);
    expect(signIn.status).toBe(200);
    const session = signIn.cookies.find((c) => c.startsWith('tonypi_session='));
    expect(session).toBe(`tonypi_session=${signIn.token}; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict`);
    // The device cookie of the login throttle is still set beside it.
    expect(signIn.cookies.some((c) => c.startsWith('tonypi_device='))).toBe(true);
  });

  it('authenticates a GET by the cookie alone', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    const headers = { cookie: `tonypi_device=x; tonypi_session=${token}` };
    const me = await fetch(`${t.url}/api/v1/auth/me`, { headers });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ kind: 'user', user: { username: 'admin' }, role: 'admin' });
    expect((await fetch(`${t.url}/api/v1/robots`, { headers })).status).toBe(200);
  });

  it('authenticates a live-stream upgrade by the cookie (browsers cannot set headers on a WebSocket)', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    // As a browser sends it: the cookie, and the page's own origin (the CSRF check wants one).
    const live = await LiveClient.connect(t.url, { cookie: `tonypi_session=${token}`, origin: t.url });
    expect(await live.next('hello')).toMatchObject({ authenticated: true });
    live.close();
  });

  it('refuses a request with neither header nor cookie, and a forged cookie, with 401 unauthorized', async () => {
    const none = await fetch(`${t.url}/api/v1/auth/me`);
    expect(none.status).toBe(401);
    expect((await errorOf(none)).code).toBe('unauthorized');
    const forged = await fetch(`${t.url}/api/v1/auth/me`, {
      headers: { cookie: 'tonypi_session=abc.def.ghi' },
    });
    expect(forged.status).toBe(401);
  });
});

describe('GET /api/v1/auth/me', () => {
  it('names the user, the role, the session and when it expires', async () => {
    const before = Date.now();
    const { token } = await login('admin', ADMIN_PASSWORD);
    const me = (await (await as(token, '/api/v1/auth/me')).json()) as Record<string, unknown>;
    const sid = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sid;
    expect(me).toMatchObject({
      kind: 'user',
      user: { username: 'admin', role: 'admin', email: expect.any(String), id: expect.any(String) },
      role: 'admin',
      session_id: sid,
    });
    const expires = Date.parse(String(me.expires_at));
    expect(expires).toBeGreaterThanOrEqual(before + 43_200_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 43_200_000);
  });
});

describe('GET /api/v1/auth/session', () => {
  const session = async (headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.url}/api/v1/auth/session`, { headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 200 signed_in: false, with why, to a client without a session (no credential, a forged or ended one)', async () => {
    expect(await session()).toEqual({
      status: 200,
      body: { signed_in: false, reason: expect.stringContaining('Sign in first') },
    });
    expect(await session({ cookie: 'tonypi_session=forged.token.value' })).toMatchObject({
      status: 200,
      body: { signed_in: false },
    });
    const { token } = await login('admin', ADMIN_PASSWORD);
    await as(token, '/api/v1/auth/logout', { method: 'POST' });
    expect(await session({ cookie: `tonypi_session=${token}` })).toEqual({
      status: 200,
      body: { signed_in: false, reason: 'Signed out: sign in again' },
    });
  });

  it('answers what GET /auth/me does, with signed_in: true, to a signed-in browser (cookie) or client (bearer)', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    const me = (await (await as(token, '/api/v1/auth/me')).json()) as Record<string, unknown>;
    expect(await session({ cookie: `tonypi_session=${token}` })).toEqual({
      status: 200,
      body: { signed_in: true, ...me },
    });
    expect((await session({ authorization: `Bearer ${token}` })).body).toEqual({ signed_in: true, ...me });
  });

  it('says signed_in: false for a disabled account', async () => {
    const u = await makeUser('sally-disabled', 'sally-password-123');
    const { token } = await login('sally-disabled', 'sally-password-123');
    const off = await t.api(`/api/v1/users/${u.id}`, { method: 'PATCH', json: { is_active: false } });
    expect(off.status).toBe(200);
    expect((await session({ authorization: `Bearer ${token}` })).body).toMatchObject({ signed_in: false });
  });
});

describe('POST /api/v1/auth/logout', () => {
  it('ends the session: the token is refused at once on REST and its open socket is closed with 4401', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    const other = await login('admin', ADMIN_PASSWORD);
    const live = await liveWith(token);
    const otherLive = await liveWith(other.token);

    const out = await as(token, '/api/v1/auth/logout', { method: 'POST' });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()).toContain(
      'tonypi_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict',
    );

    const after = await as(token, '/api/v1/robots');
    expect(after.status).toBe(401);
    expect(await errorOf(after)).toEqual({ code: 'unauthorized', message: 'Signed out: sign in again' });
    expect(await live.closedWith).toEqual({ code: 4401, reason: 'Session revoked' });
    expect(live.frames.at(-1)).toMatchObject({
      type: 'error',
      code: 'unauthorized',
      message: 'Signed out: sign in again',
    });
    // A new socket with the logged-out token is refused too.
    expect(await upgradeClosedWith({ authorization: `Bearer ${token}` })).toEqual({
      code: 4401,
      reason: 'Session revoked',
    });

    // The same user's other session is untouched.
    expect((await as(other.token, '/api/v1/robots')).status).toBe(200);
    otherLive.send({ type: 'ping', id: 'still-here' });
    expect(await otherLive.next('pong')).toMatchObject({ id: 'still-here' });
    otherLive.close();
  });

  it('signs out a cookie session and refuses that cookie afterwards', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    // As the web app sends it: the cookie and its own origin (a cookie request that changes something needs one).
    const headers = { cookie: `tonypi_session=${token}`, origin: t.url };
    expect((await fetch(`${t.url}/api/v1/auth/logout`, { method: 'POST', headers })).status).toBe(204);
    expect((await fetch(`${t.url}/api/v1/auth/me`, { headers })).status).toBe(401);
  });

  it('refuses a second logout with the same token: 401', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    expect((await as(token, '/api/v1/auth/logout', { method: 'POST' })).status).toBe(204);
    expect((await as(token, '/api/v1/auth/logout', { method: 'POST' })).status).toBe(401);
  });

  it('refuses a signed token whose session the server never opened: 401', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    const { sub } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    const madeUp = t.server.http.jwt.sign({ sub, username: 'admin', role: 'admin', sid: 'no-such-session' });
    const res = await as(madeUp, '/api/v1/robots');
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toBe('Session not found: sign in again');
  });
});

describe('POST /api/v1/auth/password', () => {
  it('changes the password, ends the other sessions (socket too) and keeps the current one', async () => {
    await makeUser('changer', 'first-password-123');
    const current = await login('changer', 'first-password-123');
    const other = await login('changer', 'first-password-123');
    const otherLive = await liveWith(other.token);

    const res = await as(current.token, '/api/v1/auth/password', {
      method: 'POST',
      json: { current_password: 'first-password-123', new_password: 'second-password-456' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sessions_ended: 1 });

    expect((await as(current.token, '/api/v1/auth/me')).status).toBe(200);
    const refused = await as(other.token, '/api/v1/auth/me');
    expect(refused.status).toBe(401);
    expect((await errorOf(refused)).message).toBe('Your password was changed: sign in again');
    expect(await otherLive.closedWith).toEqual({ code: 4401, reason: 'Session revoked' });

    expect((await login('changer', 'first-password-123')).status).toBe(401);
    expect((await login('changer', 'second-password-456')).status).toBe(200);
  });

  it('refuses a wrong current password with 403 invalid_credentials and changes nothing', async () => {
    await makeUser('forgetful', 'forgetful-password-1');
    const { token } = await login('forgetful', 'forgetful-password-1');
    const res = await as(token, '/api/v1/auth/password', {
      method: 'POST',
      json: { current_password: 'not-it-at-all', new_password: 'another-password-2' },
    });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('invalid_credentials');
    expect((await login('forgetful', 'forgetful-password-1')).status).toBe(200);
  });

  it('throttles guesses at the current password like sign-ins: 429 with Retry-After after 5 wrong ones', async () => {
    await makeUser('guessed', 'guessed-password-1');
    const { token } = await login('guessed', 'guessed-password-1');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    // Each failure after the fifth locks for longer (1 s, 2 s …): on a slow machine a lock may pass
    // before the next guess arrives, but one of the next few meets a lock.
    for (let i = 0; i < 10 && retryAfter === null; i++) {
      const res = await as(token, '/api/v1/auth/password', {
        method: 'POST',
        json: { current_password: `guess-${i}`, new_password: 'whatever-password-9' },
      });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(statuses.at(-1)).toBe(429);
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
  });

  it('refuses a new password under 12 characters and a missing current one with 400 validation_error naming each field', async () => {
    const { token } = await login('admin', ADMIN_PASSWORD);
    const res = await as(token, '/api/v1/auth/password', { method: 'POST', json: { new_password: 'short' } });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('validation_error');
    expect(error.message).toMatch(/current_password/);
    expect(error.message).toMatch(/new_password: at least 12 characters/);
  });
});

describe('a disabled user', () => {
  it('gets 403 account_disabled with the right password, 401 invalid_credentials with a wrong one', async () => {
    const user = await makeUser('disabled1', 'disabled-password-1');
    await t.server.db.query('UPDATE users SET is_active = false WHERE id = $1', [user.id]);
    const right = await login('disabled1', 'disabled-password-1');
    expect(right.status).toBe(403);
    expect(right.body.error?.code).toBe('account_disabled');
    expect(right.cookies).toEqual([]);
    const wrong = await login('disabled1', 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error?.code).toBe('invalid_credentials');
  });

  it('loses the sessions it had at once: REST gets 403 account_disabled, open sockets close with 4401', async () => {
    const user = await makeUser('disabled2', 'disabled-password-2');
    const { token } = await login('disabled2', 'disabled-password-2');
    const live = await liveWith(token);
    expect((await as(token, '/api/v1/robots')).status).toBe(200);

    // What user management does on disable: the flag, then the revocation.
    await t.server.db.query('UPDATE users SET is_active = false WHERE id = $1', [user.id]);
    expect(await t.server.service('authSessions').revokeAllForUser(user.id)).toBe(1);

    const res = await as(token, '/api/v1/robots');
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toEqual({ code: 'account_disabled', message: 'Your account is disabled' });
    expect(await live.closedWith).toEqual({ code: 4401, reason: 'Session revoked' });
    const { rows } = await t.server.db.query<{ end_reason: string }>(
      'SELECT end_reason FROM sessions WHERE user_id = $1',
      [user.id],
    );
    expect(rows).toEqual([{ end_reason: 'user_disabled' }]);
  });

  it("refuses a deleted user's token at once", async () => {
    const user = await makeUser('deleted1', 'deleted-password-1');
    const { token } = await login('deleted1', 'deleted-password-1');
    expect((await as(token, '/api/v1/auth/me')).status).toBe(200);
    await t.server.db.query('DELETE FROM users WHERE id = $1', [user.id]);
    await t.server.service('authSessions').revokeAllForUser(user.id);
    expect((await as(token, '/api/v1/auth/me')).status).toBe(401);
  });
});

describe('the audit trail of sessions', () => {
  it('records sign-ins (with the username tried), sign-outs and password changes, and no secret', async () => {
    await makeUser('audited', 'audited-password-1');
    expect((await login('audited', 'wrong-password-x')).status).toBe(401);
    expect((await login('nobody-by-that-name', 'guess-password-y')).status).toBe(401);
    const { token } = await login('audited', 'audited-password-1');
    await as(token, '/api/v1/auth/password', {
      method: 'POST',
      json: { current_password: 'audited-password-1', new_password: 'audited-password-2' },
    });
    await as(token, '/api/v1/auth/password', {
      method: 'POST',
      json: { current_password: 'wrong-current-z', new_password: 'audited-password-3' },
    });
    await as(token, '/api/v1/auth/logout', { method: 'POST' });

    const logins = await auditRows('auth.login');
    expect(logins).toContainEqual(
      expect.objectContaining({
        actor_type: 'anonymous',
        actor_name: 'audited',
        outcome: 'failure',
        details: { username: 'audited', reason: 'invalid_credentials' },
        user_agent: 'auth-sessions-test',
      }),
    );
    expect(logins).toContainEqual(
      expect.objectContaining({ actor_name: 'nobody-by-that-name', outcome: 'failure' }),
    );
    const sid = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sid;
    expect(logins).toContainEqual(
      expect.objectContaining({
        actor_type: 'user',
        actor_name: 'audited',
        outcome: 'success',
        target_id: sid,
      }),
    );
    const changes = await auditRows('auth.password.change');
    expect(changes.filter((r) => r.actor_name === 'audited').map((r) => r.outcome)).toEqual([
      'success',
      'failure',
    ]);
    expect(await auditRows('auth.logout')).toContainEqual(
      expect.objectContaining({
        actor_type: 'user',
        actor_name: 'audited',
        outcome: 'success',
        target_id: sid,
      }),
    );

    const { rows } = await t.server.db.query<{ row: string }>(
      'SELECT row_to_json(a)::text AS row FROM audit_events a',
    );
    const all = rows.map((r) => r.row).join('\n');
    for (const secret of [
      'wrong-password-x',
      'guess-password-y',
      'audited-password-1',
      'audited-password-2',
      'wrong-current-z',
      'audited-password-3',
      ADMIN_PASSWORD,
      token,
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
