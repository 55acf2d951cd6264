import { LIVE_CLOSE } from '@tonypi/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveClient, startTestServer, type TestServer } from './helpers/test-server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Created {
  user: { id: string; must_change_password: boolean };
  temporary_password?: string;
}

async function createUser(json: Record<string, unknown>): Promise<Created> {
  const res = await t.api('/api/v1/users', { method: 'POST', json });
  expect(res.status, JSON.stringify(json)).toBe(201);
  return res.json();
}

async function login(username: string, password: string) {
  const res = await t.api('/api/v1/auth/login', {
    method: 'POST',
    anonymous: true,
    json: { username, password },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; must_change_password: boolean; user: { id: string } };
}

const as = (token: string, pathname: string, init: RequestInit & { json?: unknown } = {}) =>
  t.api(pathname, { ...init, anonymous: true, headers: { authorization: `Bearer ${token}` } });

async function expectPasswordChangeRequired(res: Response): Promise<void> {
  expect(res.status).toBe(403);
  const { error } = await res.json();
  expect(error.code).toBe('password_change_required');
  expect(error.message).toContain('POST /api/v1/auth/password');
}

describe('a user with a temporary password', () => {
  it('signs in, may call only public and self routes, and everything its role allows once it set its own', async () => {
    const { temporary_password } = await createUser({
      username: 'tara',
      email: 'tara@example.com',
      role: 'viewer',
    });
    const session = await login('tara', temporary_password!);
    expect(session.must_change_password).toBe(true);
    const token = session.access_token;

    await expectPasswordChangeRequired(await as(token, '/api/v1/robots'));
    // Ahead of the role check: the viewer is told what to do first, not that it may never manage users.
    await expectPasswordChangeRequired(await as(token, '/api/v1/users'));
    const me = await as(token, '/api/v1/auth/me');
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ kind: 'user', role: 'viewer', must_change_password: true });
    expect((await t.api('/api/v1/health', { anonymous: true })).status).toBe(200);

    const change = await as(token, '/api/v1/auth/password', {
      method: 'POST',
      json: { current_password: temporary_password, new_password: 'tara-own-long-password' },
    });
    expect(change.status).toBe(200);

    // The same session, at once: no new sign-in, no wait for the session cache.
    expect((await as(token, '/api/v1/robots')).status).toBe(200);
    expect(await (await as(token, '/api/v1/auth/me')).json()).toMatchObject({ must_change_password: false });
    // Still only what a viewer may do.
    expect((await (await as(token, '/api/v1/users')).json()).error.code).toBe('forbidden');
    expect((await login('tara', 'tara-own-long-password')).must_change_password).toBe(false);
  });

  it('may sign out', async () => {
    const { temporary_password } = await createUser({
      username: 'otto',
      email: 'otto@example.com',
      role: 'operator',
    });
    const { access_token } = await login('otto', temporary_password!);
    expect((await as(access_token, '/api/v1/auth/logout', { method: 'POST' })).status).toBe(204);
    expect((await as(access_token, '/api/v1/auth/me')).status).toBe(401);
  });

  it('is refused by the live stream with an error frame and close code 4403, and let in after the change', async () => {
    const { temporary_password } = await createUser({
      username: 'lena',
      email: 'lena@example.com',
      role: 'viewer',
    });
    const { access_token } = await login('lena', temporary_password!);

    const byHeader = await LiveClient.connect(t.url, { authorization: `Bearer ${access_token}` });
    expect(await byHeader.closed()).toEqual(LIVE_CLOSE.password_change_required);
    expect(byHeader.of('error')).toEqual([
      expect.objectContaining({ type: 'error', code: 'password_change_required' }),
    ]);
    expect(byHeader.of('hello')).toEqual([]);

    const byMessage = await LiveClient.connect(t.url);
    await byMessage.next('hello');
    byMessage.send({ type: 'auth', token: access_token });
    expect(await byMessage.closed()).toEqual(LIVE_CLOSE.password_change_required);
    expect(byMessage.of('error').map((f) => f.code)).toEqual(['password_change_required']);

    await as(access_token, '/api/v1/auth/password', {
      method: 'POST',
      json: { current_password: temporary_password, new_password: 'lena-own-long-password' },
    });
    const after = await LiveClient.connect(t.url, { authorization: `Bearer ${access_token}` });
    expect(await after.next('hello')).toMatchObject({ authenticated: true });
    after.close();
  });

  it('is held to it again after an admin reset without a password, on new sessions', async () => {
    const { user } = await createUser({
      username: 'rene',
      email: 'rene@example.com',
      role: 'operator',
      password: 'rene-first-long-password',
    });
    const before = await login('rene', 'rene-first-long-password');
    expect(before.must_change_password).toBe(false);

    const reset = await t.api(`/api/v1/users/${user.id}/reset-password`, { method: 'POST', json: {} });
    expect(reset.status).toBe(200);
    const { temporary_password } = await reset.json();
    // The reset ended the session that was open.
    expect((await as(before.access_token, '/api/v1/robots')).status).toBe(401);

    const after = await login('rene', temporary_password);
    expect(after.must_change_password).toBe(true);
    await expectPasswordChangeRequired(await as(after.access_token, '/api/v1/robots'));
  });

  it('is held to it when an admin gives a password and asks for a change', async () => {
    await createUser({
      username: 'gina',
      email: 'gina@example.com',
      role: 'viewer',
      password: 'gina-given-long-password',
      must_change_password: true,
    });
    const { access_token, must_change_password } = await login('gina', 'gina-given-long-password');
    expect(must_change_password).toBe(true);
    await expectPasswordChangeRequired(await as(access_token, '/api/v1/robots'));
  });
});

describe('a user created with a password', () => {
  it('signs in without must_change_password and uses its role at once', async () => {
    await createUser({
      username: 'paul',
      email: 'paul@example.com',
      role: 'viewer',
      password: 'paul-long-password',
    });
    const { access_token, must_change_password } = await login('paul', 'paul-long-password');
    expect(must_change_password).toBe(false);
    expect((await as(access_token, '/api/v1/robots')).status).toBe(200);
    expect(await (await as(access_token, '/api/v1/auth/me')).json()).toMatchObject({
      must_change_password: false,
    });
  });
});
