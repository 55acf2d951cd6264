/**
 * A real full disk: the telemetry store on a small tmpfs, filled up with a file while a robot publishes, then
 * given room again. Mounting needs root, as `.ci/run` (which runs this suite) has.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/app';
import { loadConfig } from '../src/config';
import { DuckDbTelemetryStore } from '../src/telemetry/duckdb-telemetry-store';
import { connectMqtt, loopbackEnv, TEST_SERVER_ENV, waitFor } from './helpers/test-server';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  // Each one runs whatever the one before did: the tmpfs is unmounted even after a failure.
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/**
 * Writes `file` until the disk refuses, then gives `room` bytes back: the next writes succeed for a while,
 * then the disk is full while the store's write-ahead log holds data it has not checkpointed yet.
 */
async function fillDisk(file: string, room: number): Promise<void> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let size = 0;
  try {
    for (;;) size += (await handle.write(chunk)).bytesWritten;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  await handle.truncate(Math.max(0, size - room));
  await handle.close();
}

interface IngestHealth {
  store_ok: boolean;
  store_error: string | null;
  queue_points: number;
  points_stored: number;
  points_shed: number;
}

describe('the telemetry store on a disk that fills up', () => {
  it('keeps the queue while the disk is full, says why in health, and writes it all once there is room', async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'tonypi-diskfull-'));
    const disk = path.join(work, 'disk');
    await mkdir(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', disk]);
    cleanups.push(async () => {
      execFileSync('umount', ['-l', disk]);
      await rm(work, { recursive: true, force: true });
    });
    const lines: Array<{ msg: string }> = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
          done();
        },
      }),
    );
    // Frequent checkpoints and short backoffs: the outage and the recovery happen within the test.
    const store = new DuckDbTelemetryStore({
      path: path.join(disk, 'telemetry.duckdb'),
      logger,
      flushIntervalMs: 200,
      reopenBackoffMs: { first: 200, max: 1000 },
    });
    const config = loadConfig({
      ...loopbackEnv(path.join(work, 'data')),
      ...TEST_SERVER_ENV,
      INGEST_QUEUE_LIMIT: '100000',
    });
    const server = await startServer(config, { logger, telemetryStore: store });
    cleanups.push(() => server.stop());
    const ingest = async () =>
      ((await (await fetch(`${server.url}/api/v1/health`)).json()) as { ingest: IngestHealth }).ingest;

    const robot = await connectMqtt(server.mqttUrl, { clientId: 'full_disk_bot' });
    cleanups.push(() => robot.endAsync(true));
    const base = Date.now() - 200_000;
    let sent = 0;
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++, sent++) {
        const payload = JSON.stringify({ ts: base + sent * 10, percent: (sent % 1000) / 10, voltage_v: 11 });
        await robot.publishAsync('tonypi/full_disk_bot/battery', payload, { qos: 1 });
      }
    };
    await publish(500);
    await waitFor(async () => (await ingest()).points_stored === 500, 10_000, 'the first points stored');

    await fillDisk(path.join(disk, 'filler'), 256 * 1024);
    // Publish until DuckDB has invalidated the database (a checkpoint that found no room) and points wait.
    const outage = await waitFor(
      async () => {
        await publish(200);
        const s = await ingest();
        return !s.store_ok && s.queue_points > 0 && lines.some((l) => l.msg.includes('invalidated'))
          ? s
          : undefined;
      },
      30_000,
      'the store to fail on the full disk',
    );
    expect(outage.store_error).toMatch(/No space left on device/);
    expect(outage.queue_points).toBe(sent - outage.points_stored);

    await rm(path.join(disk, 'filler'));
    const recovered = await waitFor(
      async () => {
        const s = await ingest();
        return s.store_ok && s.queue_points === 0 ? s : undefined;
      },
      30_000,
      'the store to recover',
    );
    expect(recovered).toMatchObject({ points_stored: sent, points_shed: 0, store_error: null });
    expect(lines.map((l) => l.msg)).toContain('telemetry database reopened');
    const latest = await store.latest('full_disk_bot', { measurement: 'battery' });
    expect(latest[0]?.ts).toBe(base + (sent - 1) * 10);
  }, 90_000);
});
