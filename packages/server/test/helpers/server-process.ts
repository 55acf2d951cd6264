import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { ADMIN_PASSWORD, loopbackEnv, TEST_SERVER_ENV, waitFor } from './test-server';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../../..');
export const MAIN_TS = path.join(REPO_ROOT, 'packages/server/src/main.ts');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Every process spawnServer started, with whether it runs in a process group of its own. */
const spawned: Array<{ child: ChildProcess; group: boolean }> = [];

/**
 * For afterAll: kills what a failed test left running (SIGKILL; the whole group of a detached one, which
 * takes the server under npm with it).
 */
export function killLeftovers(): void {
  for (const { child, group } of spawned.splice(0)) {
    if (child.pid === undefined) continue;
    try {
      if (group) process.kill(-child.pid, 'SIGKILL');
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A server started as its own process (the real entry point), on free loopback ports. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  mqttUrl: string;
  /** Everything it wrote to stdout and stderr so far (pino's JSON lines and the banner). */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once it has exited. */
  exited: Promise<number | string>;
}

/**
 * Spawns `command args` (default: node --import tsx main.ts) with the loopback environment of the tests on
 * free ports, and waits for the banner (or `readyWhen`). `detached` puts it in a process group of its own, so a test can
 * signal the whole group as a terminal or systemd would.
 */
export async function spawnServer(
  dataDir: string,
  opts: {
    command?: string;
    args?: string[];
    detached?: boolean;
    env?: Record<string, string>;
    /** What in its output means it is ready (default: the banner, printed once it has started). */
    readyWhen?: (output: string) => boolean;
    /** How long the start may take (default 60 s). */
    readyTimeoutMs?: number;
  } = {},
): Promise<ServerProcess> {
  const [port, mqttPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(opts.command ?? process.execPath, opts.args ?? ['--import', 'tsx', MAIN_TS], {
    cwd: REPO_ROOT,
    detached: opts.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...loopbackEnv(dataDir, ADMIN_PASSWORD),
      ...TEST_SERVER_ENV,
      PORT: String(port),
      MQTT_PORT: String(mqttPort),
      MQTT_WS_PORT: String(wsPort),
      LOG_LEVEL: 'info',
      ...opts.env,
    },
  });
  spawned.push({ child, group: opts.detached ?? false });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const server: ServerProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    output: () => out,
    exited,
  };
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await waitFor(
    () => {
      if (gone) throw new Error(`the server exited before it was ready:\n${out}`);
      return opts.readyWhen ? opts.readyWhen(out) : out.includes('TonyPi Fleet Monitor is running');
    },
    opts.readyTimeoutMs ?? 60_000,
    'the server to start',
  );
  return server;
}

/** The log lines (pino JSON) the process wrote, parsed; other lines are left out. */
export function logLines(output: string): Array<Record<string, unknown> & { msg: string }> {
  const lines: Array<Record<string, unknown> & { msg: string }> = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // a partial line
    }
  }
  return lines;
}

export async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}
