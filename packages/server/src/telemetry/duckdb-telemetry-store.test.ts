import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBAppender, DuckDBInstance } from '@duckdb/node-api';
import type { TelemetryPoint } from '@tonypi/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { invalidateDuckDb } from './duckdb-faults';
import { DuckDbTelemetryStore, TelemetryStoreUnavailableError } from './duckdb-telemetry-store';
import { PartialAppendError } from './telemetry-store';
import { describeTelemetryStoreContract } from './telemetry-store.contract';

async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tonypi-duckdb-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

describeTelemetryStoreContract('DuckDB in memory', async () => {
  const store = new DuckDbTelemetryStore({ path: ':memory:' });
  await store.init();
  return { store, cleanup: () => store.close() };
});

describeTelemetryStoreContract('DuckDB file', async () => {
  const { dir, remove } = await tempDir();
  const store = new DuckDbTelemetryStore({ path: join(dir, 'telemetry.duckdb') });
  await store.init();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
});

/** Makes the `n`th appender flush from now on (1-based) throw, once; every other flush works. */
function failNthFlush(n: number): void {
  const flush = DuckDBAppender.prototype.flushSync;
  let calls = 0;
  vi.spyOn(DuckDBAppender.prototype, 'flushSync').mockImplementation(function (this: DuckDBAppender) {
    if (++calls === n) throw new Error('IO Error: disk full');
    flush.call(this);
  });
}

describe('DuckDbTelemetryStore', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('keeps points, roll-ups and watermarks across close and reopen', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const path = join(dir, 'telemetry.duckdb');
    const t0 = Date.UTC(2024, 0, 1);
    const now = Date.now();
    const points = Array.from({ length: 120 }, (_, i) => ({
      measurement: 'sensors' as const,
      robot_id: 'tonypi_01',
      ts: t0 + i * 1000,
      fields: { pitch_deg: i, humidity_percent: 2 * i },
    }));

    const first = new DuckDbTelemetryStore({ path });
    await first.init();
    await first.append(points);
    await first.append([
      { measurement: 'battery', robot_id: 'tonypi_01', ts: now - 1000, fields: { percent: 77 } },
    ]);
    await first.maintain(t0 + 10 * 60_000, { raw_ms: 60_000, minute_ms: 86_400_000, hour_ms: 86_400_000 });
    const query = {
      robot_id: 'tonypi_01',
      measurement: 'sensors' as const,
      fields: ['pitch_deg', 'humidity_percent'],
      from: t0,
      to: t0 + 2 * 60_000,
      points: 2,
    };
    const before = await first.range(query);
    await first.close();

    const second = new DuckDbTelemetryStore({ path });
    await second.init();
    cleanups.push(() => second.close());
    expect(await second.range(query)).toEqual(before);
    expect(before.series.map((s) => s.buckets.map((b) => b.count))).toEqual([
      [60, 60],
      [60, 60],
    ]);
    expect(await second.latest('tonypi_01', { measurement: 'battery' })).toEqual([
      { measurement: 'battery', tags: {}, ts: now - 1000, fields: { percent: 77 } },
    ]);
    // The watermarks survived: nothing is rolled up twice.
    expect(
      await second.maintain(t0 + 10 * 60_000, { raw_ms: 60_000, minute_ms: 86_400_000, hour_ms: 86_400_000 }),
    ).toMatchObject({ rolled_up_minutes: 0, rolled_up_hours: 0 });
  });

  it('refuses to be used after close', async () => {
    const store = new DuckDbTelemetryStore({ path: ':memory:' });
    await store.init();
    await store.close();
    await expect(store.append([])).rejects.toThrow(/closed/);
    await store.close();
  });

  it('drops what it cannot store, keeps the rest, and warns once per kind', async () => {
    const warnings: string[] = [];
    const store = new DuckDbTelemetryStore({
      path: ':memory:',
      logger: { warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
    });
    await store.init();
    cleanups.push(() => store.close());
    const now = Date.now();
    const bad = [
      { measurement: 'weather', robot_id: 'tonypi_01', ts: now, fields: { x: 1 } },
      { measurement: 'sensors', robot_id: 'tonypi_01', ts: Number.NaN, fields: { pitch_deg: 1 } },
      {
        measurement: 'sensors',
        robot_id: 'tonypi_01',
        ts: now,
        tags: { sensor: 'imu' },
        fields: { 'Bad-Name': 1 },
      },
      {
        measurement: 'sensors',
        robot_id: 'tonypi_01',
        ts: now - 1,
        fields: { pitch_deg: Number.POSITIVE_INFINITY, roll_deg: 2 },
      },
    ] as unknown as TelemetryPoint[];
    await store.append(bad);
    await store.append(bad);
    const [latest] = await store.latest('tonypi_01', { measurement: 'sensors' });
    expect(latest).toMatchObject({ ts: now, tags: {}, fields: {} });
    expect(await store.fields('tonypi_01', 'sensors')).toEqual(['roll_deg']);
    expect(store.stats().points_written).toBe(4);
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/dropped.*"dropped":2/);
    expect(warnings.join('\n')).toMatch(/undeclared telemetry tag.*sensor/);
    expect(warnings.join('\n')).toMatch(/field dropped.*Bad-Name/);
  });

  it('warns about a misnamed tag even when the tag count matches, and stores whole milliseconds', async () => {
    const warnings: string[] = [];
    const store = new DuckDbTelemetryStore({
      path: ':memory:',
      logger: { warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
    });
    await store.init();
    cleanups.push(() => store.close());
    const now = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    await store.append([
      { measurement: 'servos', robot_id: 'r1', ts: now + 0.6, tags: { servo: '3' }, fields: { position: 1 } },
    ]);
    expect(warnings.join('\n')).toMatch(/undeclared telemetry tag.*"tag":"servo"/);
    const [latest] = await store.latest('r1', { measurement: 'servos' });
    expect(latest?.ts).toBe(now + 1);
  });

  describe('a write that fails', () => {
    const t0 = Date.now() - 3_600_000;
    /** Sensors and servo points taking turns, so every part of a large batch flushes two appenders. */
    const mixed = (n: number): TelemetryPoint[] =>
      Array.from(
        { length: n },
        (_, i): TelemetryPoint =>
          i % 2 === 0
            ? { measurement: 'sensors', robot_id: 'r1', ts: t0 + i, fields: { pitch_deg: i } }
            : {
                measurement: 'servos',
                robot_id: 'r1',
                ts: t0 + i,
                tags: { servo_id: '1' },
                fields: { position: i },
              },
      );
    /** How many points each measurement holds, and the newest time stored. */
    const contents = async (store: DuckDbTelemetryStore) => {
      const count = async (measurement: 'sensors' | 'servos', field: string) => {
        const r = await store.range({
          robot_id: 'r1',
          measurement,
          fields: [field],
          from: t0,
          to: t0 + 60_000,
          points: 1,
        });
        return r.series[0]?.buckets.reduce((n, b) => n + b.count, 0) ?? 0;
      };
      return { sensors: await count('sensors', 'pitch_deg'), servos: await count('servos', 'position') };
    };

    it('part-way says how many points it stored, so retrying the rest stores every point once', async () => {
      const store = new DuckDbTelemetryStore({ path: ':memory:' });
      await store.init();
      cleanups.push(() => store.close());
      const points = mixed(10_000);
      // A large batch is written in parts; this fails a part after its first measurement's flush.
      failNthFlush(4);

      const failure = await store.append(points).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(PartialAppendError);
      const stored = (failure as PartialAppendError).stored;
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(points.length);
      // Exactly the first `stored` points are in the store, nothing of the failed part.
      expect(await contents(store)).toEqual({ sensors: stored / 2, servos: stored / 2 });
      expect(store.stats().points_written).toBe(stored);

      await store.append(points.slice(stored));
      expect(await contents(store)).toEqual({ sensors: 5000, servos: 5000 });
      expect(store.stats()).toMatchObject({ points_written: 10_000, rows_written: 10_000 });
    });

    it('before anything is stored rejects with the plain error, and the next write works', async () => {
      const store = new DuckDbTelemetryStore({ path: ':memory:' });
      await store.init();
      cleanups.push(() => store.close());
      const points = mixed(10);
      failNthFlush(2);

      const failure = await store.append(points).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(failure).not.toBeInstanceOf(PartialAppendError);
      expect(await contents(store)).toEqual({ sensors: 0, servos: 0 });

      await store.append(points);
      expect(await contents(store)).toEqual({ sensors: 5, servos: 5 });
      expect(store.stats().points_written).toBe(10);
    });
  });

  it('appends a large batch while reads and checkpoints run', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const store = new DuckDbTelemetryStore({ path: join(dir, 't.duckdb'), flushIntervalMs: 20 });
    await store.init();
    cleanups.push(() => store.close());
    const t0 = Date.now() - 60 * 60_000;
    const batch = (k: number) =>
      Array.from({ length: 20_000 }, (_, i) => ({
        measurement: 'sensors' as const,
        robot_id: `tonypi_${i % 4}`,
        ts: t0 + k * 20_000 + i,
        fields: { pitch_deg: i % 90, roll_deg: 1, yaw_deg: 2 },
      }));
    const reads = Array.from({ length: 5 }, () =>
      store.range({ robot_id: 'tonypi_1', measurement: 'sensors', fields: [], from: t0, to: Date.now() }),
    );
    for (let k = 0; k < 3; k++) await store.append(batch(k));
    await Promise.all(reads);
    const r = await store.range({
      robot_id: 'tonypi_1',
      measurement: 'sensors',
      fields: ['pitch_deg'],
      from: t0,
      to: Date.now(),
      points: 1,
    });
    expect(r.series[0]?.buckets.reduce((n, b) => n + b.count, 0)).toBe(15_000);
    expect(store.stats()).toMatchObject({ points_written: 60_000, rows_written: 60_000, flushes: 3 });
  });
});

describe('DuckDbTelemetryStore after a fatal error', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A store on a temp file whose instances the test can see, and whose next opens fail while `refuse` is set. */
  async function openStore() {
    const { dir, remove } = await tempDir();
    const instances: DuckDBInstance[] = [];
    const faults = { refuse: undefined as string | undefined, opens: 0 };
    const warnings: string[] = [];
    const store = new DuckDbTelemetryStore({
      path: join(dir, 'telemetry.duckdb'),
      flushIntervalMs: 0,
      // Long: only retryNow() makes a reopen due, so nothing here depends on timing.
      reopenBackoffMs: { first: 3_600_000, max: 3_600_000 },
      logger: { warn: (_obj, msg) => warnings.push(msg) },
      openInstance: async (path, options) => {
        faults.opens++;
        if (faults.refuse) throw new Error(faults.refuse);
        const instance = await DuckDBInstance.create(path, options);
        instances.push(instance);
        return instance;
      },
    });
    await store.init();
    cleanups.push(async () => {
      await store.close();
      await remove();
    });
    return { store, path: join(dir, 'telemetry.duckdb'), instances, faults, warnings };
  }

  const t0 = Date.now() - 60_000;
  const battery = (from: number, n: number): TelemetryPoint[] =>
    Array.from({ length: n }, (_, i) => ({
      measurement: 'battery' as const,
      robot_id: 'tonypi_01',
      ts: t0 + (from + i) * 10,
      fields: { percent: from + i },
    }));
  const count = async (store: DuckDbTelemetryStore) => {
    const r = await store.range({
      robot_id: 'tonypi_01',
      measurement: 'battery',
      fields: ['percent'],
      from: t0,
      to: t0 + 60_000,
      points: 1,
    });
    return r.series[0]?.buckets.reduce((n, b) => n + b.count, 0) ?? 0;
  };

  it('says it is unavailable, refuses at once while it waits, then reopens and keeps everything', async () => {
    const { store, instances, faults, warnings } = await openStore();
    await store.append(battery(0, 100));
    await invalidateDuckDb(instances[0]!);

    // The first call meets DuckDB's own refusal, and the store notices what it means.
    await expect(store.append(battery(100, 50))).rejects.toThrow(/database has been invalidated/);
    expect(store.unavailable()).toMatch(/database has been invalidated|FATAL/);
    expect(warnings).toContain(
      'telemetry database invalidated by a fatal error; it is reopened once it can be written again',
    );
    // Until the backoff is over: refused without touching DuckDB, for writes and reads alike.
    await expect(store.append(battery(100, 50))).rejects.toThrow(TelemetryStoreUnavailableError);
    await expect(count(store)).rejects.toThrow(/next reopen in \d+ s/);
    expect(faults.opens).toBe(1);

    // The disk is still full: the reopen fails, says why, and the store stays unavailable.
    faults.refuse = 'IO Error: Could not write file "telemetry.duckdb.wal": No space left on device';
    store.retryNow();
    await expect(store.append(battery(100, 50))).rejects.toThrow(
      /reopening it failed: IO Error: Could not write file .*No space left on device/,
    );
    expect(faults.opens).toBe(2);
    expect(warnings).toContain('telemetry database could not be reopened');
    expect(store.unavailable()).not.toBeNull();

    // Room again: the next due call reopens it, and what was stored before is still there.
    faults.refuse = undefined;
    store.retryNow();
    await store.append(battery(100, 50));
    expect(store.unavailable()).toBeNull();
    expect(store.stats().reopens).toBe(1);
    expect(warnings).toContain('telemetry database reopened');
    expect(await count(store)).toBe(150);
    const latest = await store.latest('tonypi_01', { measurement: 'battery' });
    expect(latest[0]?.fields.percent).toBe(149);
  });

  it('closes cleanly while the database is invalidated, and the file opens again afterwards', async () => {
    const { store, path, instances } = await openStore();
    await store.append(battery(0, 20));
    await invalidateDuckDb(instances[0]!);
    await expect(store.append(battery(20, 1))).rejects.toThrow(/invalidated/);
    await store.close();
    const again = new DuckDbTelemetryStore({ path, flushIntervalMs: 0 });
    await again.init();
    try {
      expect(await count(again)).toBe(20);
    } finally {
      await again.close();
    }
  });
});

describe('DuckDB rollups (reports)', () => {
  it("reads many robots' roll-ups of a measurement in one scan, per robot, field and tag set, in the bucket asked", async () => {
    const store = new DuckDbTelemetryStore({ path: ':memory:' });
    await store.init();
    try {
      const t0 = Date.UTC(2026, 10, 30, 0, 0, 0);
      const points: TelemetryPoint[] = [];
      for (let i = 0; i < 120; i++) {
        const ts = t0 + i * 30_000; // every 30 s for an hour
        for (const [robot, cpu] of [
          ['rb_a', 10],
          ['rb_b', 50],
        ] as const) {
          points.push({
            measurement: 'system',
            robot_id: robot,
            ts,
            fields: { cpu_percent: cpu + (i % 2) * 2 },
          });
          points.push({
            measurement: 'servos',
            robot_id: robot,
            tags: { servo_id: '3' },
            ts,
            fields: { temperature_c: 60 },
          });
        }
      }
      points.push({ measurement: 'system', robot_id: 'rb_other', ts: t0, fields: { cpu_percent: 99 } });
      await store.append(points);
      await store.maintain(t0 + 2 * 3_600_000, {
        raw_ms: 86_400_000 * 7,
        minute_ms: 86_400_000 * 90,
        hour_ms: 86_400_000 * 730,
      });

      const system = await store.rollups({
        measurement: 'system',
        robot_ids: ['rb_a', 'rb_b'],
        from: t0,
        to: t0 + 3_600_000,
        bucket_ms: 600_000,
      });
      const cpu = system.filter((s) => s.field === 'cpu_percent');
      expect(cpu.map((s) => s.robot_id)).toEqual(['rb_a', 'rb_b']);
      for (const s of cpu) {
        expect(s.bucket_ms).toBe(600_000);
        expect(s.buckets).toHaveLength(6);
        expect(s.buckets[0]).toMatchObject({ t: t0, count: 20 });
      }
      expect(cpu[0]?.buckets[0]?.avg).toBeCloseTo(11);
      expect(cpu[1]?.buckets[0]).toMatchObject({ min: 50, max: 52 });
      const servos = await store.rollups({
        measurement: 'servos',
        from: t0,
        to: t0 + 3_600_000,
        bucket_ms: 3_600_000,
      });
      expect(servos.map((s) => [s.robot_id, s.tags, s.field])).toEqual([
        ['rb_a', { servo_id: '3' }, 'temperature_c'],
        ['rb_b', { servo_id: '3' }, 'temperature_c'],
      ]);
      expect(servos[0]?.buckets).toEqual([{ t: t0, avg: 60, min: 60, max: 60, count: 120 }]);
      // Minutes not yet in an hour roll-up (after the hour watermark) are folded into the hour buckets too.
      const later = t0 + 3 * 3_600_000;
      await store.append([
        { measurement: 'system', robot_id: 'rb_a', ts: later + 60_000, fields: { cpu_percent: 80 } },
      ]);
      await store.maintain(later + 10 * 60_000, {
        raw_ms: 86_400_000 * 7,
        minute_ms: 86_400_000 * 90,
        hour_ms: 86_400_000 * 730,
      });
      const recent = await store.rollups({
        measurement: 'system',
        robot_ids: ['rb_a'],
        from: t0,
        to: later + 3_600_000,
        bucket_ms: 3_600_000,
      });
      const recentCpu = recent.find((s) => s.field === 'cpu_percent');
      expect(recentCpu?.buckets.map((b) => b.t)).toEqual([t0, later]);
      expect(recentCpu?.buckets[1]).toMatchObject({ avg: 80, count: 1 });
      expect(
        await store.rollups({
          measurement: 'system',
          robot_ids: [],
          from: t0,
          to: t0 + 1,
          bucket_ms: 60_000,
        }),
      ).toEqual([]);
      await expect(
        store.rollups({ measurement: 'coffee', from: t0, to: t0 + 1, bucket_ms: 60_000 }),
      ).rejects.toThrow('Unknown measurement coffee');
    } finally {
      await store.close();
    }
  });
});
