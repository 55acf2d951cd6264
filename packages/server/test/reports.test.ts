import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KIND_SECTIONS, type TelemetryPoint } from '@tonypi/contracts';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
let robot: MqttClient;
let other: MqttClient;
const ROBOT = 'report_bot_1';
const OTHER = 'report_bot_2';
const HOUR = 3_600_000;

beforeAll(async () => {
  t = await startTestServer();
  robot = await connectMqtt(t.mqttUrl, { clientId: ROBOT });
  other = await connectMqtt(t.mqttUrl, { clientId: OTHER });
  for (const [id, c] of [
    [ROBOT, robot],
    [OTHER, other],
  ] as const) {
    await c.publishAsync(`tonypi/${id}/status`, JSON.stringify({ ts: Date.now(), status: 'online' }), {
      qos: 1,
    });
  }
  await waitFor(async () => (await t.api(`/api/v1/robots/${OTHER}`)).status === 200, 5000, 'robots known');
  // Two hours of history, every 10 s: CPU rising, the battery running down, servo 3 running hot.
  const now = Date.now();
  const points: TelemetryPoint[] = [];
  for (let ts = now - 2 * HOUR; ts < now - 60_000; ts += 10_000) {
    const k = (ts - (now - 2 * HOUR)) / (2 * HOUR);
    for (const id of [ROBOT, OTHER]) {
      points.push({
        measurement: 'system',
        robot_id: id,
        ts,
        fields: { cpu_percent: 30 + 40 * k, memory_percent: 50, disk_percent: 40, cpu_temperature_c: 55 },
      });
      points.push({
        measurement: 'battery',
        robot_id: id,
        ts,
        fields: { percent: 90 - 30 * k, voltage_v: 7.8 - k },
      });
      for (const servo of ['1', '2', '3']) {
        points.push({
          measurement: 'servos',
          robot_id: id,
          tags: { servo_id: servo },
          ts,
          fields: {
            temperature_c: servo === '3' && id === ROBOT ? 70 : 40,
            voltage_v: 7.4,
            load_percent: 30,
          },
        });
      }
    }
  }
  await t.server.store.append(points);
  // The roll-ups, as the minute job keeps them.
  await t.server.store.maintain(Date.now(), {
    raw_ms: 7 * 86_400_000,
    minute_ms: 90 * 86_400_000,
    hour_ms: 730 * 86_400_000,
  });
});

afterAll(async () => {
  await robot?.endAsync(true);
  await other?.endAsync(true);
  await t?.close();
});

const post = (body: unknown, token?: string) =>
  t.api('/api/v1/reports', {
    method: 'POST',
    json: body,
    ...(token ? { anonymous: true, headers: { authorization: `Bearer ${token}` } } : {}),
  });

async function completed(id: number) {
  return waitFor(
    async () => {
      const r = await (await t.api(`/api/v1/reports/${id}`)).json();
      if (r.status === 'failed') throw new Error(`report failed: ${r.error}`);
      return r.status === 'completed' ? r : undefined;
    },
    20_000,
    `report ${id} completed`,
  );
}

describe('reports', () => {
  it('generates a fleet summary in the background, with progress on the live stream, and serves it as JSON, CSV and PDF', async () => {
    const live = await LiveClient.connect(t.url);
    live.send({ type: 'auth', token: t.token });
    live.send({ type: 'subscribe', robots: ['*'], channels: ['report'] });
    await live.next('subscribed').catch(() => undefined);

    const res = await post({ kind: 'fleet_summary', from: '2h' });
    expect(res.status, await res.clone().text()).toBe(202);
    const { report_id, status } = await res.json();
    expect(status).toBe('queued');
    const report = await completed(report_id);
    expect(report).toMatchObject({
      kind: 'fleet_summary',
      robot_id: null,
      tag: null,
      progress: 1,
      created_by: 'admin',
    });
    const doc = report.document;
    expect(doc.scope.robots).toEqual(expect.arrayContaining([ROBOT, OTHER]));
    expect(doc.sections.map((s: { key: string }) => s.key)).toEqual(KIND_SECTIONS.fleet_summary);
    expect(doc.summary.length).toBeGreaterThan(0);
    // Every statement says what figure and period it rests on.
    for (const s of [
      ...doc.summary,
      ...doc.sections.flatMap((x: { statements: unknown[] }) => x.statements),
    ]) {
      expect(s).toHaveProperty('from');
      expect(s).toHaveProperty('to');
      expect(s.text).not.toMatch(/NaN|undefined|Infinity/);
    }
    // The hot servo is found.
    const servos = doc.sections.find((s: { key: string }) => s.key === 'servos');
    expect(JSON.stringify(servos)).toContain('3');
    const frames = live.of('report').filter((f) => f.report_id === report_id);
    expect(frames.map((f) => f.status)).toEqual(expect.arrayContaining(['running', 'completed']));
    live.close();

    const json = await t.api(`/api/v1/reports/${report_id}/data?format=json`);
    expect(json.status).toBe(200);
    expect((await json.json()).title).toBe(doc.title);
    const csv = await t.api(`/api/v1/reports/${report_id}/data?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect((await csv.text()).length).toBeGreaterThan(20);

    const pdf = await t.api(`/api/v1/reports/${report_id}/pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toMatch(/report-\d+-fleet_summary-\d{4}-\d{2}-\d{2}\.pdf/);
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const dir = await mkdtemp(path.join(tmpdir(), 'tonypi-report-'));
    try {
      await writeFile(path.join(dir, 'r.pdf'), bytes);
      const text = execFileSync('/usr/bin/pdftotext', ['-layout', path.join(dir, 'r.pdf'), '-'], {
        encoding: 'utf8',
      });
      expect(text).toContain('Fleet summary');
      expect(text).toContain(ROBOT);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const list = await (await t.api('/api/v1/reports?kind=fleet_summary')).json();
    expect(list.items.some((r: { id: number }) => r.id === report_id)).toBe(true);
    expect(list.items[0]).not.toHaveProperty('document');
  });

  it('reports on one robot or a tag, each kind with its own sections', async () => {
    const res = await post({ kind: 'servo_maintenance', robot_id: ROBOT, from: '2h' });
    expect(res.status).toBe(202);
    const report = await completed((await res.json()).report_id);
    expect(report.document.scope.robots).toEqual([ROBOT]);
    expect(report.document.sections.map((s: { key: string }) => s.key)).toEqual(['servos']);

    const custom = await post({
      kind: 'custom',
      sections: ['battery', 'jobs'],
      from: '2h',
      title: 'Batteries and jobs',
    });
    const c = await completed((await custom.json()).report_id);
    expect(c.title).toBe('Batteries and jobs');
    expect(c.document.sections.map((s: { key: string }) => s.key)).toEqual(['battery', 'jobs']);
  });

  it('refuses bad requests, each saying which field and why', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ kind: 'custom', from: '7d' }, 400, 'sections'],
      [{ kind: 'battery', from: '7d', sections: ['battery'] }, 400, 'sections'],
      [{ kind: 'battery', from: '7d', robot_id: ROBOT, tag: 'x' }, 400, 'tag'],
      [{ kind: 'battery', from: '400d' }, 400, 'from'],
      [{ kind: 'battery', from: String(Date.now() + 86_400_000) }, 400, 'from'],
      [{ kind: 'nonsense', from: '7d' }, 400, 'kind'],
      [{ kind: 'battery' }, 400, 'from'],
      [{ kind: 'battery', from: '7d', tag: 'no-robot-has-this' }, 400, 'tag'],
      [{ kind: 'battery', from: '7d', robot_id: 'ghost_robot' }, 404, ''],
      [{ kind: 'battery', from: '7d', extra: 1 }, 400, ''],
    ];
    for (const [body, status, field] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      if (field)
        expect(JSON.stringify((await res.json()).error.details), JSON.stringify(body)).toContain(field);
    }
    expect((await t.api('/api/v1/reports/999999')).status).toBe(404);
    expect((await t.api('/api/v1/reports/not-a-number')).status).toBe(400);
    expect((await t.api('/api/v1/reports/999999/pdf')).status).toBe(404);
  });

  it('lets viewers read reports and operators make them; a finished report cannot be cancelled, and a deleted one is gone', async () => {
    const password = 'report-viewer-password';
    await t.api('/api/v1/users', {
      method: 'POST',
      json: {
        username: 'report_viewer',
        email: 'rv@example.test',
        role: 'viewer',
        password,
        must_change_password: false,
      },
    });
    const login = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      json: { username: 'report_viewer', password },
    });
    const viewer = (await login.json()).access_token;
    expect((await post({ kind: 'battery', from: '2h' }, viewer)).status).toBe(403);

    const res = await post({ kind: 'battery', from: '2h' });
    const { report_id } = await res.json();
    await completed(report_id);
    const read = await t.api(`/api/v1/reports/${report_id}`, {
      anonymous: true,
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(read.status).toBe(200);
    const cancel = await t.api(`/api/v1/reports/${report_id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(409);
    expect((await cancel.json()).error.message).toContain('completed');
    expect((await t.api(`/api/v1/reports/${report_id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await t.api(`/api/v1/reports/${report_id}`)).status).toBe(404);
    const audit = await (await t.api('/api/v1/audit?action=report.delete')).text();
    expect(audit).toContain(String(report_id));
  });
});

describe('AI insights', () => {
  it('without a provider, says so plainly in the report and in ai-status', async () => {
    const status = await (await t.api('/api/v1/reports/ai-status')).json();
    expect(status).toEqual({ configured: false, provider: null, model: null, last_call: null });
    const res = await post({ kind: 'battery', from: '2h', ai: true });
    const report = await completed((await res.json()).report_id);
    expect(report.document.ai).toBeNull();
    expect(report.document.ai_note).toContain('No AI provider is configured');
  });

  it('with an OpenAI-compatible model, adds its validated insights, the model and the token counts', async () => {
    const requests: string[] = [];
    const fake = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        requests.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            choices: [
              {
                message: {
                  content: JSON.stringify({
                    analysis: 'Both robots ran normally; servo 3 of report_bot_1 runs hot.',
                    concerns: ['Servo 3 of report_bot_1 is above its warning level'],
                    recommendations: [{ text: 'Inspect servo 3', urgency: 'high' }],
                  }),
                },
              },
            ],
            usage: { prompt_tokens: 1200, completion_tokens: 80 },
          }),
        );
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const port = (fake.address() as AddressInfo).port;
    const s = await startTestServer({
      LLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
      LLM_API_KEY: 'sk-local-key-123456',
      LLM_MODEL: 'qwen2.5',
    });
    try {
      const c = await connectMqtt(s.mqttUrl, { clientId: ROBOT });
      await c.publishAsync(`tonypi/${ROBOT}/status`, JSON.stringify({ ts: Date.now(), status: 'online' }), {
        qos: 1,
      });
      await waitFor(async () => (await s.api(`/api/v1/robots/${ROBOT}`)).status === 200, 5000, 'robot known');
      await c.endAsync(true);
      expect(await (await s.api('/api/v1/reports/ai-status')).json()).toMatchObject({
        configured: true,
        provider: 'openai_compatible',
        model: 'qwen2.5',
        last_call: null,
      });
      expect(requests).toHaveLength(0); // nothing is called before a report asks
      const res = await s.api('/api/v1/reports', {
        method: 'POST',
        json: { kind: 'servo_maintenance', from: '1h', ai: true },
      });
      const { report_id } = await res.json();
      const report = await waitFor(
        async () => {
          const r = await (await s.api(`/api/v1/reports/${report_id}`)).json();
          return r.status === 'completed' ? r : undefined;
        },
        20_000,
        'AI report completed',
      );
      expect(report.document.ai).toMatchObject({
        provider: 'openai_compatible',
        model: 'qwen2.5',
        recommendations: [{ text: 'Inspect servo 3', urgency: 'high' }],
      });
      expect(report).toMatchObject({
        ai_model: 'openai_compatible/qwen2.5',
        tokens_in: 1200,
        tokens_out: 80,
      });
      expect(requests).toHaveLength(1);
      expect(requests[0]).toContain('servo_maintenance');
      expect(JSON.stringify(report)).not.toContain('sk-local-key-123456');
      const status = await (await s.api('/api/v1/reports/ai-status')).json();
      expect(status.last_call).toMatchObject({ ok: true, error: null });
    } finally {
      await s.close();
      await new Promise((r) => fake.close(r));
    }
  });
});
