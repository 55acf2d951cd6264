import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { AlertChange, AlertView } from '@tonypi/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import {
  alertView,
  MailReceiver,
  type ReceivedRequest,
  WebhookReceiver,
} from './helpers/notification-receivers';
import { ADMIN_PASSWORD, loopbackEnv, TEST_SERVER_ENV, waitFor } from './helpers/test-server';

/**
 * Alert notifications (issue #7 §1) on the real server: channels over the API, webhooks and email delivered
 * from `alert.changed` events published on the server's event bus (as the alert engine does), against an HTTP
 * receiver and an SMTP server on 127.0.0.1. Small timeouts and backoff come from the environment.
 */
let server: RunningServer;
let dataDir: string;
let token: string;
const logLines: string[] = [];
const receivers: WebhookReceiver[] = [];
/** Every secret given to a channel: none may reach an answer or a log line. */
const secrets: string[] = [];

/** Per attempt: long enough for a busy machine's loopback, short enough for the timeout test's 4 attempts. */
const TIMEOUT_MS = 2000;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-notify-'));
  const config = loadConfig({
    ...loopbackEnv(dataDir),
    ...TEST_SERVER_ENV,
    LOG_LEVEL: 'trace',
    NOTIFICATION_RETRY_BASE_MS: '20',
    NOTIFICATION_TIMEOUT_MS: String(TIMEOUT_MS),
    NOTIFICATION_ATTEMPTS: '4',
    NOTIFICATION_SHUTDOWN_GRACE_MS: '100',
  });
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  server = await startServer(config, { logger: createLogger('trace', { destination, format: 'json' }) });
  const login = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  token = (await login.json()).access_token;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const r of receivers) await r.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api(pathname: string, init: { method?: string; json?: unknown } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}/api/v1${pathname}`, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  for (const secret of secrets) expect(text, `answer of ${pathname}`).not.toContain(secret);
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

async function receiver(answer?: (n: number) => number | 'hang') {
  const r = await WebhookReceiver.start(answer);
  receivers.push(r);
  return r;
}

async function webhookChannel(
  r: WebhookReceiver,
  over: Record<string, unknown> = {},
  webhook: Record<string, unknown> = {},
) {
  const res = await api('/notification-channels', {
    json: {
      kind: 'webhook',
      name: `hook ${receivers.length}`,
      severities: ['info', 'warning', 'critical'],
      changes: ['raised', 'escalated', 'updated', 'acknowledged', 'resolved', 'deleted'],
      ...over,
      webhook: { url: r.url, ...webhook },
    },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number };
}

const notifier = () => server.service('notifier');
const publish = (change: AlertChange, alert: AlertView) =>
  server.service('events').publish('alert.changed', { change, alert });

/** The channel's delivery log, waiting until `until` holds. */
async function deliveriesOf(channelId: number, until: (items: Array<Record<string, unknown>>) => boolean) {
  let last: Array<Record<string, unknown>> = [];
  await waitFor(
    async () => {
      last = (await api(`/notification-channels/${channelId}/deliveries`)).body.items;
      return until(last) || undefined;
    },
    25_000,
    `deliveries of channel ${channelId}`,
  );
  return last;
}

function verify(request: ReceivedRequest, secret: string): boolean {
  const timestamp = String(request.headers['x-tonypi-timestamp']);
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`;
  const given = String(request.headers['x-tonypi-signature']);
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

describe('the notification channels API', () => {
  it('creates a webhook channel and never answers its secret or its header values', async () => {
    const secret = 'whsec-create-0123456789abcdef';
    const headerValue = 'Bearer header-token-0123456789';
    secrets.push(secret, headerValue);
    const r = await receiver();
    const created = await api('/notification-channels', {
      json: {
        kind: 'webhook',
        name: 'ops hook',
        webhook: { url: r.url, secret, headers: { Authorization: headerValue } },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'ops hook',
      kind: 'webhook',
      enabled: true,
      severities: ['warning', 'critical'],
      changes: ['raised', 'escalated', 'resolved'],
      webhook: { url: r.url, has_secret: true, header_names: ['Authorization'] },
      email: null,
      consecutive_failures: 0,
      created_by: 'admin',
    });
    const id = created.body.id;
    expect((await api(`/notification-channels/${id}`)).body).toEqual(created.body);
    const list = await api('/notification-channels');
    expect(list.body.items.map((c: { id: number }) => c.id)).toContain(id);

    // The secret is kept when not given, and cleared with null.
    const renamed = await api(`/notification-channels/${id}`, {
      method: 'PATCH',
      json: { name: 'ops hook 2' },
    });
    expect(renamed.body).toMatchObject({ name: 'ops hook 2', webhook: { has_secret: true } });
    const cleared = await api(`/notification-channels/${id}`, {
      method: 'PATCH',
      json: { webhook: { secret: null, headers: null } },
    });
    expect(cleared.body.webhook).toEqual({ url: r.url, has_secret: false, header_names: [] });

    // Audited, without the secrets (the audit answer is checked by `api` too).
    const audit = await api('/audit?limit=20');
    const actions = audit.body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['notification_channel.create', 'notification_channel.update']),
    );
  });

  it('creates an email channel and never answers its SMTP password', async () => {
    const password = 'smtp-password-create-0123';
    secrets.push(password);
    const created = await api('/notification-channels', {
      json: {
        kind: 'email',
        name: 'ops mail',
        email: {
          host: 'smtp.example.com',
          username: 'monitor',
          password,
          from: 'monitor@example.com',
          to: ['ops@example.com'],
        },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.email).toEqual({
      host: 'smtp.example.com',
      port: 587,
      security: 'starttls',
      username: 'monitor',
      has_password: true,
      from: 'monitor@example.com',
      to: ['ops@example.com'],
    });
    expect(created.body.webhook).toBeNull();
  });

  it('refuses bad bodies with 400 validation_error naming each field', async () => {
    const fieldsOf = async (json: unknown) => {
      const res = await api('/notification-channels', { json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
      return (res.body.error.details.fields as Array<{ field: string }>).map((f) => f.field).sort();
    };
    expect(
      await fieldsOf({
        kind: 'webhook',
        name: '',
        severities: ['fatal'],
        changes: [],
        webhook: { url: 'ftp://example.com/hook', secret: 'short' },
      }),
    ).toEqual(['body.changes', 'body.name', 'body.severities.0', 'body.webhook.secret', 'body.webhook.url']);
    expect(
      await fieldsOf({
        kind: 'webhook',
        name: 'creds',
        webhook: { url: 'https://user:pw@example.com/hook' },
      }),
    ).toEqual(['body.webhook.url']);
    expect(
      await fieldsOf({
        kind: 'webhook',
        name: 'headers',
        webhook: { url: 'https://example.com/hook', headers: { 'X-TonyPi-Signature': 'forged' } },
      }),
    ).toEqual(['body.webhook.headers.X-TonyPi-Signature']);
    expect(
      await fieldsOf({
        kind: 'webhook',
        name: 'headers',
        webhook: { url: 'https://example.com/hook', headers: { 'bad name': 'x', 'X-Ok': 'line\nbreak' } },
      }),
    ).toEqual(['body.webhook.headers.X-Ok', 'body.webhook.headers.bad name']);
    expect(
      await fieldsOf({
        kind: 'email',
        name: 'mail',
        email: { host: 'smtp.example.com', port: 70000, from: 'not-an-address', to: [] },
      }),
    ).toEqual(['body.email.from', 'body.email.port', 'body.email.to']);
    expect(await fieldsOf({ kind: 'pager', name: 'x' })).toEqual(['body.kind']);
    // A password without a user: the service's check, same envelope.
    expect(
      await fieldsOf({
        kind: 'email',
        name: 'mail',
        email: {
          host: 'smtp.example.com',
          password: 'pw-0123456789',
          from: 'a@example.com',
          to: ['b@example.com'],
        },
      }),
    ).toEqual(['body.email.username']);
  });

  it('refuses to change the kind of settings of a channel, and answers 404 for an unknown one', async () => {
    const r = await receiver();
    const { id } = await webhookChannel(r);
    const wrong = await api(`/notification-channels/${id}`, {
      method: 'PATCH',
      json: { email: { host: 'smtp.example.com' } },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details.fields).toEqual([
      { field: 'body.email', message: `channel ${id} is a webhook channel` },
    ]);
    for (const [method, suffix] of [
      ['GET', ''],
      ['PATCH', ''],
      ['DELETE', ''],
      ['POST', '/test'],
      ['GET', '/deliveries'],
    ] as const) {
      const res = await api(`/notification-channels/999999${suffix}`, {
        method,
        json: method === 'PATCH' ? { name: 'x' } : undefined,
      });
      expect(res.status, `${method} ${suffix}`).toBe(404);
      expect(res.body.error.code).toBe('notification_channel_not_found');
    }
    expect((await api(`/notification-channels/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/notification-channels/${id}`)).status).toBe(404);
  });
});

/** Each delivery test starts with no channel: what it counts and receives is its own channels' only. */
async function deleteAllChannels() {
  const { body } = await api('/notification-channels');
  for (const c of body.items as Array<{ id: number }>) {
    expect((await api(`/notification-channels/${c.id}`, { method: 'DELETE' })).status).toBe(204);
  }
}

describe('webhook delivery', () => {
  beforeEach(deleteAllChannels);
  it('POSTs the alert change with a signature a receiver can verify', async () => {
    const secret = 'whsec-signature-0123456789abcdef';
    secrets.push(secret);
    const r = await receiver();
    const { id } = await webhookChannel(r, {}, { secret, headers: { 'X-Custom': 'kept' } });
    const alert = alertView();
    publish('raised', alert);
    await waitFor(() => r.requests.length === 1 || undefined, 10_000, 'the webhook request');
    const [request] = r.requests;
    if (!request) throw new Error('no request');
    expect(verify(request, secret)).toBe(true);
    expect(verify({ ...request, body: request.body.replace('97.5', '12.5') }, secret)).toBe(false);
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'x-tonypi-event': 'alert.raised',
      'x-custom': 'kept',
    });
    expect(Math.abs(Number(request.headers['x-tonypi-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
    const body = JSON.parse(request.body);
    expect(body).toEqual({ event: 'alert.raised', alert, sent_at: expect.any(String) });
    const [row] = await deliveriesOf(id, (items) => items[0]?.status === 'sent');
    expect(row).toMatchObject({
      channel_id: id,
      alert_id: alert.id,
      change: 'raised',
      status: 'sent',
      attempts: 1,
      response_code: 200,
      error: null,
      next_attempt_at: null,
    });
    expect(row?.duration_ms).toEqual(expect.any(Number));
  });

  it('retries a failing endpoint with backoff until it answers, with the same delivery id', async () => {
    const r = await receiver((n) => (n <= 2 ? 503 : 200));
    const { id } = await webhookChannel(r);
    const alert = alertView({ severity: 'warning' });
    publish('escalated', alert);
    const [row] = await deliveriesOf(id, (items) => items[0]?.status === 'sent');
    expect(row).toMatchObject({ status: 'sent', attempts: 3, response_code: 200, alert_id: alert.id });
    expect(r.requests).toHaveLength(3);
    expect(new Set(r.requests.map((q) => q.headers['x-tonypi-delivery'])).size).toBe(1);
  });

  it('retries 429 and 408, and gives up at once on any other 4xx', async () => {
    const throttled = await receiver((n) => (n === 1 ? 429 : n === 2 ? 408 : 200));
    const refused = await receiver(() => 400);
    const a = await webhookChannel(throttled);
    const b = await webhookChannel(refused);
    publish('raised', alertView());
    const [sent] = await deliveriesOf(a.id, (items) => items[0]?.status === 'sent');
    expect(sent).toMatchObject({ attempts: 3, response_code: 200 });
    const [failed] = await deliveriesOf(b.id, (items) => items[0]?.status === 'failed');
    expect(failed).toMatchObject({
      attempts: 1,
      response_code: 400,
      response: 'refused with 400',
      error: 'HTTP 400 Bad Request',
    });
    expect(refused.requests).toHaveLength(1);
  });

  it('gives each attempt a timeout, and fails after the last one', async () => {
    const r = await receiver(() => 'hang');
    const { id } = await webhookChannel(r);
    publish('raised', alertView());
    const [row] = await deliveriesOf(id, (items) => items[0]?.status === 'failed');
    expect(row).toMatchObject({
      attempts: 4,
      response_code: null,
      error: `timed out after ${TIMEOUT_MS} ms`,
    });
    expect(r.requests).toHaveLength(4);
  });

  it('never makes the publisher or another channel wait for an endpoint that hangs', async () => {
    const hanging = await receiver(() => 'hang');
    const healthy = await receiver();
    await webhookChannel(hanging);
    const ok = await webhookChannel(healthy);
    const alert = alertView();
    publish('raised', alert);
    // publish returned: nothing was sent on its path.
    expect(healthy.requests).toHaveLength(0);
    await waitFor(() => healthy.requests.length === 1 || undefined, 10_000, 'the healthy channel');
    // Delivered while the other endpoint still holds its request.
    expect(hanging.hanging.size).toBe(1);
    const [row] = await deliveriesOf(ok.id, (items) => items[0]?.status === 'sent');
    expect(row).toMatchObject({ alert_id: alert.id, attempts: 1 });
  });

  it('sends each channel only the severities and changes it wants', async () => {
    const pickyReceiver = await receiver();
    const allReceiver = await receiver();
    const picky = await webhookChannel(pickyReceiver, { severities: ['critical'], changes: ['raised'] });
    await webhookChannel(allReceiver);
    const disabledReceiver = await receiver();
    await webhookChannel(disabledReceiver, { enabled: false });
    const warning = alertView({ severity: 'warning' });
    const resolved = alertView({ severity: 'critical', state: 'resolved' });
    const critical = alertView({ severity: 'critical' });
    const queuedBefore = notifier().counters.queued;
    publish('raised', warning);
    publish('resolved', resolved);
    publish('raised', critical);
    // Routed on the publisher's path: three for the catch-all channel, one for the picky one, none disabled.
    expect(notifier().counters.queued - queuedBefore).toBe(4);
    await waitFor(() => allReceiver.requests.length === 3 || undefined, 10_000, 'the catch-all channel');
    const rows = await deliveriesOf(picky.id, (items) => items.length === 1 && items[0]?.status === 'sent');
    expect(rows[0]).toMatchObject({ alert_id: critical.id, change: 'raised' });
    expect(pickyReceiver.bodies().map((b) => b.alert.id)).toEqual([critical.id]);
    expect(disabledReceiver.requests).toHaveLength(0);
  });

  it('does not notify a muted alert: its delivery is logged as skipped', async () => {
    const r = await receiver();
    const { id } = await webhookChannel(r);
    const muted = alertView({ muted: true });
    const loud = alertView();
    publish('raised', muted);
    publish('raised', loud);
    const rows = await deliveriesOf(
      id,
      (items) => items.length === 2 && items.every((d) => d.status !== 'retrying'),
    );
    const byAlert = Object.fromEntries(rows.map((d) => [d.alert_id, d]));
    expect(byAlert[muted.id]).toMatchObject({
      status: 'skipped',
      attempts: 0,
      error: 'muted: raised during a silence',
    });
    expect(byAlert[loud.id]).toMatchObject({ status: 'sent', attempts: 1 });
    expect(r.bodies().map((b) => b.alert.id)).toEqual([loud.id]);
  });

  it('sends a test notification on request and answers how it went', async () => {
    const secret = 'whsec-test-send-0123456789abcdef';
    secrets.push(secret);
    const good = await receiver();
    const bad = await receiver(() => 500);
    const a = await webhookChannel(good, { enabled: false }, { secret });
    const b = await webhookChannel(bad);
    const sent = await api(`/notification-channels/${a.id}/test`, { method: 'POST' });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({
      status: 'sent',
      attempts: 1,
      response_code: 200,
      change: 'test',
      alert_id: null,
    });
    const [request] = good.requests;
    if (!request) throw new Error('no test request');
    expect(verify(request, secret)).toBe(true);
    expect(JSON.parse(request.body)).toMatchObject({
      event: 'notification.test',
      alert: { alert_type: 'test' },
    });
    const failed = await api(`/notification-channels/${b.id}/test`, { method: 'POST' });
    expect(failed.body).toMatchObject({
      status: 'failed',
      attempts: 1,
      response_code: 500,
      error: 'HTTP 500 Internal Server Error',
    });
    expect(bad.requests).toHaveLength(1);
    // The log pages newest first.
    await api(`/notification-channels/${b.id}/test`, { method: 'POST' });
    const page = await api(`/notification-channels/${b.id}/deliveries?limit=1`);
    expect(page.body.items).toHaveLength(1);
    const next = await api(
      `/notification-channels/${b.id}/deliveries?limit=1&cursor=${page.body.next_cursor}`,
    );
    expect(next.body.items[0].id).toBeLessThan(page.body.items[0].id);
    expect(next.body.next_cursor).toBeNull();
  });

  it('warns in health when a channel keeps failing', async () => {
    const r = await receiver(() => 404);
    const { id } = await webhookChannel(r, { name: 'broken hook' });
    for (let i = 0; i < 3; i++) publish('raised', alertView());
    await deliveriesOf(id, (items) => items.length === 3 && items.every((d) => d.status === 'failed'));
    const health = await api('/health');
    expect(health.body.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`notification channel "broken hook" (#${id}) keeps failing`),
      ]),
    );
    expect((await api(`/notification-channels/${id}`)).body.consecutive_failures).toBe(3);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^tonypi_notifications_total\{outcome="failed"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^tonypi_notifications_failing_channels 1$/m);
  });
});

describe('email delivery', () => {
  beforeEach(deleteAllChannels);
  let smtp: MailReceiver;
  const account = { user: 'monitor', pass: 'smtp-pass-0123456789-xyz' };
  beforeAll(async () => {
    secrets.push(account.pass);
    smtp = await MailReceiver.start(account);
  });
  afterAll(async () => {
    await smtp?.close();
  });

  const emailChannel = async (password: string) => {
    const res = await api('/notification-channels', {
      json: {
        kind: 'email',
        name: 'mail',
        severities: ['warning', 'critical'],
        changes: ['raised', 'resolved'],
        email: {
          host: '127.0.0.1',
          port: smtp.port,
          security: 'none',
          username: account.user,
          password,
          from: 'monitor@example.com',
          to: ['ops@example.com', 'oncall@example.com'],
        },
      },
    });
    expect(res.status, res.text).toBe(201);
    return res.body as { id: number };
  };

  it('mails an alert change over SMTP: subject with severity, robot and title; both recipients', async () => {
    const { id } = await emailChannel(account.pass);
    const alert = alertView({
      robot_id: 'tonypi_07',
      title: 'Servo 3 temperature above 75 °C',
      source: 'servo:3',
    });
    publish('raised', alert);
    const [row] = await deliveriesOf(id, (items) => items[0]?.status === 'sent');
    // One mail; two only if a busy machine made the first attempt time out after the server took it.
    expect(smtp.mails).toHaveLength(row?.attempts as number);
    const mail = smtp.mails.at(-1);
    if (!mail) throw new Error('no mail');
    expect(mail.user).toBe(account.user);
    expect(mail.rcptTo).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(mail.mailFrom).toBe('monitor@example.com');
    expect(mail.parsed.subject).toBe('[CRITICAL] tonypi_07: Servo 3 temperature above 75 °C (raised)');
    expect(mail.parsed.text).toContain(alert.message);
    expect(mail.parsed.text).toContain('Source: servo:3');
    expect(mail.parsed.html).toContain('Servo 3 temperature above 75 °C');
    expect(row).toMatchObject({ status: 'sent', response_code: 250 });
    expect(String(row?.response)).toContain('Message queued as test-1');
  });

  it('answers a test send refused for wrong credentials as failed, without retrying', async () => {
    const wrong = 'wrong-smtp-pass-0123456789';
    secrets.push(wrong);
    const { id } = await emailChannel(wrong);
    const before = smtp.mails.length;
    const res = await api(`/notification-channels/${id}/test`, { method: 'POST' });
    expect(res.body).toMatchObject({ status: 'failed', attempts: 1, response_code: 535 });
    expect(smtp.mails).toHaveLength(before);
    // An alert change is not retried either: the refusal is for good.
    publish('raised', alertView());
    const rows = await deliveriesOf(id, (items) =>
      items.some((d) => d.change === 'raised' && d.status === 'failed'),
    );
    expect(rows.find((d) => d.change === 'raised')).toMatchObject({ attempts: 1, response_code: 535 });
  });
});

describe('email over STARTTLS', () => {
  it('refuses a server whose certificate it cannot verify, and sends nothing', async () => {
    const smtp = await MailReceiver.start({ user: 'u', pass: 'p' }, { starttls: true });
    try {
      const res = await api('/notification-channels', {
        json: {
          kind: 'email',
          name: 'tls mail',
          email: {
            host: '127.0.0.1',
            port: smtp.port,
            security: 'starttls',
            from: 'a@example.com',
            to: ['b@example.com'],
          },
        },
      });
      expect(res.status).toBe(201);
      const sent = await api(`/notification-channels/${res.body.id}/test`, { method: 'POST' });
      expect(sent.body).toMatchObject({ status: 'failed', attempts: 1 });
      expect(sent.body.error).toMatch(/certificate/i);
      expect(smtp.mails).toHaveLength(0);
    } finally {
      await smtp.close();
    }
  });
});

describe('secrets of channels', () => {
  it('are stored sealed: no row of the database holds one in clear', async () => {
    const { rows } = await server.db.query('SELECT * FROM notification_channels');
    expect(rows.length).toBeGreaterThan(0);
    const text = JSON.stringify(rows);
    for (const secret of secrets) expect(text).not.toContain(secret);
    const audit = JSON.stringify((await server.db.query('SELECT * FROM audit_events')).rows);
    expect(audit).toContain('notification_channel.create');
    for (const secret of secrets) expect(audit).not.toContain(secret);
  });

  it('never reach a log line (the server logs at trace)', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    expect(logLines.length).toBeGreaterThan(10);
    for (const line of logLines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});
