import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * Jobs from the robots' job messages (issue #7 §2), end to end: MQTT in, rows in the database, the jobs API
 * out. The clock-skew bound is widened so a test can date its messages and check durations exactly.
 */

let t: TestServer;
const clients: MqttClient[] = [];
const dirs: string[] = [];
beforeAll(async () => {
  t = await startTestServer({ CLOCK_SKEW_MAX_S: '86400' });
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
});
afterAll(async () => {
  await t?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function robot(id: string, server = t) {
  const c = await connectMqtt(server.mqttUrl, { clientId: id });
  clients.push(c);
  return c;
}

const send = (c: MqttClient, topic: string, body: Record<string, unknown>) =>
  c.publishAsync(topic, JSON.stringify(body), { qos: 1 });

interface JobBody {
  id: number;
  robot_id: string;
  job_key: string | null;
  status: string;
  task_name: string | null;
  items_done: number;
  items_total: number | null;
  percent_complete: number;
  success: boolean | null;
  cancel_reason: string | null;
  superseded_by: number | null;
  opened_by: string;
  start_time: string;
  end_time: string | null;
  duration_s: number | null;
  history: Array<{ code: string; found: boolean; job_id: number | null }>;
}

async function jobsOf(robot_id: string, server = t): Promise<JobBody[]> {
  const res = await server.api(`/api/v1/jobs?robot_id=${robot_id}`);
  expect(res.status).toBe(200);
  return (await res.json()).items;
}

/** Waits until the robot's jobs satisfy `ok` (the recorder writes off the ingest path). */
function jobsWhen(robot_id: string, ok: (jobs: JobBody[]) => boolean, server = t): Promise<JobBody[]> {
  return waitFor(
    async () => {
      const jobs = await jobsOf(robot_id, server);
      return ok(jobs) ? jobs : undefined;
    },
    5000,
    `jobs of ${robot_id}`,
  );
}

const health = async () =>
  (await (await t.api('/api/v1/health', { anonymous: true })).json()) as {
    ingest: { rejected: Record<string, number> };
  };

describe('jobs from canonical job messages', () => {
  it('opens a job on start, follows its progress and closes it on completion, with its duration', async () => {
    const c = await robot('job_canon');
    const t0 = Date.now() - 120_000;
    await send(c, 'tonypi/job_canon/job', {
      ts: t0,
      job_id: 'J-1',
      task_name: 'Pick 4 items',
      status: 'started',
      items_done: 0,
      items_total: 4,
    });
    await send(c, 'tonypi/job_canon/job', {
      ts: t0 + 30_000,
      job_id: 'J-1',
      status: 'in_progress',
      items_done: 1,
    });
    const [active] = await jobsWhen('job_canon', (j) => j[0]?.items_done === 1);
    expect(active).toMatchObject({
      job_key: 'J-1',
      status: 'active',
      task_name: 'Pick 4 items',
      items_total: 4,
      percent_complete: 25,
      opened_by: 'start',
      start_time: new Date(t0).toISOString(),
      end_time: null,
    });

    await send(c, 'tonypi/job_canon/job', {
      ts: t0 + 90_000,
      job_id: 'J-1',
      status: 'completed',
      items_done: 4,
    });
    const [done] = await jobsWhen('job_canon', (j) => j[0]?.status === 'completed');
    expect(done).toMatchObject({
      items_done: 4,
      percent_complete: 100,
      success: true,
      end_time: new Date(t0 + 90_000).toISOString(),
      duration_s: 90,
      cancel_reason: null,
    });
    const one = await (await t.api(`/api/v1/jobs/${done!.id}`)).json();
    expect(one).toMatchObject({ id: done!.id, status: 'completed', history: [], history_total: 0 });
  });

  it('closes the active job as superseded when the robot starts another, and says which replaced it', async () => {
    const c = await robot('job_super');
    const t0 = Date.now() - 60_000;
    await send(c, 'tonypi/job_super/job', { ts: t0, job_id: 'A', status: 'started', items_total: 5 });
    await send(c, 'tonypi/job_super/job', {
      ts: t0 + 20_000,
      job_id: 'B',
      status: 'started',
      items_total: 3,
    });
    const jobs = await jobsWhen('job_super', (j) => j.length === 2);
    const [b, a] = jobs;
    expect(b).toMatchObject({ job_key: 'B', status: 'active', superseded_by: null });
    expect(a).toMatchObject({
      job_key: 'A',
      status: 'cancelled',
      success: false,
      cancel_reason: 'superseded',
      superseded_by: b!.id,
      end_time: new Date(t0 + 20_000).toISOString(),
      duration_s: 20,
    });
    const cancelled = await (await t.api('/api/v1/jobs?robot_id=job_super&status=cancelled')).json();
    expect(cancelled.items.map((j: JobBody) => j.job_key)).toEqual(['A']);
    expect(cancelled.total).toBe(1);
  });

  it('folds a burst of progress messages into the job without losing the last values', async () => {
    const c = await robot('job_burst');
    const t0 = Date.now() - 10_000;
    await send(c, 'tonypi/job_burst/job', { ts: t0, job_id: 'X', status: 'started', items_total: 100 });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        send(c, 'tonypi/job_burst/job', {
          ts: t0 + i,
          job_id: 'X',
          status: 'in_progress',
          items_done: i + 1,
        }),
      ),
    );
    const [job] = await jobsWhen('job_burst', (j) => j[0]?.items_done === 50);
    expect(job).toMatchObject({ status: 'active', percent_complete: 50 });
  });

  it('records an end it never saw start as a closed job (opened_by end), once', async () => {
    const c = await robot('job_late');
    const t0 = Date.now() - 5000;
    const end = { ts: t0, job_id: 'Z', status: 'failed', reason: 'servo 3 overheated', elapsed_s: 40 };
    await send(c, 'tonypi/job_late/job', end);
    await send(c, 'tonypi/job_late/job', end);
    await send(c, 'tonypi/job_late/job', { ts: t0 + 1, job_id: 'Z', status: 'in_progress', items_done: 9 });
    await send(c, 'tonypi/job_late/job', { ts: t0 + 2, job_id: 'Y', status: 'started' });
    const jobs = await jobsWhen('job_late', (j) => j.length === 2);
    expect(jobs[1]).toMatchObject({
      job_key: 'Z',
      status: 'failed',
      opened_by: 'end',
      success: false,
      cancel_reason: 'servo 3 overheated',
      duration_s: 40,
      items_done: 0,
    });
  });
});

describe('jobs from the original client (legacy protocol)', () => {
  it('takes the cancel reason from `reason` (the original backend read cancel_reason and lost it)', async () => {
    const c = await robot('job_legacy');
    await send(c, 'tonypi/job/job_legacy', {
      robot_id: 'job_legacy',
      task_name: 'find red ball',
      status: 'started',
      phase: 'navigating',
      elapsed_time: 0,
      success: true,
      reason: null,
      items_done: 0,
      items_total: 3,
      progress_percent: 0,
      timestamp: new Date().toISOString(),
    });
    await send(c, 'tonypi/job/job_legacy', {
      robot_id: 'job_legacy',
      task_name: 'find red ball',
      status: 'cancelled',
      phase: 'stopped',
      elapsed_time: 12.5,
      success: false,
      reason: 'Stopped by operator',
      items_done: 1,
      items_total: 3,
      progress_percent: 33.3,
    });
    const [job] = await jobsWhen('job_legacy', (j) => j[0]?.status === 'cancelled');
    expect(job).toMatchObject({
      job_key: null,
      task_name: 'find red ball',
      status: 'cancelled',
      success: false,
      cancel_reason: 'Stopped by operator',
      items_done: 1,
      percent_complete: 33.3,
      opened_by: 'start',
    });
  });

  it('follows the progress shape (working → completed) and does not count its repeated end twice', async () => {
    const c = await robot('job_legacy2');
    const base = { robot_id: 'job_legacy2', items_total: 2, estimated_duration: 60 };
    await send(c, 'tonypi/job/job_legacy2', { ...base, task_name: 'pack', status: 'started', items_done: 0 });
    await send(c, 'tonypi/job/job_legacy2', {
      ...base,
      status: 'working',
      items_done: 1,
      percent: 50,
      elapsed_time: 5,
    });
    await send(c, 'tonypi/job/job_legacy2', {
      ...base,
      status: 'completed',
      items_done: 2,
      percent: 100,
      elapsed_time: 9,
    });
    // The event shape of the same end right after: one job, completed once.
    await send(c, 'tonypi/job/job_legacy2', {
      ...base,
      task_name: 'pack',
      status: 'completed',
      success: true,
      items_done: 2,
    });
    const jobs = await jobsWhen('job_legacy2', (j) => j[0]?.status === 'completed');
    await send(c, 'tonypi/job/job_legacy2', { ...base, status: 'started', task_name: 'next' });
    const after = await jobsWhen('job_legacy2', (j) => j.length === 2);
    expect(jobs).toHaveLength(1);
    expect(after[1]).toMatchObject({ status: 'completed', items_done: 2, success: true, task_name: 'pack' });
    expect(after[0]).toMatchObject({ status: 'active', task_name: 'next' });
  });
});

describe('a malformed job or scan message', () => {
  it('is rejected and counted as invalid_payload, like any other ingest rejection, and changes no job', async () => {
    const c = await robot('job_bad');
    const before = (await health()).ingest.rejected.invalid_payload ?? 0;
    await send(c, 'tonypi/job_bad/job', { status: 'exploded' });
    await send(c, 'tonypi/job_bad/job', { status: 'started', items_done: -1 });
    await send(c, 'tonypi/job_bad/scan', { station_name: 'A' });
    await send(c, 'tonypi/scan/job_bad', { robot_id: 'job_bad', qr_data: '' });
    await waitFor(async () => ((await health()).ingest.rejected.invalid_payload ?? 0) - before === 4);
    expect(await jobsOf('job_bad')).toEqual([]);
  });
});

describe('GET /api/v1/jobs/{id} and /robots/{id}/jobs/current', () => {
  it('answers 404 job_not_found for an unknown job, 400 for a bad id', async () => {
    const res = await t.api('/api/v1/jobs/999999');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('job_not_found');
    expect((await t.api('/api/v1/jobs/abc')).status).toBe(400);
  });

  it('says idle for a known robot without jobs, 404 robot_not_found for an unknown one', async () => {
    const c = await robot('job_idle');
    await send(c, 'tonypi/job_idle/status', { status: 'online' });
    const idle = await waitFor(async () => {
      const res = await t.api('/api/v1/robots/job_idle/jobs/current');
      return res.status === 200 ? res.json() : undefined;
    });
    expect(idle).toEqual({ robot_id: 'job_idle', status: 'idle' });
    const unknown = await t.api('/api/v1/robots/nobody_here/jobs/current');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('robot_not_found');
  });

  it('pages newest first with a cursor, and refuses a range that ends before it starts', async () => {
    const c = await robot('job_pages');
    const t0 = Date.now() - 50_000;
    for (let i = 0; i < 5; i++) {
      await send(c, 'tonypi/job_pages/job', { ts: t0 + i * 1000, job_id: `P${i}`, status: 'started' });
    }
    await jobsWhen('job_pages', (j) => j.length === 5);
    const first = await (await t.api('/api/v1/jobs?robot_id=job_pages&limit=2')).json();
    expect(first.items.map((j: JobBody) => j.job_key)).toEqual(['P4', 'P3']);
    expect(first.total).toBe(5);
    const second = await (
      await t.api(`/api/v1/jobs?robot_id=job_pages&limit=2&cursor=${first.next_cursor}`)
    ).json();
    expect(second.items.map((j: JobBody) => j.job_key)).toEqual(['P2', 'P1']);
    const bad = await t.api('/api/v1/jobs?from=2026-02-01&to=2026-01-01');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('validation_error');
    expect((await t.api('/api/v1/jobs?cursor=nonsense')).status).toBe(400);
  });
});

describe('GET /api/v1/jobs/stats', () => {
  it('gives success rate, average and median duration and items per hour, per robot and for the fleet', async () => {
    // A range of its own, a day back, so the other tests' jobs stay out.
    const t0 = Date.now() - 20 * 3600_000;
    const a = await robot('stats_a');
    const b = await robot('stats_b');
    const job = (c: MqttClient, id: string, body: Record<string, unknown>) =>
      send(c, `tonypi/${id}/job`, body);
    // stats_a: 100 s completed with 10 items; 60 s failed with 2 items.
    await job(a, 'stats_a', { ts: t0, job_id: 'a1', status: 'started' });
    await job(a, 'stats_a', { ts: t0 + 100_000, job_id: 'a1', status: 'completed', items_done: 10 });
    await job(a, 'stats_a', { ts: t0 + 200_000, job_id: 'a2', status: 'started' });
    await job(a, 'stats_a', { ts: t0 + 260_000, job_id: 'a2', status: 'failed', items_done: 2 });
    // stats_b: 300 s completed with 30 items; one still active.
    await job(b, 'stats_b', { ts: t0, job_id: 'b1', status: 'started' });
    await job(b, 'stats_b', { ts: t0 + 300_000, job_id: 'b1', status: 'completed', items_done: 30 });
    await job(b, 'stats_b', { ts: t0 + 400_000, job_id: 'b2', status: 'started', items_done: 4 });
    await jobsWhen('stats_b', (j) => j.length === 2);
    await jobsWhen('stats_a', (j) => j[0]?.status === 'failed');

    const from = new Date(t0 - 1000).toISOString();
    const to = new Date(t0 + 500_000).toISOString();
    const stats = await (await t.api(`/api/v1/jobs/stats?from=${from}&to=${to}`)).json();
    expect(stats.fleet).toEqual({
      total: 4,
      active: 1,
      completed: 2,
      failed: 1,
      cancelled: 0,
      success_rate: 2 / 3,
      avg_duration_s: (100 + 60 + 300) / 3,
      median_duration_s: 100,
      items_done: 42,
      items_per_hour: 42 / ((100 + 60 + 300) / 3600),
    });
    const byRobot = Object.fromEntries(stats.robots.map((r: { robot_id: string }) => [r.robot_id, r]));
    expect(byRobot.stats_a).toMatchObject({
      total: 2,
      success_rate: 0.5,
      avg_duration_s: 80,
      median_duration_s: 80,
    });
    expect(byRobot.stats_a.items_per_hour).toBeCloseTo(12 / (160 / 3600), 9);
    expect(byRobot.stats_b).toMatchObject({
      total: 2,
      active: 1,
      success_rate: 1,
      items_done: 30,
      items_per_hour: 360,
    });

    const one = await (await t.api(`/api/v1/jobs/stats?from=${from}&to=${to}&robot_id=stats_b`)).json();
    expect(one.fleet.total).toBe(2);
    expect(one.robots.map((r: { robot_id: string }) => r.robot_id)).toEqual(['stats_b']);
    const empty = await (await t.api('/api/v1/jobs/stats?from=2001-01-01&to=2001-01-02')).json();
    expect(empty.fleet).toMatchObject({
      total: 0,
      success_rate: null,
      avg_duration_s: null,
      items_per_hour: null,
    });
  });
});

describe('a job’s item history', () => {
  // Two servers start and stop in this test: slow on a busy machine.
  it('is the scans counted into it, kept in the database across a restart', {
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-jobs-restart-'));
    dirs.push(dataDir);
    const first = await startTestServer({}, { keepDataDir: dataDir });
    let jobId: number;
    try {
      const item = await first.api('/api/v1/items', {
        method: 'POST',
        json: { qr_code: 'QR-KEEP-1', name: 'Kept' },
      });
      expect(item.status).toBe(201);
      const c = await robot('history_bot', first);
      await send(c, 'tonypi/history_bot/job', { job_id: 'H', status: 'started', items_total: 3 });
      await jobsWhen('history_bot', (j) => j.length === 1, first);
      await send(c, 'tonypi/history_bot/scan', {
        code: 'QR-KEEP-1',
        station_name: 'Shelf A',
        action: 'pick',
      });
      await send(c, 'tonypi/scan/history_bot', { robot_id: 'history_bot', qr_data: 'QR-UNKNOWN' });
      const [job] = await jobsWhen('history_bot', (j) => j[0]?.items_done === 2, first);
      jobId = job!.id;
      expect(job!.percent_complete).toBeCloseTo(200 / 3, 9);
    } finally {
      await first.close();
    }
    const second = await startTestServer({}, { keepDataDir: dataDir });
    try {
      const job = await (await second.api(`/api/v1/jobs/${jobId}`)).json();
      expect(job).toMatchObject({ status: 'active', items_done: 2, history_total: 2 });
      expect(job.history).toMatchObject([
        {
          code: 'QR-KEEP-1',
          found: true,
          item_name: 'Kept',
          station_name: 'Shelf A',
          action: 'pick',
          job_id: jobId,
        },
        { code: 'QR-UNKNOWN', found: false, item_id: null, job_id: jobId },
      ]);
      expect(job.last_item).toMatchObject({ code: 'QR-UNKNOWN', found: false });
      const current = await (await second.api('/api/v1/robots/history_bot/jobs/current')).json();
      expect(current).toMatchObject({ id: jobId, history_total: 2 });
    } finally {
      await second.close();
    }
  });
});
