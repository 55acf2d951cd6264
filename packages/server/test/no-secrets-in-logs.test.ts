import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { ADMIN_PASSWORD, connectMqtt, loopbackEnv, TEST_SERVER_ENV } from './helpers/test-server';

/**
 * Every kind of secret the server makes or takes — people's passwords (given, temporary, wrong), session
 * tokens, API keys, robots' MQTT secrets (issued, rotated, wrong) — goes through the flows that handle it,
 * on a server logging everything (`trace`, the production logger and its redaction), and is then looked
 * for in every log line and every audit row. Issue #12 §3: secrets never appear in either.
 */
const LLM_KEY = 'sk-llm-key-that-must-stay-secret-0042';

describe('secrets in logs and the audit trail', () => {
  let server: RunningServer;
  let dataDir: string;
  const lines: string[] = [];
  const secrets = new Map<string, string>();
  const clients: MqttClient[] = [];

  const call = async (
    pathname: string,
    token: string | undefined,
    init: { method?: string; json?: unknown } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${pathname}`, {
      method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const login = async (username: string, password: string) => {
    const res = await call('/api/v1/auth/login', undefined, { json: { username, password } });
    return { status: res.status, token: res.body?.access_token as string | undefined, body: res.body };
  };
  const keep = (name: string, value: unknown): string => {
    expect(typeof value, name).toBe('string');
    secrets.set(name, value as string);
    return value as string;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-secrets-'));
    const config = loadConfig({
      ...loopbackEnv(dataDir),
      ...TEST_SERVER_ENV,
      LOG_LEVEL: 'trace',
      ALLOW_ANONYMOUS_ROBOTS: 'false',
      // A model server that is not there: the report's AI call fails, and its error must not carry the key.
      LLM_BASE_URL: 'http://127.0.0.1:9/v1',
      LLM_API_KEY: LLM_KEY,
      LLM_TIMEOUT_S: '2',
    });
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    server = await startServer(config, { logger: createLogger('trace', { destination, format: 'json' }) });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('writes none of them to a log line or an audit row', async () => {
    keep('admin password', ADMIN_PASSWORD);
    const admin = await login('admin', ADMIN_PASSWORD);
    const adminToken = keep('admin session token', admin.token);
    keep('wrong password', 'not-the-password-but-close');
    expect((await login('admin', 'not-the-password-but-close')).status).toBe(401);
    keep('unknown user password', 'a-password-for-nobody-here');
    expect((await login('nobody', 'a-password-for-nobody-here')).status).toBe(401);

    // People: a given password, a temporary one, a changed one, a reset one.
    const given = keep('given password', 'grace-hopper-1906-cobol');
    const grace = await call('/api/v1/users', adminToken, {
      json: { username: 'grace', email: 'grace@example.com', role: 'operator', password: given },
    });
    expect(grace.status).toBe(201);
    const ada = await call('/api/v1/users', adminToken, {
      json: { username: 'ada', email: 'ada@example.com', role: 'viewer' },
    });
    expect(ada.status).toBe(201);
    const temporary = keep('temporary password', ada.body.temporary_password);
    const graceToken = keep('operator session token', (await login('grace', given)).token);
    const adaToken = keep('viewer session token', (await login('ada', temporary)).token);
    const changed = keep('changed password', 'ada-lovelace-1815-engine');
    expect(
      (
        await call('/api/v1/auth/password', adaToken, {
          json: { current_password: temporary, new_password: changed },
        })
      ).status,
    ).toBe(200);
    keep('wrong current password', 'this-is-not-adas-password');
    expect(
      (
        await call('/api/v1/auth/password', adaToken, {
          json: { current_password: 'this-is-not-adas-password', new_password: 'whatever-new-password' },
        })
      ).status,
    ).toBe(403);
    const reset = await call(`/api/v1/users/${grace.body.user.id}/reset-password`, adminToken, { json: {} });
    expect(reset.status).toBe(200);
    keep('reset temporary password', reset.body.temporary_password);
    expect((await call('/api/v1/robots', graceToken)).status).toBe(401);

    // API keys: created, used, used wrongly, revoked.
    const created = await call('/api/v1/api-keys', adminToken, { json: { name: 'ci', role: 'viewer' } });
    expect(created.status).toBe(201);
    const key = keep('API key', created.body.key);
    expect((await call('/api/v1/robots', key)).status).toBe(200);
    const forged = keep('forged API key', `${key.slice(0, -6)}AAAAAA`);
    expect((await call('/api/v1/robots', forged)).status).toBe(401);
    expect((await call(`/api/v1/api-keys/${created.body.id}`, adminToken, { method: 'DELETE' })).status).toBe(
      204,
    );
    expect((await call('/api/v1/robots', key)).status).toBe(401);

    // Robots: registered, connecting with the right and a wrong secret, rotated.
    const robot = await call('/api/v1/robots', adminToken, { json: { robot_id: 'secret_bot' } });
    expect(robot.status).toBe(201);
    const robotSecret = keep('robot secret', robot.body.mqtt.password);
    const connected = await connectMqtt(server.mqttUrl, {
      clientId: 'secret_bot',
      username: 'secret_bot',
      password: robotSecret,
    });
    clients.push(connected);
    keep('wrong robot secret', 'tpr_wrongwrongwrongwrongwrongwrong');
    await expect(
      connectMqtt(server.mqttUrl, {
        clientId: 'secret_bot',
        username: 'secret_bot',
        password: 'tpr_wrongwrongwrongwrongwrongwrong',
      }),
    ).rejects.toThrow();
    const rotated = await call('/api/v1/robots/secret_bot/credentials/rotate', adminToken, {
      method: 'POST',
    });
    expect(rotated.status).toBe(200);
    keep('rotated robot secret', rotated.body.mqtt.password);

    // A robot's SSH password, used by a connection test that fails (nothing listens on port 9).
    const sshPassword = keep('ssh password', 'ssh-password-of-secret-bot-77');
    const ssh = await call('/api/v1/robots/secret_bot/ssh', adminToken, {
      method: 'PUT',
      json: { host: '127.0.0.1', port: 9, username: 'pi', password: sshPassword },
    });
    expect(ssh.status).toBe(200);
    expect((await call('/api/v1/robots/secret_bot/ssh/test', adminToken, { method: 'POST' })).status).toBe(
      502,
    );

    // The AI provider's key, used by a report whose AI call fails.
    keep('AI provider key', LLM_KEY);
    const report = await call('/api/v1/reports', adminToken, {
      json: { kind: 'battery', from: '1h', ai: true },
    });
    expect(report.status).toBe(202);
    let reported = false;
    for (let i = 0; i < 200 && !reported; i++) {
      const r = await call(`/api/v1/reports/${report.body.report_id}`, adminToken);
      if (r.body.status === 'completed') {
        reported = true;
        expect(r.body.document.ai_note).toContain('The AI insights failed');
        expect(JSON.stringify(r.body)).not.toContain(LLM_KEY);
      } else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reported, 'the AI report completed').toBe(true);

    expect((await call('/api/v1/auth/logout', adminToken, { method: 'POST' })).status).toBe(204);

    // What was written: the log lines, and every audit row as the API and the table hold it.
    const { rows } = await server.db.query('SELECT * FROM audit_events');
    expect(rows.length).toBeGreaterThan(10);
    const audit = JSON.stringify(rows);
    const logs = lines.join('\n');
    // The logger wrote (the server's start, the failed sign-ins, the refused robot connection …).
    expect(lines.length).toBeGreaterThan(5);
    for (const [name, secret] of secrets) {
      expect(secret.length, name).toBeGreaterThanOrEqual(12);
      expect(logs.includes(secret), `${name} in the logs`).toBe(false);
      expect(audit.includes(secret), `${name} in the audit trail`).toBe(false);
      // Nor a telling part of it (a token's signature, a key's secret half).
      const tail = secret.slice(-12);
      expect(logs.includes(tail), `the end of the ${name} in the logs`).toBe(false);
      expect(audit.includes(tail), `the end of the ${name} in the audit trail`).toBe(false);
    }
    // The failed attempts are there, with who tried — only the secrets are not.
    expect(audit).toContain('nobody');
    expect(logs).toContain('login failed');
  }, 180_000);
});

describe('the MQTT dynamic-security admin password (MQTT_DYNSEC)', () => {
  const ADMIN_SECRET = 'dynsec-admin-password-never-logged-7731';
  const SERVER_SECRET = 'fleet-server-mqtt-password-never-logged-4410';

  it('is in no log line and no error when the broker refuses the login, nor in a config error', async () => {
    // A broker that refuses every login, as Mosquitto does a wrong admin password.
    const aedes = await Aedes.createBroker({
      authenticate: (_client, _username, _password, done) =>
        done(Object.assign(new Error('refused'), { returnCode: 4 }) as never, false),
    });
    const tcp = createServer(aedes.handle);
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as AddressInfo).port;
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-secrets-dynsec-'));
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const env = {
      ...loopbackEnv(dataDir),
      ...TEST_SERVER_ENV,
      LOG_LEVEL: 'trace',
      MQTT_URL: `mqtt://127.0.0.1:${port}`,
      MQTT_USERNAME: 'fleet-server',
      MQTT_PASSWORD: SERVER_SECRET,
      MQTT_DYNSEC: 'true',
      MQTT_DYNSEC_ADMIN_USERNAME: 'dynsec-admin',
      MQTT_DYNSEC_ADMIN_PASSWORD: ADMIN_SECRET,
    };
    let message = '';
    try {
      const config = loadConfig(env);
      const started = await startServer(config, {
        logger: createLogger('trace', { destination, format: 'json' }),
      }).catch((err: Error) => err);
      expect(started).toBeInstanceOf(Error);
      message = String((started as Error).message);
      expect(message).toMatch(/dynamic-security admin login/);
      try {
        loadConfig({ ...env, MQTT_URL: '', MQTT_USERNAME: '' });
      } catch (err) {
        message += String(err);
      }
      expect(message).toMatch(/MQTT_DYNSEC: needs MQTT_URL/);
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await rm(dataDir, { recursive: true, force: true });
    }
    const written = lines.join('\n') + message;
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [ADMIN_SECRET, SERVER_SECRET]) expect(written.includes(secret)).toBe(false);
  }, 60_000);
});
