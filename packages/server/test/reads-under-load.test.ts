import { RobotList, TelemetryResponse } from '@tonypi/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreBusyError } from '../src/telemetry/store-busy-error';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t.close();
});

async function robotSpeaks(robot_id: string, percent: number) {
  // A robot speaks under its own client id (the embedded broker's identity for anonymous robots).
  const c = await connectMqtt(t.mqttUrl, { clientId: robot_id });
  await c.publishAsync(`tonypi/${robot_id}/battery`, JSON.stringify({ percent, voltage_v: 11.5 }));
  await c.endAsync();
}

const RANGE = '/api/v1/robots/r1/telemetry?measurement=battery&from=1h';

describe('reads while robots write', () => {
  it('serves GET /api/v1/robots as JSON that matches its schema, with the newest value within a second', async () => {
    await robotSpeaks('r1', 80);
    const listed = await waitFor(async () => {
      const res = await t.api('/api/v1/robots?limit=100');
      const body = RobotList.parse(await res.json());
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      return body.items[0]?.latest.measurements.battery?.fields.percent === 80 ? body : undefined;
    });
    expect(listed.items[0]).toMatchObject({ robot_id: 'r1', status: 'online' });
    const range = await t.api(RANGE);
    expect(range.status).toBe(200);
    TelemetryResponse.parse(await range.json());
  });

  it('answers 503 with Retry-After when too many queries wait for the store', async () => {
    await robotSpeaks('r1', 80);
    await waitFor(async () => (await t.api(RANGE)).status === 200);
    vi.spyOn(t.server.store, 'rangeJson').mockRejectedValueOnce(new StoreBusyError(8));

    const res = await t.api(RANGE);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({
      error: {
        code: 'service_unavailable',
        message: 'The telemetry store is busy with other queries (8 waiting); try again shortly',
      },
    });
    expect((await t.api(RANGE)).status).toBe(200);
  });

  it('refuses heavy reads with 503 while the ingest queue is over half full, and keeps taking in telemetry', async () => {
    await robotSpeaks('r1', 80);
    await waitFor(async () => (await t.api('/api/v1/robots')).status === 200);
    const pipeline = t.server.pipeline;
    const stats = pipeline.stats.bind(pipeline);
    vi.spyOn(pipeline, 'stats').mockImplementation(() => {
      const s = stats();
      return { ...s, queue_points: s.queue_limit * 0.6 };
    });

    const refused = await waitFor(async () => {
      const res = await t.api('/api/v1/robots');
      return res.status === 503 ? res : undefined;
    });
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      error: {
        code: 'service_unavailable',
        message:
          'The server is busy taking in telemetry (the telemetry store queue is 60 % full); try again in 1 s',
      },
    });
    expect((await t.api(RANGE)).status).toBe(503);
    expect((await t.api('/api/v1/robots/r1/latest')).status).toBe(503);
    // Each refusal is counted where operators look: at least the three above.
    const metrics = await (await t.api('/metrics', { anonymous: true })).text();
    const refusals = Number(/^tonypi_http_reads_refused_total (\d+)$/m.exec(metrics)?.[1]);
    expect(refusals).toBeGreaterThanOrEqual(3);
    // Light reads and health still answer; telemetry still comes in.
    expect((await t.api('/api/v1/robots/r1')).status).toBe(200);
    expect((await t.api('/api/v1/health', { anonymous: true })).status).toBe(200);
    const accepted = stats().messages_accepted;
    await robotSpeaks('r1', 79);
    await waitFor(() => stats().messages_accepted > accepted);

    vi.restoreAllMocks();
    await waitFor(async () => (await t.api('/api/v1/robots')).status === 200);
  });
});
