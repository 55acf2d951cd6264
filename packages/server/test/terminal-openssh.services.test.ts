/**
 * The terminal against Debian's OpenSSH server (`openssh-server`, which `.ci/run` installs): sshd started here
 * on 127.0.0.1 on a free port with a temp host key and a temp authorized user key, a real login shell, then
 * a new host key as a reinstalled robot would present.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { newKeyPair } from './helpers/ssh-server';
import { connected, openTerminal, Term } from './helpers/terminal-client';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

const SSHD = '/usr/sbin/sshd';

let t: TestServer;
let dir: string;
let sshd: ChildProcess | undefined;
let port: number;
let fingerprint: string;
const sockets: WebSocket[] = [];
let robot: MqttClient | undefined;
const user = userInfo().username;
const userKey = newKeyPair();

function fingerprintOf(publicKey: string): string {
  const parsed = ssh2.utils.parseKey(publicKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error) throw key;
  return `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** sshd in the foreground with a new host key; resolves once it accepts connections. */
async function startSshd(): Promise<void> {
  const hostKey = newKeyPair();
  await writeFile(path.join(dir, 'host_ed25519'), hostKey.private, { mode: 0o600 });
  await chmod(path.join(dir, 'host_ed25519'), 0o600);
  fingerprint = fingerprintOf(hostKey.public);
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(dir, 'host_ed25519')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'PrintMotd no',
    'LogLevel ERROR',
  ].join('\n');
  await writeFile(path.join(dir, 'sshd_config'), `${config}\n`);
  sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  sshd.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (sshd?.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
        const probe = createServer();
        probe.once('error', () => resolve(true)); // the port is taken: sshd listens
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
      }),
    10_000,
    'sshd listening',
  );
}

async function stopSshd(): Promise<void> {
  if (!sshd || sshd.exitCode !== null) return;
  const exited = new Promise((resolve) => sshd?.once('exit', resolve));
  sshd.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  if (!existsSync(SSHD))
    throw new Error(`${SSHD} is missing: apt-get install -y openssh-server (.ci/run does)`);
  // Privilege separation needs this directory when sshd runs as root.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  dir = await mkdtemp(path.join(tmpdir(), 'tonypi-sshd-'));
  await writeFile(path.join(dir, 'authorized_keys'), `${userKey.public}\n`, { mode: 0o600 });
  port = await freePort();
  await startSshd();
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
    json: { port, username: user, private_key: userKey.private },
  });
  expect(put.status, await put.clone().text()).toBe(200);
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await robot?.endAsync(true);
  await t?.close();
  await stopSshd();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the terminal against OpenSSH', () => {
  it('runs a real shell: commands, the PTY size after a resize, UTF-8, exit', async () => {
    const term = await connected('openssh_bot', { server: t, sockets, query: '?cols=90&rows=20' });
    expect(term.frames.find((f) => f.type === 'status' && f.state === 'connected')).toMatchObject({
      first_use: true,
      host_key: { type: 'ssh-ed25519', fingerprint },
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
    const pinned = fingerprint;
    await stopSshd();
    await startSshd();
    expect(fingerprint).not.toBe(pinned);
    const term = await openTerminal('openssh_bot', { server: t, sockets });
    if (!(term instanceof Term)) throw new Error('refused');
    const err = await term.next('error', () => true, 10_000);
    expect(err.code).toBe('ssh_host_key_mismatch');
    expect(err.message).toContain(fingerprint);

    expect((await t.api('/api/v1/robots/openssh_bot/ssh/retrust', { method: 'POST' })).status).toBe(200);
    const test = await t.api('/api/v1/robots/openssh_bot/ssh/test', { method: 'POST' });
    expect(await test.json()).toMatchObject({ ok: true, first_use: true, host_key: { fingerprint } });
  });

  it('tells a key sshd does not accept apart: ssh_auth_failed', async () => {
    const other = newKeyPair();
    await t.api('/api/v1/robots/openssh_bot/ssh', {
      method: 'PUT',
      json: { port, username: user, private_key: other.private },
    });
    const test = await t.api('/api/v1/robots/openssh_bot/ssh/test', { method: 'POST' });
    expect(test.status).toBe(502);
    expect((await test.json()).error.code).toBe('ssh_auth_failed');
  });
});
