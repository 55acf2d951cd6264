import { SimulatedRobot, simulatedScanCodes } from '@tonypi/agent';
import type { RobotProtocol } from '@tonypi/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * A packaging job of the simulator's robots, both protocols, against the server: the robot's model is stepped
 * through the job by hand (model time, not wall time) while its real MQTT client publishes what it does.
 * With the demo catalogue imported, every scan is found, counted into the job and kept as its history.
 */

let t: TestServer;
const quiet = { info: () => undefined, warn: () => undefined };
beforeAll(async () => {
  // Messages are dated in model time, up to an hour back.
  t = await startTestServer({ CLOCK_SKEW_MAX_S: '86400' });
  const csv = [
    'qr_code,name,location',
    ...simulatedScanCodes().map((c) => `${c.code},Item ${c.code},${c.station}`),
  ];
  const report = await (
    await t.api('/api/v1/items/import', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: csv.join('\n'),
    })
  ).json();
  expect(report).toMatchObject({ created: 1000, rejected: 0 });
});
afterAll(async () => {
  await t?.close();
});

async function runJob(protocol: RobotProtocol, id: string, items: number) {
  const robot = new SimulatedRobot({
    id,
    brokerUrl: t.mqttUrl,
    protocol,
    seed: 11,
    faults: false,
    autonomy: false,
    logger: quiet,
    counters: { published: 0, telemetry: 0, dropped: 0, commands: 0, reconnects: 0 },
    model: { initialSoc: 1 },
  });
  await robot.start();
  try {
    const t0 = Date.now() - 3600_000;
    let modelMs = 0;
    robot.tick(modelMs, t0);
    robot.model.startJob({ job_id: `${id}-pack`, task_name: 'Pack', items_total: items });
    // Half-second steps of model time until the job is done (at most 50 model minutes).
    for (let i = 0; i < 6000 && robot.model.jobSnapshot !== null; i++) {
      modelMs += 500;
      robot.tick(modelMs, t0 + modelMs);
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(robot.model.jobSnapshot).toBeNull();
    return { t0, endMs: modelMs };
  } finally {
    await robot.stop();
  }
}

describe('a simulated robot’s packaging job', () => {
  for (const protocol of ['canonical', 'legacy'] as const) {
    it(`(${protocol}) is recorded from start to completion with every scan found and counted`, async () => {
      const id = `sim_pack_${protocol}`;
      await runJob(protocol, id, 3);
      const job = await waitFor(
        async () => {
          const body = await (await t.api(`/api/v1/robots/${id}/jobs/current`)).json();
          return body.status === 'completed' && body.history_total === 3 ? body : undefined;
        },
        10_000,
        `${id}'s job completed`,
      );
      expect(job).toMatchObject({
        task_name: 'Pack',
        items_done: 3,
        items_total: 3,
        percent_complete: 100,
        success: true,
        opened_by: 'start',
        job_key: protocol === 'canonical' ? `${id}-pack` : null,
      });
      expect(job.duration_s).toBeGreaterThan(0);
      expect(job.history).toHaveLength(3);
      for (const scan of job.history) {
        expect(scan).toMatchObject({ found: true, job_id: job.id, action: 'pick' });
        expect(scan.item_name).toBe(`Item ${scan.code}`);
      }
      const jobs = await (await t.api(`/api/v1/jobs?robot_id=${id}`)).json();
      expect(jobs.total).toBe(1);
    });
  }
});
