import type { AddressInfo } from 'node:net';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  type FakeSshServer,
  newKeyPair,
  SSH_PASSWORD,
  SSH_USER,
  startFakeSshServer,
} from './helpers/ssh-server';
import { connected as connectedOn, openTerminal as openTerminalOn, Term } from './helpers/terminal-client';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
let sshd: FakeSshServer;
const mqttClients: MqttClient[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  sshd = await startFakeSshServer();
  t = await startTestServer({ SSH_CONNECT_TIMEOUT_S: '2' });
});
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.terminate();
});
afterAll(async () => {
  for (const c of mqttClients.splice(0)) await c.endAsync(true);
  await t?.close();
  await sshd?.close();
});

async function knownRobot(id: string, server: TestServer = t): Promise<void> {
  const c = await connectMqtt(server.mqttUrl, { clientId: id });
  mqttClients.push(c);
  await c.publishAsync(
    `tonypi/${id}/status`,
    JSON.stringify({ ts: Date.now(), status: 'online', ip_address: '127.0.0.1' }),
    {
      qos: 1,
    },
  );
  await waitFor(async () => (await server.api(`/api/v1/robots/${id}`)).status === 200, 5000, `${id} known`);
}

const putSsh = (id: string, body: unknown, server: TestServer = t, token?: string) =>
  server.api(`/api/v1/robots/${id}/ssh`, {
    method: 'PUT',
    json: body,
    ...(token ? { anonymous: true, headers: { authorization: `Bearer ${token}` } } : {}),
  });

const passwordSettings = (extra: Record<string, unknown> = {}) => ({
  host: '127.0.0.1',
  port: sshd.port,
  username: SSH_USER,
  password: SSH_PASSWORD,
  ...extra,
});

async function userToken(
  role: 'operator' | 'viewer',
  username: string,
  server: TestServer = t,
): Promise<string> {
  const password = `${username}-long-password`;
  const created = await server.api('/api/v1/users', {
    method: 'POST',
    json: { username, email: `${username}@example.test`, role, password },
  });
  expect(created.status).toBe(201);
  const login = await server.api('/api/v1/auth/login', {
    method: 'POST',
    anonymous: true,
    json: { username, password },
  });
  return (await login.json()).access_token;
}

const openTerminal = (id: string, opts: { token?: string; query?: string; server?: TestServer } = {}) =>
  openTerminalOn(id, { ...opts, server: opts.server ?? t, sockets });
const connected = (id: string, opts: { token?: string; query?: string; server?: TestServer } = {}) =>
  connectedOn(id, { ...opts, server: opts.server ?? t, sockets });

describe('SSH settings', () => {
  it('stores the settings with the secrets write-only: the answer says what is set, never the secret', async () => {
    await knownRobot('ssh_bot_settings');
    const res = await putSsh('ssh_bot_settings', passwordSettings({ host: null }));
    expect(res.status, await res.clone().text()).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(SSH_PASSWORD);
    expect(JSON.parse(text)).toMatchObject({
      robot_id: 'ssh_bot_settings',
      configured: true,
      host: null,
      effective_host: '127.0.0.1', // the robot's reported IP
      port: sshd.port,
      username: SSH_USER,
      has_password: true,
      has_private_key: false,
      transcript: false,
      host_key: null,
      updated_by: 'admin',
    });
    const got = await t.api('/api/v1/robots/ssh_bot_settings/ssh');
    expect(got.status).toBe(200);
    expect(await got.text()).not.toContain(SSH_PASSWORD);

    // A change without the password keeps the stored one; a private key is checked and its type shown.
    const withKey = await putSsh('ssh_bot_settings', {
      host: '127.0.0.1',
      port: sshd.port,
      username: SSH_USER,
      private_key: sshd.userKey.private,
    });
    expect(await withKey.json()).toMatchObject({
      has_password: true,
      has_private_key: true,
      private_key_type: 'ssh-ed25519',
    });
    // null removes a secret; removing the last one is refused.
    const noPassword = await putSsh('ssh_bot_settings', {
      port: sshd.port,
      username: SSH_USER,
      password: null,
    });
    expect(await noPassword.json()).toMatchObject({ has_password: false, has_private_key: true });
    const none = await putSsh('ssh_bot_settings', { port: sshd.port, username: SSH_USER, private_key: null });
    expect(none.status).toBe(400);
    expect((await none.json()).error.details).toEqual({
      fields: [{ field: 'body.password', message: 'set a password or a private_key (or both)' }],
    });

    // The audit trail names the change, never the secret.
    const audit = await (await t.api('/api/v1/audit?action=robot.ssh.update')).text();
    expect(audit).toContain('ssh_bot_settings');
    expect(audit).not.toContain(SSH_PASSWORD);
    expect(audit).not.toContain('PRIVATE KEY');
  });

  it('refuses bad settings, each with the field and why', async () => {
    await knownRobot('ssh_bot_bad');
    const cases: Array<[unknown, string]> = [
      [{ username: SSH_USER, password: 'x', host: 'ssh://robot' }, 'body.host'],
      [{ username: SSH_USER, password: 'x', host: '-oProxyCommand=x' }, 'body.host'],
      [{ username: 'pi; rm -rf /', password: 'x' }, 'body.username'],
      [{ username: SSH_USER, password: 'x', port: 70000 }, 'body.port'],
      [{ username: SSH_USER, private_key: 'not a key' }, 'body.private_key'],
      [{ username: SSH_USER, password: 'x', shell: '/bin/sh' }, 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await putSsh('ssh_bot_bad', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()).error;
      expect(err.code).toBe('validation_error');
      expect(JSON.stringify(err.details), JSON.stringify(body)).toContain(field);
    }
    // A key with a passphrase needs the right one.
    const locked = newKeyPair({
      passphrase: 'open sesame',
      cipher: 'aes256-ctr',
      rounds: 16,
    });
    const wrong = await putSsh('ssh_bot_bad', {
      username: SSH_USER,
      private_key: locked.private,
      passphrase: 'nope',
    });
    expect(wrong.status).toBe(400);
    const right = await putSsh('ssh_bot_bad', {
      username: SSH_USER,
      private_key: locked.private,
      passphrase: 'open sesame',
    });
    expect(right.status).toBe(200);

    expect((await putSsh('no_such_robot', passwordSettings())).status).toBe(404);
    const missing = await t.api('/api/v1/robots/ssh_bot_none/ssh');
    expect(missing.status).toBe(404);
    await knownRobot('ssh_bot_none');
    const unset = await t.api('/api/v1/robots/ssh_bot_none/ssh');
    expect(unset.status).toBe(200);
    expect(await unset.json()).toEqual({
      robot_id: 'ssh_bot_none',
      configured: false,
      effective_host: '127.0.0.1',
    });
  });

  it('lets operators set and use SSH, viewers neither, and only admins re-trust a host key', async () => {
    await knownRobot('ssh_bot_roles');
    const viewer = await userToken('viewer', 'ssh_viewer');
    const operator = await userToken('operator', 'ssh_operator');
    expect((await putSsh('ssh_bot_roles', passwordSettings(), t, viewer)).status).toBe(403);
    expect((await putSsh('ssh_bot_roles', passwordSettings(), t, operator)).status).toBe(200);
    const refused = await openTerminal('ssh_bot_roles', { token: viewer });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const retrust = await t.api('/api/v1/robots/ssh_bot_roles/ssh/retrust', {
      method: 'POST',
      anonymous: true,
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(retrust.status).toBe(403);
    const sessions = await t.api('/api/v1/robots/ssh_bot_roles/ssh/sessions', {
      anonymous: true,
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(sessions.status).toBe(403);
  });
});

describe('WS /api/v1/robots/{id}/terminal', () => {
  it('refuses before the upgrade: unknown robot 404, no settings 409 saying what to set, no sign-in 401, plain GET 426', async () => {
    expect(await openTerminal('ghost_robot')).toMatchObject({
      status: 404,
      body: { error: { code: 'robot_not_found' } },
    });
    await knownRobot('ssh_bot_unset');
    const unset = await openTerminal('ssh_bot_unset');
    expect(unset).toMatchObject({ status: 409, body: { error: { code: 'ssh_not_configured' } } });
    expect((unset as { body: { error: { message: string } } }).body.error.message).toContain(
      'PUT /api/v1/robots/ssh_bot_unset/ssh',
    );
    expect(await openTerminal('ssh_bot_unset', { token: 'not-a-token' })).toMatchObject({ status: 401 });
    const plain = await t.api('/api/v1/robots/ssh_bot_unset/terminal');
    expect(plain.status).toBe(426);
  });

  it('opens a shell: host key pinned on first use, input, resize, UTF-8 split across chunks, exit; recorded and audited', async () => {
    await knownRobot('ssh_bot_shell');
    expect((await putSsh('ssh_bot_shell', passwordSettings())).status).toBe(200);
    const term = await connected('ssh_bot_shell', { query: '?cols=120&rows=40' });
    const status = term.frames.find((f) => f.type === 'status' && f.state === 'connected');
    expect(status).toMatchObject({
      host: '127.0.0.1',
      port: sshd.port,
      first_use: true,
      host_key: { type: 'ssh-ed25519', fingerprint: sshd.fingerprint },
    });
    await term.waitOutput('welcome to the fake robot');
    term.type('size\r');
    await term.waitOutput('120x40');
    term.send({ type: 'resize', cols: 100, rows: 30 });
    term.type('size\r');
    await term.waitOutput('100x30');
    term.type('utf8\r');
    await term.waitOutput('héllo → ✓');
    expect(term.output).not.toContain('\uFFFD');

    // A bad frame is answered and the terminal stays open.
    term.send('not json');
    term.send({ type: 'resize', cols: 0, rows: 99999 });
    term.send({ type: 'run', command: 'ls' });
    await waitFor(
      () => term.frames.filter((f) => f.type === 'error').length === 3,
      5000,
      'three bad_frame errors',
    );
    expect(term.frames.filter((f) => f.type === 'error').every((f) => f.code === 'bad_frame')).toBe(true);
    term.type('still here\r');
    await term.waitOutput('still here');

    term.type('exit\r');
    const closed = await term.next('status', (f) => f.state === 'closed');
    expect(closed.reason).toBe('exited');
    expect((await term.closed()).code).toBe(1000);

    const settings = await (await t.api('/api/v1/robots/ssh_bot_shell/ssh')).json();
    expect(settings.host_key).toMatchObject({ type: 'ssh-ed25519', fingerprint: sshd.fingerprint });
    const sessions = await waitFor(
      async () => {
        const list = (await (await t.api('/api/v1/robots/ssh_bot_shell/ssh/sessions')).json()).items;
        return list[0]?.ended_at ? list : undefined;
      },
      5000,
      'session ended in the record',
    );
    expect(sessions[0]).toMatchObject({
      robot_id: 'ssh_bot_shell',
      username: 'admin',
      remote_addr: '127.0.0.1',
      host: `127.0.0.1:${sshd.port}`,
      end_reason: 'exited',
      error_code: null,
      has_transcript: false,
    });
    expect(sessions[0].bytes_in).toBeGreaterThan(20);
    expect(sessions[0].bytes_out).toBeGreaterThan(sessions[0].bytes_in);
    const audit = await (await t.api('/api/v1/audit?action=robot.terminal.open')).json();
    expect(
      audit.items.some(
        (e: { target: { id: string }; outcome: string }) =>
          e.target?.id === 'ssh_bot_shell' && e.outcome === 'success',
      ),
    ).toBe(true);
  });

  it('signs in with a private key, and relays a flood of output without losing any', async () => {
    await knownRobot('ssh_bot_key');
    await putSsh('ssh_bot_key', {
      host: '127.0.0.1',
      port: sshd.port,
      username: SSH_USER,
      private_key: sshd.userKey.private,
    });
    const term = await connected('ssh_bot_key');
    expect(term.frames.find((f) => f.state === 'connected')).toBeTruthy();
    term.type('flood 4096\r');
    await term.waitOutput('flood done', 20_000);
    expect(term.output.split('x'.repeat(1023)).length - 1).toBe(4096);
  });

  it('refuses a changed host key with both fingerprints, until an admin re-trusts it', async () => {
    const separate = await startFakeSshServer();
    try {
      await knownRobot('ssh_bot_rekey');
      await putSsh('ssh_bot_rekey', { ...passwordSettings(), port: separate.port });
      const first = await connected('ssh_bot_rekey');
      first.ws.close();
      const pinned = separate.fingerprint;
      await separate.rotateHostKey();

      const term = await openTerminal('ssh_bot_rekey');
      if (!(term instanceof Term)) throw new Error('refused');
      const err = await term.next('error');
      expect(err.code).toBe('ssh_host_key_mismatch');
      expect(err.message).toContain(pinned);
      expect(err.message).toContain(separate.fingerprint);
      expect(err.message).toContain('re-trust');
      expect(term.output).toBe(''); // nothing from the impostor reached the browser
      const test = await t.api('/api/v1/robots/ssh_bot_rekey/ssh/test', { method: 'POST' });
      expect(test.status).toBe(502);
      expect((await test.json()).error).toMatchObject({
        code: 'ssh_host_key_mismatch',
        details: { presented: { fingerprint: separate.fingerprint } },
      });

      const retrust = await t.api('/api/v1/robots/ssh_bot_rekey/ssh/retrust', { method: 'POST' });
      expect(retrust.status).toBe(200);
      expect((await retrust.json()).host_key).toBeNull();
      const again = await connected('ssh_bot_rekey');
      expect(again.frames.find((f) => f.state === 'connected')).toMatchObject({
        first_use: true,
        host_key: { fingerprint: separate.fingerprint },
      });
    } finally {
      await separate.close();
    }
  });

  it('tells a wrong password, a refused port and a silent host apart, never hanging', async () => {
    await knownRobot('ssh_bot_fail');
    const failure = async (settings: Record<string, unknown>) => {
      expect((await putSsh('ssh_bot_fail', { ...passwordSettings(), ...settings })).status).toBe(200);
      await t.api('/api/v1/robots/ssh_bot_fail/ssh/retrust', { method: 'POST' });
      const term = await openTerminal('ssh_bot_fail');
      if (!(term instanceof Term)) throw new Error('refused');
      const err = await term.next('error', () => true, 8000);
      await term.closed(8000);
      const test = await t.api('/api/v1/robots/ssh_bot_fail/ssh/test', { method: 'POST' });
      return { err, test: { status: test.status, body: await test.json() } };
    };
    const badLogin = await failure({ password: 'wrong-password' });
    expect(badLogin.err).toMatchObject({ code: 'ssh_auth_failed' });
    expect(badLogin.err.message).toContain('refused the login');
    expect(badLogin.test).toMatchObject({ status: 502, body: { error: { code: 'ssh_auth_failed' } } });

    const closedPort = await freePort();
    const refused = await failure({ port: closedPort });
    expect(refused.err).toMatchObject({ code: 'ssh_connection_refused' });
    expect(refused.test.status).toBe(502);

    const silent = await silentServer();
    try {
      const timeout = await failure({ port: silent.port });
      expect(timeout.err).toMatchObject({ code: 'ssh_timeout' });
      expect(timeout.test).toMatchObject({ status: 504, body: { error: { code: 'ssh_timeout' } } });
    } finally {
      await silent.close();
    }
    const sessions = (await (await t.api('/api/v1/robots/ssh_bot_fail/ssh/sessions')).json()).items;
    expect(sessions.map((s: { error_code: string }) => s.error_code)).toEqual(
      expect.arrayContaining(['ssh_auth_failed', 'ssh_connection_refused', 'ssh_timeout']),
    );

    const ok = await t.api('/api/v1/robots/ssh_bot_fail/ssh', { method: 'PUT', json: passwordSettings() });
    expect(ok.status).toBe(200);
    const test = await t.api('/api/v1/robots/ssh_bot_fail/ssh/test', { method: 'POST' });
    expect(await test.json()).toMatchObject({
      ok: true,
      first_use: true,
      host_key: { fingerprint: sshd.fingerprint },
    });
  });

  it('keeps a transcript when the settings ask for one', async () => {
    await knownRobot('ssh_bot_transcript');
    await putSsh('ssh_bot_transcript', passwordSettings({ transcript: true }));
    const term = await connected('ssh_bot_transcript');
    term.type('recorded line\r');
    await term.waitOutput('recorded line');
    term.type('exit\r');
    await term.closed();
    const session = await waitFor(
      async () => {
        const list = (await (await t.api('/api/v1/robots/ssh_bot_transcript/ssh/sessions')).json()).items;
        return list[0]?.has_transcript ? list[0] : undefined;
      },
      5000,
      'transcript kept',
    );
    const transcript = await t.api(`/api/v1/ssh/sessions/${session.id}/transcript`);
    expect(transcript.status).toBe(200);
    expect(transcript.headers.get('content-type')).toContain('text/plain');
    expect(await transcript.text()).toContain('recorded line');
    expect((await t.api('/api/v1/ssh/sessions/00000000-0000-4000-8000-000000000000/transcript')).status).toBe(
      404,
    );
    expect((await t.api('/api/v1/ssh/sessions/not-a-uuid/transcript')).status).toBe(400);
  });

  it('closes the terminal (4401) when its user signs out', async () => {
    await knownRobot('ssh_bot_logout');
    await putSsh('ssh_bot_logout', passwordSettings());
    const operator = await userToken('operator', 'ssh_logout_operator');
    const term = await connected('ssh_bot_logout', { token: operator });
    const out = await t.api('/api/v1/auth/logout', {
      method: 'POST',
      anonymous: true,
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(out.status).toBeLessThan(300);
    const err = await term.next('error');
    expect(err.code).toBe('unauthorized');
    expect((await term.closed()).code).toBe(4401);
  });
});

describe('terminal limits', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ SSH_IDLE_TIMEOUT_S: '1', SSH_MAX_SESSIONS_PER_USER: '2' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('allows SSH_MAX_SESSIONS_PER_USER terminals per user (429 past it) and closes an idle one', async () => {
    await knownRobot('ssh_bot_limits', s);
    await putSsh('ssh_bot_limits', passwordSettings(), s);
    const a = await connected('ssh_bot_limits', { server: s });
    const b = await connected('ssh_bot_limits', { server: s });
    const third = await openTerminal('ssh_bot_limits', { server: s });
    expect(third).toMatchObject({ status: 429, body: { error: { code: 'ssh_session_limit' } } });
    // Kept busy, a stays; b, idle, is closed after 1 s.
    const keepBusy = setInterval(() => a.type('.'), 200);
    try {
      const idle = await b.next('status', (f) => f.state === 'closed', 5000);
      expect(idle.reason).toBe('idle_timeout');
      expect(a.closedWith).toBeUndefined();
    } finally {
      clearInterval(keepBusy);
    }
    // b's place is free again.
    await waitFor(
      async () => (await openTerminal('ssh_bot_limits', { server: s })) instanceof Term,
      5000,
      'a place free',
    );
  });
});

describe('terminals at shutdown', () => {
  it('ends each open terminal with a last frame saying why, and records it before the database closes', async () => {
    const dir = await (await import('node:fs/promises')).mkdtemp(
      `${(await import('node:os')).tmpdir()}/tonypi-term-shutdown-`,
    );
    const s = await startTestServer({}, { keepDataDir: dir });
    try {
      await knownRobot('ssh_bot_shutdown', s);
      await putSsh('ssh_bot_shutdown', passwordSettings(), s);
      const term = await connected('ssh_bot_shutdown', { server: s });
      term.type('bytes before the end\r');
      await term.waitOutput('bytes before the end');
      await s.close();
      expect(await term.next('status', (f) => f.state === 'closed')).toMatchObject({
        reason: 'server_shutdown',
        message: 'The server is shutting down',
      });
      // Started again on the same data: the session's record was completed.
      const again = await startTestServer({}, { keepDataDir: dir });
      try {
        const list = (await (await again.api('/api/v1/robots/ssh_bot_shutdown/ssh/sessions')).json()).items;
        expect(list[0]).toMatchObject({ end_reason: 'server_shutdown' });
        expect(list[0].ended_at).not.toBeNull();
        expect(list[0].bytes_in).toBeGreaterThan(0);
      } finally {
        await again.close();
      }
    } finally {
      await (await import('node:fs/promises')).rm(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Accepts TCP connections and never says a word (a hung sshd). */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const held = new Set<Socket>();
  const srv: NetServer = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of held) s.destroy();
        srv.close(() => resolve());
      }),
  };
}
