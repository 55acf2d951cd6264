import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { killLeftovers, login, logLines, spawnServer } from './helpers/server-process';
import { waitFor } from './helpers/test-server';

const dirs: string[] = [];
afterAll(async () => {
  killLeftovers();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Each test starts the real server twice (the first start creates the database): minutes on a busy machine. */
const TWO_STARTS_MS = 180_000;
const N = 3000;
/** One message every 50 ms of event time: a 50 ms bucket of the range query holds exactly one. */
const SPACING_MS = 50;

describe('a SIGTERM while a robot publishes at QoS 1', () => {
  it(
    'stores every message the broker acknowledged, once, and exits cleanly',
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-shutdown-'));
      dirs.push(dataDir);
      const first = await spawnServer(dataDir);
      const base = Math.floor((Date.now() - 200_000) / 1000) * 1000;
      const acked = new Set<number>();
      const client = mqtt.connect(first.mqttUrl, { clientId: 'shutdown_bot', reconnectPeriod: 0 });
      client.on('error', () => undefined);
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      let terminated = false;
      // A steady stream (about 2000 messages a second), so the signal lands in its middle.
      for (let i = 0; i < N && !client.disconnected; i++) {
        if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        const payload = JSON.stringify({ ts: base + i * SPACING_MS, percent: i / 100 });
        client.publish('tonypi/shutdown_bot/battery', payload, { qos: 1 }, (err) => {
          if (err) return;
          acked.add(i);
          // Mid-stream: a quarter is acknowledged, the rest is still on its way.
          if (!terminated && acked.size >= N / 4) {
            terminated = true;
            first.child.kill('SIGTERM');
          }
        });
      }
      expect(await first.exited).toBe(0);
      client.end(true);
      expect(terminated).toBe(true);
      // Some messages were refused unacknowledged: the test covers the stream's middle, not its end.
      expect(acked.size).toBeGreaterThanOrEqual(N / 4);
      expect(acked.size).toBeLessThan(N);
      const log = logLines(first.output());
      expect(log.map((l) => l.msg)).toContain('stopped');
      expect(log.filter((l) => l.msg === 'telemetry points not stored at shutdown')).toEqual([]);

      const second = await spawnServer(dataDir);
      try {
        const token = await login(second.url);
        const res = await fetch(
          `${second.url}/api/v1/robots/shutdown_bot/telemetry?measurement=battery&field=percent` +
            `&from=${base}&to=${base + N * SPACING_MS}&points=${N}`,
          { headers: { authorization: `Bearer ${token}` } },
        );
        const body = (await res.json()) as {
          bucket_ms: number;
          series: Array<{ points: Array<{ t: string; count: number }> }>;
        };
        expect(body.bucket_ms).toBe(SPACING_MS);
        const counts = new Map<number, number>();
        for (const p of body.series[0]?.points ?? []) {
          counts.set((Date.parse(p.t) - base) / SPACING_MS, p.count);
        }
        const missing = [...acked].filter((i) => counts.get(i) !== 1);
        expect(missing).toEqual([]);
        // Nothing stored twice, nothing that was not sent.
        expect([...counts.values()].every((c) => c === 1)).toBe(true);
        expect([...counts.keys()].every((i) => Number.isInteger(i) && i >= 0 && i < N)).toBe(true);
      } finally {
        second.child.kill('SIGTERM');
        expect(await second.exited).toBe(0);
      }
    },
    TWO_STARTS_MS,
  );
});

describe('the stale lock of a killed server', () => {
  it(
    'is taken over by the next start, which says so',
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-killed-'));
      dirs.push(dataDir);
      const first = await spawnServer(dataDir);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      const second = await spawnServer(dataDir);
      try {
        const takeover = logLines(second.output()).find((l) =>
          String(l.msg).includes('lock left by process'),
        );
        expect(takeover).toMatchObject({ level: 40, stale_pid: first.child.pid });
        await waitFor(async () => (await fetch(`${second.url}/api/v1/health`)).ok);
      } finally {
        second.child.kill('SIGTERM');
        expect(await second.exited).toBe(0);
      }
    },
    TWO_STARTS_MS,
  );
});

describe('a signal while the server is still starting', () => {
  it(
    'lets the start finish, then shuts down cleanly and frees the data dir',
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-early-signal-'));
      dirs.push(dataDir);
      // A first start (it creates the database) is the longest: the signal lands well before it ends.
      const early = await spawnServer(dataDir, {
        readyWhen: (out) => logLines(out).some((l) => l.msg === 'starting'),
      });
      early.child.kill('SIGTERM');
      expect(await early.exited, early.output()).toBe(0);
      const msgs = logLines(early.output()).map((l) => l.msg);
      expect(msgs).toContain('signal during start-up: stopping as soon as the server has started');
      expect(msgs).toContain('stopped');
      // Nothing left behind: the next start takes no stale lock over.
      const next = await spawnServer(dataDir);
      expect(logLines(next.output()).some((l) => String(l.msg).includes('lock left by process'))).toBe(false);
      next.child.kill('SIGTERM');
      expect(await next.exited).toBe(0);
    },
    TWO_STARTS_MS,
  );
});
