import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, killLeftovers, logLines, MAIN_TS, REPO_ROOT, spawnServer } from './helpers/server-process';
import { loopbackEnv } from './helpers/test-server';

/** What a person sees in the terminal of `npm start` (spawned processes are no terminals: LOG_FORMAT says). */

/** Runs the server's entry point to its exit; resolves with the exit code and everything it wrote. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN_TS], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

/** A stack trace line, as Node prints one. */
const STACK_LINE = /^\s+at .+\(?.*:\d+:\d+\)?$/m;

describe('npm start: the terminal output', () => {
  const dirs: string[] = [];
  const held: net.Server[] = [];
  /** A data dir of its own for each start: a start left running by a failed test holds its dir's lock. */
  const freshDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tonypi-start-output-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    killLeftovers();
    for (const server of held) server.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('prints readable lines, then the welcome banner last with the URLs and the generated admin password', async () => {
    // A first start (it creates the database) on a machine busy with other tests can take a while.
    const server = await spawnServer(await freshDir(), {
      env: { LOG_FORMAT: 'pretty', ADMIN_PASSWORD: '' },
      readyTimeoutMs: 150_000,
    });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const output = server.output();

    // No JSON: one "[time] LEVEL: message {fields}" line per entry.
    expect(logLines(output)).toEqual([]);
    expect(output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: starting$/m);
    const started = output.search(/^\[[\d:.]+\] INFO: started \{"ms":/m);
    const banner = output.indexOf('TonyPi Fleet Monitor is running');
    expect(started).toBeGreaterThan(-1);
    expect(banner).toBeGreaterThan(started);
    const bannerText = output.slice(banner);
    expect(bannerText).toContain(`Web / API:   ${server.url}`);
    expect(bannerText).toContain(`${server.url}/docs`);
    expect(bannerText).toContain(`MQTT:        ${server.mqttUrl}`);
    expect(bannerText).toMatch(/Admin: {7}user "admin", password \S{12,}/);
    // Before the shutdown, nothing of the start-up comes after the banner.
    const beforeShutdown = bannerText.split(/^\[[\d:.]+\] INFO: shutting down/m)[0] ?? '';
    expect(beforeShutdown).not.toMatch(/Applied database migration|Server listening|INFO: started/);
  }, 180_000);

  it('prints the banner after the start-up entries in JSON lines too (a pipe, a log file)', async () => {
    const server = await spawnServer(await freshDir(), {
      env: { LOG_FORMAT: 'json', ADMIN_PASSWORD: '' },
      readyTimeoutMs: 150_000,
    });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const output = server.output();
    const started = output.indexOf('"msg":"started"');
    const banner = output.indexOf('TonyPi Fleet Monitor is running');
    expect(started).toBeGreaterThan(-1);
    expect(banner).toBeGreaterThan(started);
    const beforeShutdown = output.slice(banner).split('"msg":"shutting down')[0] ?? '';
    expect(beforeShutdown).not.toMatch(/Applied database migration|Server listening|"msg":"started"/);
  }, 180_000);

  it('reports a taken HTTP port once, as one line saying what to do, with no stack trace', async () => {
    const taken = net.createServer();
    held.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as net.AddressInfo).port;
    const { code, out, err } = await runToExit({
      ...loopbackEnv(await freshDir()),
      PORT: String(port),
      MQTT_PORT: String(await freePort()),
      MQTT_WS_PORT: String(await freePort()),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    });

    expect(code).toBe(1);
    const all = out + err;
    const reports = all.split('\n').filter((l) => /could not start/i.test(l));
    expect(reports, all).toHaveLength(1);
    const fatal = logLines(out).find((l) => l.level === 60);
    expect(fatal?.msg).toBe(
      `could not start: HTTP port ${port} is already in use: stop what holds it, or set PORT to a free port.`,
    );
    expect(fatal).not.toHaveProperty('err');
    expect(all).not.toMatch(STACK_LINE);
  }, 120_000);

  it('reports bad settings once, each variable named, with what to do and no stack trace', async () => {
    const { code, out, err } = await runToExit({ PORT: 'eighty', CORS_ORIGINS: '*', LOG_FORMAT: 'pretty' });

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/^Invalid environment:\n {2}- PORT: .*\n {2}- CORS_ORIGINS: .*wildcard/);
    expect(err.match(/Invalid environment/g)).toHaveLength(1);
    expect(err).toMatch(/start again\.\n$/);
    expect(err).not.toMatch(STACK_LINE);
  }, 60_000);
});
