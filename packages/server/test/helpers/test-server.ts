import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@tonypi/agent/testing';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { type RunningServer, startServer } from '../../src/app';
import { type Env, loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';

export { waitFor };

export const ADMIN_PASSWORD = 'correct-horse-battery-staple';

export interface TestServer {
  server: RunningServer;
  url: string;
  mqttUrl: string;
  dataDir: string;
  token: string;
  /** fetch against the server with the admin's session. */
  api(pathname: string, init?: RequestInit & { json?: unknown; anonymous?: boolean }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The environment of a server that only this machine can reach: 127.0.0.1, free ports chosen by
 * the OS, the given data dir, a known admin password, no simulated robots, quiet logs.
 */
export function loopbackEnv(
  dataDir: string,
  adminPassword = ADMIN_PASSWORD,
): Partial<Record<keyof Env, string>> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_PASSWORD: adminPassword,
    SIMULATED_ROBOTS: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
}

/**
 * What only a test server changes: heavy reads are not refused for a held-up event loop. On a machine
 * busy with other tests the loop stalls for hundreds of ms (PGlite, DuckDB, GC) with no ingest at risk,
 * and a test's one read would then get a 503 by chance; that criterion has its own tests
 * (http/ingest-pressure.test.ts), and a test that wants it sets READER_SHED_LOOP_DELAY_MS itself.
 */
export const TEST_SERVER_ENV: Partial<Record<keyof Env, string>> = { READER_SHED_LOOP_DELAY_MS: '0' };

/** The real server on embedded engines, random ports on 127.0.0.1, a fresh temp data dir. */
export async function startTestServer(
  env: Partial<Record<keyof Env, string>> = {},
  opts: { keepDataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = opts.keepDataDir ?? (await mkdtemp(path.join(tmpdir(), 'tonypi-test-')));
  const config = loadConfig({ ...loopbackEnv(dataDir), ...TEST_SERVER_ENV, ...env });
  const server = await startServer(config, { logger: createLogger(config.logLevel) });
  const url = server.url;
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  const token = ((await login.json()) as { access_token: string }).access_token;
  return {
    server,
    url,
    mqttUrl: server.mqttUrl,
    dataDir,
    token,
    api: (pathname, init = {}) => {
      const headers = new Headers(init.headers);
      if (!init.anonymous) headers.set('authorization', `Bearer ${token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(`${url}${pathname}`, { ...init, headers, body });
    },
    close: async () => {
      await server.stop();
      if (!opts.keepDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function connectMqtt(url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** A live-stream client that records every frame. */
export class LiveClient {
  readonly frames: Array<Record<string, unknown> & { type: string }> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(data.toString())));
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<LiveClient> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/stream`, { headers });
    const client = new LiveClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  of(type: string) {
    return this.frames.filter((f) => f.type === type);
  }

  next(type: string, predicate: (f: Record<string, unknown>) => boolean = () => true, timeoutMs = 5000) {
    return waitFor(
      () => this.frames.find((f) => f.type === type && predicate(f)),
      timeoutMs,
      `live frame ${type}`,
    );
  }

  closed(): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve({ code: 0, reason: 'already closed' });
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  close(): void {
    this.ws.close();
  }
}
