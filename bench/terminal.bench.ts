/**
 * `npm run bench:terminal -- [--keys 2000] [--sshd openssh|ssh2] [--sessions 1] [--client browser|node]`
 *
 * Keystroke → echo through the browser's WebSocket, the server's proxy and SSH on loopback (issue #11 §1):
 * the real server (embedded engines) runs in this process; the SSH server is Debian's OpenSSH started here on a
 * free port with a temp host key (`--sshd openssh`, the default: a real PTY and bash's line editor echo each
 * key) or an in-process ssh2 server that echoes (`--sshd ssh2`). `sessions` terminals are open at once, each
 * typing one key at a time and waiting for its echo before the next. The client is Debian's Chromium (a
 * WebSocket in a signed-in page, timed with the page's clock: `--client browser`, the default) or Node's `ws`.
 *
 * Prints p50/p90/p99/max of the round trip. Figures only: never a verdict.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { startServer } from '../packages/server/src/app';
import { loadConfig } from '../packages/server/src/config';
import { createLogger } from '../packages/server/src/logger';
import { startOpenSsh } from '../packages/server/test/helpers/openssh';
import { SSH_PASSWORD, SSH_USER, startFakeSshServer } from '../packages/server/test/helpers/ssh-server';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD, benchLogin } from './bench-fixtures';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '2000' },
    sshd: { type: 'string', default: 'openssh' },
    sessions: { type: 'string', default: '1' },
    client: { type: 'string', default: 'browser' },
  },
});
const keys = Number(values.keys);
const sessions = Number(values.sessions);

const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-bench-terminal-'));
const config = loadConfig({
  ...loopbackEnv(dataDir, BENCH_PASSWORD),
  LOG_LEVEL: 'warn',
  SSH_MAX_SESSIONS_PER_USER: '100',
});
const server = await startServer(config, { logger: createLogger('warn') });
const token = await benchLogin(server.url);
const api = (p: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${p}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });

const openssh = values.sshd === 'openssh' ? await startOpenSsh() : undefined;
const fake = openssh ? undefined : await startFakeSshServer();
const settings = openssh
  ? { host: '127.0.0.1', port: openssh.port, username: openssh.user, private_key: openssh.userKey.private }
  : { host: '127.0.0.1', port: fake?.port, username: SSH_USER, password: SSH_PASSWORD };

// A robot the server knows, then its SSH settings.
const robot = await mqtt.connectAsync(server.mqttUrl, { clientId: 'term_bench' });
await robot.publishAsync('tonypi/term_bench/status', JSON.stringify({ ts: Date.now(), status: 'online' }), {
  qos: 1,
});
for (let i = 0; i < 100 && (await api('/robots/term_bench')).status !== 200; i++) await sleep(50);
const put = await api('/robots/term_bench/ssh', { method: 'PUT', body: JSON.stringify(settings) });
if (put.status !== 200) throw new Error(`PUT ssh: ${put.status} ${await put.text()}`);

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** One terminal: types `keys` letters one at a time, each timed from send to the first output after it. */
async function typist(n: number): Promise<number[]> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/v1/robots/term_bench/terminal`, {
    headers: { authorization: `Bearer ${token}` },
  });
  let onOutput: (() => void) | undefined;
  let connected: () => void = () => {};
  const ready = new Promise<void>((r) => {
    connected = r;
  });
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString()) as { type: string; state?: string; message?: string };
    if (f.type === 'status' && f.state === 'connected') connected();
    if (f.type === 'error') throw new Error(`terminal ${n}: ${f.message}`);
    if (f.type === 'output') onOutput?.();
  });
  await ready;
  await sleep(500); // the prompt and the login's output settle
  const samples: number[] = [];
  for (let i = 0; i < keys; i++) {
    if (i % 40 === 39) {
      // Clear the line (Ctrl+U) now and then so the prompt does not wrap; not timed.
      ws.send(JSON.stringify({ type: 'input', data: '\x15' }));
      await sleep(20);
    }
    const echoed = new Promise<void>((r) => {
      onOutput = r;
    });
    const t0 = performance.now();
    ws.send(JSON.stringify({ type: 'input', data: String.fromCharCode(97 + (i % 26)) }));
    await echoed;
    samples.push(performance.now() - t0);
    onOutput = undefined;
  }
  ws.close();
  return samples;
}

/** The same typist in Chromium: the page's own WebSocket, signed in by its session cookie. */
async function browserTypists(): Promise<number[]> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    // bypassCSP: the measurement runs as an evaluated script, which the app's policy refuses.
    const context = await browser.newContext({ baseURL: server.url, bypassCSP: true });
    const page = await context.newPage();
    await page.goto('/sign-in');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(BENCH_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'));
    const script = `(async () => {
      const one = async () => {
        const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/api/v1/robots/term_bench/terminal');
        let onOutput;
        await new Promise((resolve, reject) => {
          ws.onmessage = (e) => {
            const f = JSON.parse(e.data);
            if (f.type === 'status' && f.state === 'connected') resolve();
            if (f.type === 'error') reject(new Error(f.message));
            if (f.type === 'output' && onOutput) onOutput();
          };
          ws.onclose = () => reject(new Error('closed'));
        });
        await new Promise((r) => setTimeout(r, 500));
        const samples = [];
        for (let i = 0; i < ${keys}; i++) {
          if (i % 40 === 39) {
            ws.send(JSON.stringify({ type: 'input', data: '\\x15' }));
            await new Promise((r) => setTimeout(r, 20));
          }
          const echoed = new Promise((r) => { onOutput = r; });
          const t0 = performance.now();
          ws.send(JSON.stringify({ type: 'input', data: String.fromCharCode(97 + (i % 26)) }));
          await echoed;
          samples.push(performance.now() - t0);
          onOutput = undefined;
        }
        ws.close();
        return samples;
      };
      return (await Promise.all(Array.from({ length: ${sessions} }, one))).flat();
    })()`;
    return (await page.evaluate(script)) as number[];
  } finally {
    await browser.close();
  }
}

const all = (
  values.client === 'browser'
    ? await browserTypists()
    : (await Promise.all(Array.from({ length: sessions }, (_, n) => typist(n)))).flat()
).sort((a, b) => a - b);
const q = (p: number) => all[Math.min(all.length - 1, Math.ceil(p * all.length) - 1)]?.toFixed(2);
console.log(
  `bench:terminal (${values.client} → ${values.sshd}, ${sessions} session${sessions > 1 ? 's' : ''}, ${all.length} keys): keystroke → echo ` +
    `p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${all[all.length - 1]?.toFixed(2)} ms`,
);

await robot.endAsync(true);
await server.stop();
await openssh?.close();
await fake?.close();
await rm(dataDir, { recursive: true, force: true });
