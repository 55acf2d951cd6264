import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportSchedulesRepository } from '../src/reports/report-schedules.repository';
import { ReportSchedulesService } from '../src/reports/report-schedules.service';
import { ReportsRepository } from '../src/reports/reports.repository';
import { periodFor } from '../src/reports/schedule-periods';
import { MailReceiver, WebhookReceiver } from './helpers/notification-receivers';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * Issue #10 §5: report schedules — the API, a due schedule's run (once per period, even with two schedulers on
 * one database), the run's report in the history, and its delivery to notification channels.
 */

let t: TestServer;
let robot: MqttClient;
let hook: WebhookReceiver;
let smtp: MailReceiver;
const ROBOT = 'sched_bot_1';
const account = { user: 'reports', pass: 'smtp-pass-sched-0123456789' };

beforeAll(async () => {
  [t, hook, smtp] = await Promise.all([
    startTestServer({ NOTIFICATION_RETRY_BASE_MS: '20', NOTIFICATION_TIMEOUT_MS: '5000' }),
    WebhookReceiver.start(),
    MailReceiver.start(account),
  ]);
  robot = await connectMqtt(t.mqttUrl, { clientId: ROBOT });
  await robot.publishAsync(`tonypi/${ROBOT}/status`, JSON.stringify({ ts: Date.now(), status: 'online' }), {
    qos: 1,
  });
  await waitFor(async () => (await t.api(`/api/v1/robots/${ROBOT}`)).status === 200, 5000, 'robot known');
});

afterAll(async () => {
  await robot?.endAsync(true);
  await t?.close();
  await hook?.close();
  await smtp?.close();
});

const json = async (res: Response) => ({ status: res.status, body: await res.json() });
const post = (path: string, body: unknown) => t.api(`/api/v1${path}`, { method: 'POST', json: body });
const patch = (path: string, body: unknown) => t.api(`/api/v1${path}`, { method: 'PATCH', json: body });

async function channel(body: Record<string, unknown>): Promise<number> {
  const res = await json(await post('/notification-channels', body));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

/** Makes a schedule due now (as if its time had come), for the scheduler's next tick. */
async function makeDue(id: number): Promise<void> {
  await t.server
    .service('db')
    .query("UPDATE report_schedules SET next_run_at = now() - interval '1 second' WHERE id = $1", [id]);
}

async function completed(report_id: number) {
  return waitFor(
    async () => {
      const r = await (await t.api(`/api/v1/reports/${report_id}`)).json();
      if (r.status === 'failed') throw new Error(`report failed: ${r.error}`);
      return r.status === 'completed' ? r : undefined;
    },
    20_000,
    `report ${report_id} completed`,
  );
}

describe('report schedules', () => {
  it('creates a schedule with its next run in words, lists, changes and deletes it, audited', async () => {
    const created = await json(
      await post('/report-schedules', {
        name: 'Weekly fleet',
        kind: 'fleet_summary',
        frequency: 'weekly',
        weekday: 3,
        time: '07:30',
      }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const s = created.body;
    expect(s).toMatchObject({
      name: 'Weekly fleet',
      kind: 'fleet_summary',
      robot_id: null,
      tag: null,
      frequency: 'weekly',
      time: '07:30',
      weekday: 3,
      enabled: true,
      channel_ids: [],
      last_report_id: null,
      last_status: null,
      created_by: 'admin',
    });
    expect(s.description).toMatch(/^Every Wednesday at 07:30 \(.+\), for the week before/);
    const next = new Date(s.next_run_at);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(7 * 86_400_000);
    expect([next.getDay(), next.getHours(), next.getMinutes()]).toEqual([3, 7, 30]);

    const list = await json(await t.api('/api/v1/report-schedules'));
    expect(list.body.items.map((x: { id: number }) => x.id)).toContain(s.id);

    const off = await json(await patch(`/report-schedules/${s.id}`, { enabled: false }));
    expect(off.body).toMatchObject({ enabled: false, next_run_at: null });
    const daily = await json(
      await patch(`/report-schedules/${s.id}`, { enabled: true, frequency: 'daily', time: '23:59' }),
    );
    expect(daily.body.description).toMatch(/^Every day at 23:59/);
    const at = new Date(daily.body.next_run_at);
    expect([at.getHours(), at.getMinutes()]).toEqual([23, 59]);
    expect(at.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);

    expect((await t.api(`/api/v1/report-schedules/${s.id}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await json(await t.api(`/api/v1/report-schedules/${s.id}`));
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'report_schedule_not_found' } } });
    const audit = await (await t.api('/api/v1/audit?target_type=report_schedule')).json();
    expect(audit.items.map((a: { action: string }) => a.action)).toEqual(
      expect.arrayContaining(['report_schedule.create', 'report_schedule.update', 'report_schedule.delete']),
    );
  });

  it('refuses bad schedules with the field named', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ name: 'x', kind: 'fleet_summary', frequency: 'hourly' }, 400, 'frequency'],
      [{ name: 'x', kind: 'fleet_summary', frequency: 'daily', time: '25:00' }, 400, 'HH:MM'],
      [{ name: 'x', kind: 'fleet_summary', frequency: 'daily', time: '6:00' }, 400, 'HH:MM'],
      [{ name: 'x', kind: 'fleet_summary', frequency: 'monthly', day_of_month: 31 }, 400, 'day_of_month'],
      [{ name: 'x', kind: 'fleet_summary', frequency: 'weekly', weekday: 7 }, 400, 'weekday'],
      [{ name: '', kind: 'fleet_summary', frequency: 'daily' }, 400, 'name'],
      [{ name: 'x', kind: 'custom', frequency: 'daily' }, 400, 'sections'],
      [{ name: 'x', kind: 'battery', frequency: 'daily', sections: ['jobs'] }, 400, 'own sections'],
      [{ name: 'x', kind: 'battery', frequency: 'daily', robot_id: ROBOT, tag: 'a' }, 400, 'not both'],
      [{ name: 'x', kind: 'battery', frequency: 'daily', tag: 'nobody-has-it' }, 400, 'nobody-has-it'],
      [{ name: 'x', kind: 'battery', frequency: 'daily', channel_ids: [987654] }, 400, '987654'],
      [{ name: 'x', kind: 'battery', frequency: 'daily', extra: 1 }, 400, 'extra'],
      [{ name: 'x', kind: 'battery', frequency: 'daily', robot_id: 'no_such_robot' }, 404, 'no_such_robot'],
    ];
    for (const [body, status, says] of cases) {
      const res = await json(await post('/report-schedules', body));
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(JSON.stringify(res.body), JSON.stringify(body)).toContain(says);
    }
    expect((await patch('/report-schedules/999999', { name: 'y' })).status).toBe(404);
    expect((await t.api('/api/v1/report-schedules/abc')).status).toBe(400);
  });

  it('runs a due schedule once for the period that ended, even with two schedulers on one database', async () => {
    const s = (
      await json(
        await post('/report-schedules', {
          name: 'Daily robot',
          kind: 'performance',
          robot_id: ROBOT,
          frequency: 'daily',
        }),
      )
    ).body;
    await makeDue(s.id);
    // A second server instance's scheduler: the same database, its own timer.
    const service = t.server.service('reportSchedules');
    const db = t.server.service('db');
    const other = new ReportSchedulesService({
      db,
      repo: new ReportSchedulesRepository(db),
      reports: new ReportsRepository(db),
      gatherer: { robotsInScope: async () => [] },
      audit: t.server.service('audit'),
      publish: () => {},
      poke: () => {},
      channelExists: () => true,
      notify: () => ({ queued: 0, unknown: [] }),
      pdf: async () => ({ fileName: 'x.pdf', content: Buffer.alloc(0) }),
      logger: t.server.logger,
    });
    await Promise.all([service.tick(), other.tick(), service.tick(), other.tick()]);
    const runs = await json(await t.api(`/api/v1/reports?schedule_id=${s.id}`));
    expect(runs.body.total).toBe(1);
    const run = runs.body.items[0];
    const period = periodFor('daily', Date.now());
    expect(run).toMatchObject({
      kind: 'performance',
      robot_id: ROBOT,
      schedule_id: s.id,
      from: new Date(period.from).toISOString(),
      to: new Date(period.to).toISOString(),
      created_by: 'schedule: Daily robot',
    });
    expect(run.title).toMatch(/^Daily robot: \d{4}-\d{2}-\d{2}$/);
    await completed(run.id);
    const after = (await json(await t.api(`/api/v1/report-schedules/${s.id}`))).body;
    expect(after).toMatchObject({ last_report_id: run.id, last_status: 'completed' });
    expect(Date.parse(after.next_run_at)).toBeGreaterThan(Date.now());

    // Made again by hand for the same period: refused, saying which report has it.
    const again = await json(await post(`/report-schedules/${s.id}/run`, {}));
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'already_reported' } } });
    expect(again.body.error.message).toContain(`report ${run.id}`);
    // Deleted, it can be made again by hand.
    expect((await t.api(`/api/v1/reports/${run.id}`, { method: 'DELETE' })).status).toBe(204);
    const manual = await json(await post(`/report-schedules/${s.id}/run`, {}));
    expect(manual.status).toBe(202);
    await completed(manual.body.report_id);
  });

  it('sends each finished run to its channels: the PDF attached to an email, a link in a webhook', async () => {
    const hookId = await channel({ kind: 'webhook', name: 'reports hook', webhook: { url: hook.url } });
    const mailId = await channel({
      kind: 'email',
      name: 'reports mail',
      email: {
        host: '127.0.0.1',
        port: smtp.port,
        security: 'none',
        username: account.user,
        password: account.pass,
        from: 'monitor@example.com',
        to: ['lead@example.com'],
      },
    });
    const s = (
      await json(
        await post('/report-schedules', {
          name: 'Monthly batteries',
          kind: 'battery',
          frequency: 'monthly',
          day_of_month: 2,
          channel_ids: [hookId, mailId],
        }),
      )
    ).body;
    expect(s.channel_ids).toEqual([hookId, mailId]);
    const { report_id } = (await json(await post(`/report-schedules/${s.id}/run`, {}))).body;
    await completed(report_id);

    const body = await waitFor(
      () =>
        hook.bodies().find((b) => b.event === 'report.completed') as unknown as
          | { report: { summary: unknown } & Record<string, unknown> }
          | undefined,
      10_000,
      'the webhook got the report',
    );
    expect(body.report).toMatchObject({
      report_id,
      schedule_id: s.id,
      schedule_name: 'Monthly batteries',
      kind: 'battery',
      status: 'completed',
      pdf_path: `/api/v1/reports/${report_id}/pdf`,
    });
    expect(Array.isArray(body.report.summary)).toBe(true);

    const mail = await waitFor(() => smtp.mails.at(-1), 10_000, 'the mail arrived');
    expect(mail.rcptTo).toEqual(['lead@example.com']);
    expect(mail.parsed.subject).toMatch(/^\[REPORT\] Monthly batteries: \d{4}-\d{2} \(/);
    expect(mail.parsed.text).toContain('The report is attached as a PDF.');
    const [pdf] = mail.parsed.attachments;
    expect(pdf?.contentType).toBe('application/pdf');
    expect(pdf?.filename).toMatch(new RegExp(`^report-${report_id}-battery-.*\\.pdf$`));
    expect(pdf?.content.subarray(0, 5).toString()).toBe('%PDF-');

    // The deliveries are in each channel's log, with no alert.
    const log = (await json(await t.api(`/api/v1/notification-channels/${mailId}/deliveries`))).body;
    expect(log.items[0]).toMatchObject({ change: 'report', alert_id: null, status: 'sent' });
  });

  it('lets viewers read schedules but not make, change, run or delete them', async () => {
    const s = (await json(await post('/report-schedules', { name: 'V', kind: 'jobs', frequency: 'daily' })))
      .body;
    const made = await post('/users', {
      username: 'sched_viewer',
      email: 'v@sched.example',
      role: 'viewer',
      password: 'viewer-long-password',
    });
    expect(made.status).toBe(201);
    const login = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      json: { username: 'sched_viewer', password: 'viewer-long-password' },
    });
    const token = (await login.json()).access_token as string;
    const as = (path: string, init: RequestInit & { json?: unknown } = {}) =>
      t.api(`/api/v1${path}`, { ...init, anonymous: true, headers: { authorization: `Bearer ${token}` } });
    expect((await as('/report-schedules')).status).toBe(200);
    expect((await as(`/report-schedules/${s.id}`)).status).toBe(200);
    expect(
      (
        await as('/report-schedules', {
          method: 'POST',
          json: { name: 'n', kind: 'jobs', frequency: 'daily' },
        })
      ).status,
    ).toBe(403);
    expect((await as(`/report-schedules/${s.id}`, { method: 'PATCH', json: { name: 'n' } })).status).toBe(
      403,
    );
    expect((await as(`/report-schedules/${s.id}/run`, { method: 'POST', json: {} })).status).toBe(403);
    expect((await as(`/report-schedules/${s.id}`, { method: 'DELETE' })).status).toBe(403);
  });
});
