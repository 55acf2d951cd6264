import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DuckDbTelemetryStore } from './duckdb-telemetry-store';
import { StoreBusyError } from './store-busy-error';
import type { RangeQuery } from './telemetry-store';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const QUERY: RangeQuery = {
  robot_id: 'r1',
  measurement: 'battery',
  fields: ['percent'],
  from: T0 - 3600_000,
  to: T0,
  points: 60,
};

describe('DuckDbTelemetryStore reads beyond its readers', () => {
  const stores: DuckDbTelemetryStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  async function open(readers: number, maxWaitingReads: number) {
    // Fresh tails not shared: queries of one shape asked at once would otherwise wait for one read instead
    // of each taking a reader (range-cache.test.ts covers that).
    const store = new DuckDbTelemetryStore({
      path: ':memory:',
      readers,
      maxWaitingReads,
      rangeTailMaxAgeMs: 0,
    });
    await store.init();
    stores.push(store);
    await store.append([
      { measurement: 'battery', robot_id: 'r1', ts: T0 - 60_000, fields: { percent: 80 } },
    ]);
    return store;
  }

  it('lets reads wait up to the bound and refuses the next one with StoreBusyError', async () => {
    const store = await open(1, 2);
    // Started in one tick: the first takes the only reader, two wait, the fourth is refused.
    const reads = [store.range(QUERY), store.range(QUERY), store.range(QUERY), store.range(QUERY)];
    const settled = await Promise.allSettled(reads);

    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const refused = (settled[3] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(StoreBusyError);
    expect(refused).toMatchObject({ waiting: 2, retryAfterS: 1 });
    for (const s of settled.slice(0, 3)) {
      expect((s as PromiseFulfilledResult<Awaited<(typeof reads)[0]>>).value.series[0]?.buckets[0]?.avg).toBe(
        80,
      );
    }
  });

  it('answers again once the waiting reads are done', async () => {
    const store = await open(1, 0);
    const [first, second] = await Promise.allSettled([store.range(QUERY), store.latest('r1')]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');

    const latest = await store.latest('r1', { lookback_ms: 365 * 86_400_000 });
    expect(latest[0]?.fields).toEqual({ percent: 80 });
  });

  it('never refuses a write, however many reads wait', async () => {
    const store = await open(1, 0);
    const read = store.range(QUERY);
    const refused = store.range(QUERY).catch((err: unknown) => err);
    await store.append([
      { measurement: 'battery', robot_id: 'r1', ts: T0 - 30_000, fields: { percent: 79 } },
    ]);
    await read;
    expect(await refused).toBeInstanceOf(StoreBusyError);
    expect(store.stats().rows_written).toBe(2);
  });
});

describe('DuckDbTelemetryStore checkpoints beside reads', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('checkpoints only once a running read has ended, so no write waits behind a query', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tonypi-duckdb-'));
    const store = new DuckDbTelemetryStore({ path: join(dir, 'telemetry.duckdb'), flushIntervalMs: 0 });
    try {
      await store.init();
      await store.append([{ measurement: 'battery', robot_id: 'r1', ts: T0, fields: { percent: 80 } }]);
      // Hold the range query inside its transaction (at its ROLLBACK) until the test lets it end.
      const events: string[] = [];
      let letReadEnd!: () => void;
      const readMayEnd = new Promise<void>((resolve) => {
        letReadEnd = resolve;
      });
      let readHeld!: () => void;
      const held = new Promise<void>((resolve) => {
        readHeld = resolve;
      });
      let holding = true;
      let rollupCommitted!: () => void;
      const committed = new Promise<void>((resolve) => {
        rollupCommitted = resolve;
      });
      const run = DuckDBConnection.prototype.run;
      vi.spyOn(DuckDBConnection.prototype, 'run').mockImplementation(async function (
        this: DuckDBConnection,
        ...args: Parameters<DuckDBConnection['run']>
      ) {
        const sql = args[0];
        if (sql === 'ROLLBACK' && holding) {
          holding = false;
          events.push('read in transaction');
          readHeld();
          await readMayEnd;
          events.push('read ends');
        }
        if (sql === 'CHECKPOINT') events.push('checkpoint');
        const result = await run.apply(this, args);
        if (sql === 'COMMIT' && !holding) rollupCommitted();
        return result;
      });

      const read = store.range(QUERY);
      await held;
      const maintained = store.maintain(T0 + 3600_000, { raw_ms: 1e12, minute_ms: 1e12, hour_ms: 1e12 });
      await committed;
      // The checkpoint follows the roll-up's commit within a few turns of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 100));
      letReadEnd();
      await read;
      await maintained;

      expect(events).toEqual(['read in transaction', 'read ends', 'checkpoint']);
    } finally {
      vi.restoreAllMocks();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
