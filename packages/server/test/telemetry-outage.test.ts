import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/app';
import { loadConfig } from '../src/config';
import { invalidateDuckDb } from '../src/telemetry/duckdb-faults';
import { DuckDbTelemetryStore } from '../src/telemetry/duckdb-telemetry-store';
import { login } from './helpers/server-process';
import { connectMqtt, loopbackEnv, TEST_SERVER_ENV, waitFor } from './helpers/test-server';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Health {
  status: string;
  components: { telemetry: { status: string; detail?: string } };
  ingest: { store_ok: boolean; store_error: string | null; queue_points: number; points_shed: number };
}

describe('a telemetry database invalidated by a fatal error (a checkpoint on a full disk)', () => {
  it('is reported in health with the true queue, reopened once it can be written, and loses nothing within the queue limit', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-outage-'));
    dirs.push(dataDir);
    const lines: Array<Record<string, unknown> & { msg: string }> = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
          done();
        },
      }),
    );
    const instances: DuckDBInstance[] = [];
    const disk = { full: false };
    const store = new DuckDbTelemetryStore({
      path: path.join(dataDir, 'telemetry.duckdb'),
      logger,
      // Long: the store reopens only when the test says the disk has room (retryNow), never by timing.
      reopenBackoffMs: { first: 3_600_000, max: 3_600_000 },
      openInstance: async (file, options) => {
        if (disk.full)
          throw new Error(`IO Error: Could not write file "${file}.wal": No space left on device`);
        const instance = await DuckDBInstance.create(file, options);
        instances.push(instance);
        return instance;
      },
    });
    const config = loadConfig({ ...loopbackEnv(dataDir), ...TEST_SERVER_ENV, INGEST_QUEUE_LIMIT: '300' });
    const server = await startServer(config, { logger, telemetryStore: store });
    let stopped = false;
    try {
      const health = async () => (await (await fetch(`${server.url}/api/v1/health`)).json()) as Health;
      const robot = await connectMqtt(server.mqttUrl, { clientId: 'outage_bot' });
      const base = Math.floor((Date.now() - 100_000) / 1000) * 1000;
      const publish = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          await robot.publishAsync(
            'tonypi/outage_bot/battery',
            JSON.stringify({ ts: base + i * 100, percent: i / 10 }),
            {
              qos: 1,
            },
          );
        }
      };
      await publish(0, 100);
      await waitFor(() => server.pipeline.stats().points_stored === 100, 30_000, '100 points stored');

      await invalidateDuckDb(instances[0]!);
      disk.full = true;
      // 300 fill the queue to its limit (whatever is being written counts), 50 more are shed.
      await publish(100, 450);
      const down = await waitFor(
        async () => {
          const h = await health();
          return h.ingest.queue_points === 300 && !h.ingest.store_ok ? h : undefined;
        },
        30_000,
        'health to show the outage',
      );
      expect(down).toMatchObject({
        status: 'degraded',
        components: {
          telemetry: { status: 'down', detail: expect.stringMatching(/invalidated|unavailable/) },
        },
        ingest: { store_ok: false, queue_points: 300, points_shed: 50 },
      });
      expect(lines.map((l) => l.msg)).toContain(
        'telemetry database invalidated by a fatal error; it is reopened once it can be written again',
      );

      // Room again: the next flush reopens the database and writes the queue.
      disk.full = false;
      store.retryNow();
      const up = await waitFor(
        async () => {
          const h = await health();
          return h.ingest.store_ok && h.ingest.queue_points === 0 ? h : undefined;
        },
        30_000,
        'the store to recover',
      );
      expect(up).toMatchObject({ status: 'ok', components: { telemetry: { status: 'up' } } });
      expect(lines.map((l) => l.msg)).toContain('telemetry database reopened');

      // Every point before the outage and every queued one stored, each once: 100 ms buckets of one point.
      const token = await login(server.url);
      // Readers give way while the queue was full (sampled a few times a second): retry a 503 as a client does.
      const res = await waitFor(
        async () => {
          const r = await fetch(
            `${server.url}/api/v1/robots/outage_bot/telemetry?measurement=battery&field=percent` +
              `&from=${base}&to=${base + 45_000}&points=450`,
            { headers: { authorization: `Bearer ${token}` } },
          );
          return r.status === 503 ? undefined : r;
        },
        10_000,
        'the history query to be answered',
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        bucket_ms: number;
        series: Array<{ points: Array<{ t: string; count: number }> }>;
      };
      expect(body.bucket_ms).toBe(100);
      const stored = (body.series[0]?.points ?? []).map((p) => ({
        i: (Date.parse(p.t) - base) / 100,
        count: p.count,
      }));
      expect(stored.every((p) => p.count === 1)).toBe(true);
      expect(stored.map((p) => p.i)).toEqual(Array.from({ length: 400 }, (_, i) => i));

      await robot.endAsync(true);
      await server.stop();
      stopped = true;
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 50,
          msg: 'telemetry points lost since the start: 50 of 450',
          points_lost: 50,
          shed_queue_full: 50,
          not_stored_at_shutdown: 0,
        }),
      );
    } finally {
      if (!stopped) await server.stop();
    }
  }, 120_000);
});
