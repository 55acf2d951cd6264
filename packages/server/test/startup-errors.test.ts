import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../src/app';
import { type Env, loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { loopbackEnv } from './helpers/test-server';

const opened: net.Server[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map(close));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/** A port held by this test until it ends. */
async function occupyPort(): Promise<number> {
  const server = net.createServer();
  opened.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

/** Binds a port and lets it go at once: rejects if anything still listens on it. */
async function bindAndRelease(port: number): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  await close(server);
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await close(server);
  return port;
}

async function config(env: Partial<Record<keyof Env, string>>) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-startup-'));
  dirs.push(dataDir);
  return loadConfig({ ...loopbackEnv(dataDir), ...env });
}

const start = (cfg: ReturnType<typeof loadConfig>) => startServer(cfg, { logger: createLogger('silent') });

async function startError(cfg: ReturnType<typeof loadConfig>): Promise<Error> {
  const error = await start(cfg).then(
    async (server) => {
      await server.stop();
      return undefined;
    },
    (err: unknown) => err,
  );
  if (!(error instanceof Error)) throw new Error('expected the start to fail');
  return error;
}

describe('startServer: start-up errors', () => {
  it('names MQTT_PORT when the MQTT port is taken, and leaves nothing listening', async () => {
    const taken = await occupyPort();
    const wsPort = await freePort();
    const httpPort = await freePort();
    const error = await startError(
      await config({ MQTT_PORT: String(taken), MQTT_WS_PORT: String(wsPort), PORT: String(httpPort) }),
    );

    expect(error.message).toMatch(/\bMQTT_PORT\b/);
    expect(error.message).toContain(String(taken));
    await bindAndRelease(wsPort);
    await bindAndRelease(httpPort);
  });

  it('names MQTT_WS_PORT when the MQTT WebSocket port is taken, and closes the MQTT port it opened', async () => {
    const taken = await occupyPort();
    const mqttPort = await freePort();
    const error = await startError(
      await config({ MQTT_PORT: String(mqttPort), MQTT_WS_PORT: String(taken) }),
    );

    expect(error.message).toMatch(/\bMQTT_WS_PORT\b/);
    await bindAndRelease(mqttPort);
  });

  it('names PORT when the HTTP port is taken, closes the broker, and frees the data dir for a restart', async () => {
    const taken = await occupyPort();
    const mqttPort = await freePort();
    const wsPort = await freePort();
    const cfg = await config({
      PORT: String(taken),
      MQTT_PORT: String(mqttPort),
      MQTT_WS_PORT: String(wsPort),
    });
    const error = await startError(cfg);

    expect(error.message).toMatch(/\bPORT\b/);
    expect(error.message).not.toMatch(/MQTT/);
    expect(error.message).toContain(String(taken));
    await bindAndRelease(mqttPort);
    await bindAndRelease(wsPort);

    // The embedded database and telemetry store were closed too: the same DATA_DIR starts again.
    const server = await start(
      loadConfig({
        HOST: '127.0.0.1',
        PORT: '0',
        MQTT_PORT: String(mqttPort),
        MQTT_WS_PORT: '0',
        DATA_DIR: cfg.dataDir,
        LOG_LEVEL: 'silent',
      }),
    );
    try {
      expect(server.mqttUrl).toBe(`mqtt://127.0.0.1:${mqttPort}`);
    } finally {
      await server.stop();
    }
  });

  it('names PostgreSQL and the redacted DATABASE_URL when the database cannot be reached', async () => {
    const password = 's3cret-Pa55word';
    const mqttPort = await freePort();
    const error = await startError(
      await config({
        DATABASE_URL: `postgres://nobody:${password}@127.0.0.1:1/x`,
        MQTT_PORT: String(mqttPort),
      }),
    );

    expect(error.message).toMatch(/PostgreSQL/);
    expect(error.message).toContain('postgres://nobody:***@127.0.0.1:1/x');
    expect(error.message).not.toContain(password);
    expect(String(error.stack)).not.toContain(password);
    await bindAndRelease(mqttPort);
  });

  // Tests run as root, for whom chmod makes nothing read-only; /proc refuses new entries to root too.
  it.each([
    [
      'is a file',
      async (dir: string) => writeFile(path.join(dir, 'a-file'), 'x').then(() => path.join(dir, 'a-file')),
      /is a file, not a directory/,
    ],
    [
      'lies under a file',
      async (dir: string) =>
        writeFile(path.join(dir, 'a-file'), 'x').then(() => path.join(dir, 'a-file', 'data')),
      /cannot be created: .*a-file is a file, not a directory/,
    ],
    ['is a read-only directory', async () => '/proc/self', /is not writable/],
    ['would be made in a read-only directory', async () => '/proc/self/tonypi-data', /cannot be created/],
  ])('names DATA_DIR and its value when it %s', async (_what, makePath, problem) => {
    const base = await mkdtemp(path.join(tmpdir(), 'tonypi-datadir-'));
    dirs.push(base);
    const dataDir = await makePath(base);
    const error = await startError(loadConfig({ ...loopbackEnv(dataDir) }));

    expect(error.message).toContain(`DATA_DIR=${dataDir} `);
    expect(error.message).toMatch(problem);
    expect(error.message).not.toMatch(/^(ENOENT|EEXIST)/);
  });
});
