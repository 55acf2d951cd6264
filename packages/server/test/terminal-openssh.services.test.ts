/**
 * The terminal against Debian's OpenSSH server (`openssh-server`, which `.ci/run` installs): sshd started here
 * on 127.0.0.1 on a free port with a temp host key and a temp authorized user key, a real login shell, then
 * a new host key as a reinstalled robot would present.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { type OpenSshServer, startOpenSsh } from './helpers/openssh';
import { newKeyPair } from './helpers/ssh-server';
import { connected, openTerminal, Term } from './helpers/terminal-client';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
let sshd: OpenSshServer;
const sockets: WebSocket[] = [];
let robot: MqttClient | undefined;

beforeAll(async () => {
  sshd = await startOpenSsh();
  t = await startTestServer();
  robot = await connectMqtt(t.mqttUrl, { clientId: 'openssh_bot' });
  await robot.publishAsync(
    'tonypi/openssh_bot/status',
    JSON.stringify({ ts: Date.now(), status: 'online', ip_address: '127.0.0.1' }),
    { qos: 1 },
  );
  await waitFor(async () => (await t.api('/api/v1/robots/openssh_bot')).status === 200, 5000, 'robot known');
  const put = await t.api('/api/v1/robots/openssh_bot/ssh', {
    method: 'PUT',
    json: { port: sshd.port, username: sshd.user, private_key: sshd.userKey.private },
  });
  expect(put.status, await put.clone().text()).toBe(200);
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await robot?.endAsync(true);
  await t?.close();
  await sshd?.close();
});

describe('the terminal against OpenSSH', () => {
  it('runs a real shell: commands, the PTY size after a resize, UTF-8, exit', async () => {
    const term = await connected('openssh_bot', { server: t, sockets, query: '?cols=90&rows=20' });
    expect(term.frames.find((f) => f.type === 'status' && f.state === 'connected')).toMatchObject({
      first_use: true,
      host_key: { type: 'ssh-ed25519', fingerprint: sshd.fingerprint },
    });
    term.type('echo "answer=$((6*7))"\r');
    await term.waitOutput('answer=42', 10_000);
    term.type('stty size\r');
    await term.waitOutput('20 90', 10_000);
    term.send({ type: 'resize', cols: 132, rows: 43 });
    term.type('stty size\r');
    await term.waitOutput('43 132', 10_000);
    term.type("printf 'caf\\303\\251 \\342\\234\\223\\n'\r");
    await term.waitOutput('café ✓', 10_000);
    term.type('exit\r');
    const closed = await term.next('status', (f) => f.state === 'closed', 10_000);
    expect(closed.reason).toBe('exited');
  });

  it('refuses a reinstalled robot’s new host key until an admin re-trusts it', async () => {
    const pinned = sshd.fingerprint;
    await sshd.rekey();
    expect(sshd.fingerprint).not.toBe(pinned);
    const term = await openTerminal('openssh_bot', { server: t, sockets });
    if (!(term instanceof Term)) throw new Error('refused');
    const err = await term.next('error', () => true, 10_000);
    expect(err.code).toBe('ssh_host_key_mismatch');
    expect(err.message).toContain(sshd.fingerprint);

    expect((await t.api('/api/v1/robots/openssh_bot/ssh/retrust', { method: 'POST' })).status).toBe(200);
    const test = await t.api('/api/v1/robots/openssh_bot/ssh/test', { method: 'POST' });
    expect(await test.json()).toMatchObject({
      ok: true,
      first_use: true,
      host_key: { fingerprint: sshd.fingerprint },
    });
  });

  it('tells a key sshd does not accept apart: ssh_auth_failed', async () => {
    const other = newKeyPair();
    await t.api('/api/v1/robots/openssh_bot/ssh', {
      method: 'PUT',
      json: { port: sshd.port, username: sshd.user, private_key: other.private },
    });
    const test = await t.api('/api/v1/robots/openssh_bot/ssh/test', { method: 'POST' });
    expect(test.status).toBe(502);
    expect((await test.json()).error.code).toBe('ssh_auth_failed');
  });
});
