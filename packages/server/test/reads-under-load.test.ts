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

/**
 * A server with one history slot and one place in line, whose store holds every range query until
 * `release` (the spy counts the queries that reached it).
 */
async function oneSlotHeld() {
  await t.close();
  t = await startTestServer({ READER_SLOTS: '1', READER_WAIT_LIMIT: '1' });
  await robotSpeaks('r1', 80);
  await waitFor(async () => (await t.api(RANGE)).status === 200);
  const rangeJson = t.server.store.rangeJson!.bind(t.server.store);
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const spy = vi.spyOn(t.server.store, 'rangeJson').mockImplementation(async (q) => {
    await held;
    return rangeJson(q);
  });
  return { spy, release };
}

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

  it('answers history reads READER_SLOTS at a time, in line, and 503 when the line is full', async () => {
    const { spy, release } = await oneSlotHeld();

    const first = t.api(RANGE);
    await waitFor(() => spy.mock.calls.length === 1);
    const second = t.api(RANGE);
    // The second waits in line (the store is not asked); a third finds the line full.
    const third = await waitFor(async () => {
      const res = await t.api(RANGE);
      return res.status === 503 ? res : undefined;
    });
    expect(third.headers.get('retry-after')).toBe('1');
    expect(await third.json()).toEqual({
      error: {
        code: 'service_unavailable',
        message: 'The server is busy answering other history queries (1 waiting); try again in 1 s',
      },
    });
    expect(spy).toHaveBeenCalledTimes(1);
    // The robot list is no history read: it does not wait.
    expect((await t.api('/api/v1/robots')).status).toBe(200);

    release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect(spy).toHaveBeenCalledTimes(2);
    const metrics = await (await t.api('/metrics', { anonymous: true })).text();
    expect(Number(/^tonypi_http_reads_waited_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('gives up the place of a history reader that went away while in line', async () => {
    const { spy, release } = await oneSlotHeld();
    const first = t.api(RANGE);
    await waitFor(() => spy.mock.calls.length === 1);
    const leaving = new AbortController();
    const gone = t.api(RANGE, { signal: leaving.signal }).catch((err: Error) => err.name);
    await waitFor(() => t.server.service('pressure').paced().waiting === 1);
    leaving.abort();
    expect(await gone).toBe('AbortError');
    // Its place is free again: the next reader waits in line rather than being refused.
    await waitFor(() => t.server.service('pressure').paced().waiting === 0);
    const next = t.api(RANGE);
    await waitFor(() => t.server.service('pressure').paced().waiting === 1);
    release();
    expect((await first).status).toBe(200);
    expect((await next).status).toBe(200);
    // The reader who left was never answered from the store.
    expect(spy).toHaveBeenCalledTimes(2);
    expect(t.server.service('pressure').paced()).toEqual({ running: 0, waiting: 0 });
  });
});
