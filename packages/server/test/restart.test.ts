import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectMqtt, startTestServer, waitFor } from './helpers/test-server';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('a restart on the same DATA_DIR', () => {
  it('keeps robots (offline until they speak), their history and the admin, and flushes everything on stop', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-restart-'));
    dirs.push(dataDir);
    const first = await startTestServer({}, { keepDataDir: dataDir });
    const c = await connectMqtt(first.mqttUrl, { clientId: 'tonypi_keep' });
    const now = Date.now();
    for (let i = 0; i < 50; i++)
      c.publish(
        'tonypi/tonypi_keep/battery',
        JSON.stringify({ ts: now - 5000 + i * 100, percent: 50 + i / 10 }),
      );
    await c.publishAsync('tonypi/tonypi_keep/status', JSON.stringify({ status: 'online' }), { qos: 1 });
    await waitFor(async () => first.server.pipeline.stats().messages_accepted === 51);
    await c.endAsync(true);
    // Stop right away: the 50 points may still be waiting for the store; stop() must flush them.
    await first.close();

    const second = await startTestServer({}, { keepDataDir: dataDir });
    try {
      const robot = await (await second.api('/api/v1/robots/tonypi_keep')).json();
      expect(robot.status).toBe('offline');
      const history = await (
        await second.api(
          `/api/v1/robots/tonypi_keep/telemetry?measurement=battery&field=percent&from=${now - 10_000}&to=${now + 1000}&points=10`,
        )
      ).json();
      const stored = history.series[0].points.reduce((n: number, p: { count: number }) => n + p.count, 0);
      expect(stored).toBe(50);
      const latest = await (await second.api('/api/v1/robots/tonypi_keep/latest')).json();
      expect(latest.measurements.battery.fields.percent).toBeCloseTo(54.9);
      expect(second.server.generatedAdminPassword).toBeUndefined();
    } finally {
      await second.close();
    }
  });
});
