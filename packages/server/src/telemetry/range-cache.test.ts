import type { TelemetryPoint } from '@tonypi/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbTelemetryStore } from './duckdb-telemetry-store';
import { closedBuckets, RangeCache, RecentTails, type SeriesAccs } from './range-cache';
import type { RangeQuery, RangeResult, RetentionPolicy } from './telemetry-store';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 0, 1);
const KEEP_ALL: RetentionPolicy = { raw_ms: 3650 * DAY, minute_ms: 3650 * DAY, hour_ms: 3650 * DAY };

/**
 * Four hours of a robot every 10 s (integer values, so every store sums exactly), with a quarter of an hour
 * missing (empty buckets), an unknown field stored beside the known ones, and two servos every 30 s.
 */
function history(): TelemetryPoint[] {
  const points: TelemetryPoint[] = [];
  for (let i = 0; i < (4 * HOUR) / (10 * SECOND); i++) {
    const ts = T0 + i * 10 * SECOND;
    if (ts >= T0 + HOUR + 10 * MINUTE && ts < T0 + HOUR + 25 * MINUTE) continue;
    points.push({
      measurement: 'sensors',
      robot_id: 'r1',
      ts,
      fields: { pitch_deg: (i * 7) % 23, roll_deg: -((i * 5) % 11), extra_gain: i % 13 },
    });
    if (i % 3 === 0) {
      for (const servo_id of ['1', '2']) {
        points.push({
          measurement: 'servos',
          robot_id: 'r1',
          tags: { servo_id },
          ts,
          fields: { position: (i * Number(servo_id)) % 1000 },
        });
      }
    }
  }
  return points;
}

const pitchAndMore: Pick<RangeQuery, 'robot_id' | 'measurement' | 'fields'> = {
  robot_id: 'r1',
  measurement: 'sensors',
  fields: ['pitch_deg', 'extra_gain', 'roll_deg'],
};

/** The API's `series` of an answer as JSON text, the way the service maps and serialises `range`. */
function apiSeriesJson(r: RangeResult): string {
  return JSON.stringify(
    r.series.map((s) => ({
      field: s.field,
      tags: s.tags,
      points: s.buckets.map((b) => ({ ...b, t: new Date(b.t).toISOString() })),
    })),
  );
}

describe('range answers with the closed-bucket cache', () => {
  /**
   * The store under test, the same store without a cache (what every answer must equal), and another cached
   * store asked for the same answers as prepared JSON text.
   */
  let cached: DuckDbTelemetryStore;
  let plain: DuckDbTelemetryStore;
  let textual: DuckDbTelemetryStore;

  beforeEach(async () => {
    cached = new DuckDbTelemetryStore({ path: ':memory:' });
    plain = new DuckDbTelemetryStore({ path: ':memory:', rangeCacheCells: 0 });
    textual = new DuckDbTelemetryStore({ path: ':memory:' });
    await cached.init();
    await plain.init();
    await textual.init();
    await both((s) => s.append(history()));
  });
  afterEach(async () => {
    await cached.close();
    await plain.close();
    await textual.close();
  });

  /** Does the same to every store. */
  async function both(fn: (s: DuckDbTelemetryStore) => Promise<unknown>): Promise<void> {
    await fn(cached);
    await fn(plain);
    await fn(textual);
  }

  /**
   * Asks the stores; the cached answer must be the uncached one, bucket for bucket, and the prepared JSON
   * text (joined from the cache's bucket text) must be that answer's API series serialised.
   */
  async function same(q: Omit<RangeQuery, 'robot_id' | 'measurement' | 'fields'> & Partial<RangeQuery>) {
    const query = { ...pitchAndMore, ...q } as RangeQuery;
    const expected = await plain.range(query);
    const actual: RangeResult = await cached.range(query);
    expect(actual).toEqual(expected);
    const text = await textual.rangeJson(query);
    expect({ ...text, series_json: Buffer.concat(text.series_json).toString() }).toEqual({
      resolution: expected.resolution,
      bucket_ms: expected.bucket_ms,
      series_json: apiSeriesJson(expected),
    });
    return actual;
  }

  it('answers sliding windows as the uncached store does, over empty buckets, bucket edges and the raw tail', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR + 30 * SECOND, KEEP_ALL));
    const windows: [number, number][] = [];
    // Two hours, 2-minute buckets, sliding by 97 s: first buckets cut anywhere, last ones in raw.
    for (let k = 0; k < 16; k++)
      windows.push([T0 + 30 * MINUTE + k * 97 * SECOND, T0 + 150 * MINUTE + k * 97 * SECOND]);
    windows.push(
      [T0 + HOUR, T0 + 3 * HOUR], // both ends on bucket edges, ending at the minute watermark
      [T0 + HOUR - 1, T0 + 3 * HOUR + 1], // one millisecond past both edges
      [T0 + HOUR + 5 * MINUTE, T0 + HOUR + 30 * MINUTE + 2 * HOUR], // starting inside the gap
    );
    for (const [from, to] of windows) {
      const r = await same({ from, to, points: 60 });
      expect(r.resolution).toBe('1m');
      await same({ fields: [], from, to, points: 60 });
      await same({ measurement: 'servos', fields: ['position'], from, to, points: 60 });
      await same({
        measurement: 'servos',
        fields: ['position'],
        tags: { servo_id: '2' },
        from,
        to,
        points: 60,
      });
    }
    const gap = (await same({ from: T0 + HOUR, to: T0 + 3 * HOUR, points: 60 })).series[0]!.buckets;
    expect(gap.some((b) => b.t === T0 + HOUR + 10 * MINUTE)).toBe(false);
    expect(gap.at(-1)).toMatchObject({ t: T0 + 3 * HOUR - 2 * MINUTE, count: 12 });
    // 76 queries of 4 shapes: all but the first of each shape (and the odd window starting earlier) used the cache.
    expect(cached.rangeCacheStats().hits).toBeGreaterThan(60);
  }, 120_000); // 76 windows on three stores: more than the default timeout on a busy machine

  it('answers a window crossing hour roll-ups, minute roll-ups and raw points as the uncached store does', async () => {
    // W_1h = T0 + 3 h, W_1m = T0 + 3.5 h: hours, then minutes, then raw.
    await both((s) => s.maintain(T0 + 3 * HOUR + 30 * MINUTE, KEEP_ALL));
    for (const from of [T0, T0 + 20 * MINUTE, T0 + HOUR]) {
      for (const to of [T0 + 3 * HOUR, T0 + 3 * HOUR + 45 * MINUTE, T0 + 4 * HOUR]) {
        const hours = await same({ from, to, points: 3 });
        expect(hours.resolution).toBe('1h');
        expect((await same({ from, to, points: 16 })).resolution).toBe('1m');
      }
    }
    const r = await same({ from: T0, to: T0 + 4 * HOUR, points: 4 });
    expect(r.series[0]!.buckets.map((b) => b.count)).toEqual([360, 270, 360, 360]);
  });

  it('shows a late point once maintenance has rolled it into its minute, never a stale cached bucket', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR, KEEP_ALL));
    const window = { from: T0 + 30 * MINUTE, to: T0 + 3 * HOUR, points: 60 };
    const before = await same(window);
    const late = {
      measurement: 'sensors',
      robot_id: 'r1',
      ts: T0 + 40 * MINUTE + 500,
      fields: { pitch_deg: 1000 },
    };
    await both((s) => s.append([late as TelemetryPoint]));
    // Until maintenance recomputes the minute, roll-ups (cached or not) do not have it yet.
    expect(await same(window)).toEqual(before);
    await both((s) => s.maintain(T0 + 3 * HOUR + MINUTE, KEEP_ALL));
    const after = await same(window);
    // 5-minute buckets: 30 readings and the late one.
    expect(after.bucket_ms).toBe(5 * MINUTE);
    expect(after.series[0]!.buckets.find((b) => b.t === T0 + 40 * MINUTE)).toMatchObject({
      max: 1000,
      count: 31,
    });
  });

  it('follows retention: minute roll-ups deleted under a cached window are answered from hours', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR, KEEP_ALL));
    const window = { from: T0, to: T0 + 3 * HOUR, points: 90 };
    const before = await same(window);
    // Minutes are kept for 1 h 30 min back from T0 + 3.5 h: those before T0 + 2 h go (hours remain).
    const now = T0 + 3 * HOUR + 30 * MINUTE;
    await both((s) => s.maintain(now, { ...KEEP_ALL, minute_ms: now - (T0 + 2 * HOUR) }));
    const after = await same(window);
    expect(after).not.toEqual(before);
    expect(after.series[0]!.buckets[0]).toMatchObject({ t: T0, count: 360 });
  });

  it('extends a cached window as the roll-ups move on, and still answers as the uncached store', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR + 10 * SECOND, KEEP_ALL));
    const window = (to: number) => ({ from: to - 2 * HOUR, to, points: 60 });
    await same(window(T0 + 3 * HOUR + 40 * MINUTE));
    const { hits, misses } = cached.rangeCacheStats();
    // Forty more minutes rolled up, within the same hour: nothing before the old watermark changed.
    await both((s) => s.maintain(T0 + 3 * HOUR + 40 * MINUTE, KEEP_ALL));
    for (const to of [T0 + 3 * HOUR + 40 * MINUTE, T0 + 3 * HOUR + 50 * MINUTE, T0 + 4 * HOUR])
      await same(window(to));
    expect(cached.rangeCacheStats()).toMatchObject({ hits: hits + 3, misses });
    // The next hour rolled up: hour roll-ups replace minutes, so the cached buckets are computed again.
    await both((s) => s.maintain(T0 + 4 * HOUR + MINUTE, KEEP_ALL));
    await same(window(T0 + 4 * HOUR));
    expect(cached.rangeCacheStats().misses).toBe(misses + 1);
  });

  it('answers windows ending a moment apart from one read of the fresh tail, each cut at its own end', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR + 30 * SECOND, KEEP_ALL));
    // A dashboard polling: the window ends 0.2–0.9 s later each time, its start in the same minute.
    const ends = [0, 230, 450, 690, 900].map((ms) => T0 + 3 * HOUR + 40 * SECOND + ms);
    const before = cached.rangeCacheStats().tail_hits;
    // Known fields only: a window with fields stored narrow (extra_gain) reads its tail every time.
    const fields = ['pitch_deg', 'roll_deg'];
    for (const to of ends) await same({ fields, from: to - 2 * HOUR, to, points: 60 });
    // The first read the store; the other four folded its raw rows up to their own `to`.
    expect(cached.rangeCacheStats().tail_hits).toBe(before + 4);
    // A window whose start crosses a minute takes other roll-up rows into its head: it reads the store.
    await same({ fields, from: ends[0]! - 2 * HOUR + MINUTE, to: ends[0]! + MINUTE, points: 60 });
    await same({ from: ends[0]! - 2 * HOUR, to: ends[0]! + 100, points: 60 });
    expect(cached.rangeCacheStats().tail_hits).toBe(before + 4);
  });

  it('carries a shared tail forward to later ends and answers an earlier end afresh, per series', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR + 20 * SECOND, KEEP_ALL));
    // Servos every 30 s, two series (servo 1 and 2) in one tail: ends around the row at 3 h 30 s, the third
    // and fifth earlier than the one before them (answers finish out of order).
    const servos = { measurement: 'servos' as const, fields: ['position'] };
    const ends = [29_600, 30_200, 29_900, 30_500, 30_100, 30_550].map((ms) => T0 + 3 * HOUR + ms);
    const before = cached.rangeCacheStats().tail_hits;
    const answers = [];
    for (const to of ends) answers.push(await same({ ...servos, from: to - 2 * HOUR, to, points: 60 }));
    expect(cached.rangeCacheStats().tail_hits).toBe(before + ends.length - 1);
    const last = (r: RangeResult, servo: string) =>
      r.series.find((s) => s.tags.servo_id === servo)!.buckets.at(-1)!;
    // Before 3 h 30 s the last bucket holds 3 h 0 s only; from then on the row at 3 h 30 s too.
    expect(answers.map((r) => last(r, '2').count)).toEqual([1, 2, 1, 2, 2, 2]);
  });

  it('lets queries of one shape asked at once wait for one read of the store, each cut at its own end', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR + 30 * SECOND, KEEP_ALL));
    const fields = ['pitch_deg', 'roll_deg'];
    const windows = [0, 100, 200, 300, 400, 500].map((ms) => {
      const to = T0 + 3 * HOUR + 40 * SECOND + ms;
      return { ...pitchAndMore, fields, from: to - 2 * HOUR, to, points: 60 };
    });
    const expected = [];
    for (const q of windows) expected.push(await plain.range(q));
    const before = cached.rangeCacheStats().tail_hits;
    expect(await Promise.all(windows.map((q) => cached.range(q)))).toEqual(expected);
    // The first read the store; the five asked while it read waited for its snapshot.
    expect(cached.rangeCacheStats().tail_hits).toBe(before + 5);
  });

  it('holds what was stored when its tail was read, until maintenance moves the watermark', async () => {
    const store = new DuckDbTelemetryStore({ path: ':memory:', rangeTailMaxAgeMs: 60_000 });
    await store.init();
    try {
      await store.append(history());
      await store.maintain(T0 + 3 * HOUR + 30 * SECOND, KEEP_ALL);
      const q: RangeQuery = {
        ...pitchAndMore,
        fields: ['pitch_deg', 'roll_deg'],
        from: T0 + HOUR + 45 * SECOND,
        to: T0 + 3 * HOUR + 45 * SECOND,
        points: 60,
      };
      const first = await store.range(q);
      // A point stored after that read, inside the next query's window (10 ms later, no history point in
      // between): shared tails do not show it yet.
      await store.append([
        {
          ...pitchAndMore,
          measurement: 'sensors',
          ts: T0 + 3 * HOUR + 35 * SECOND + 1,
          fields: { pitch_deg: 1000 },
        },
      ]);
      const shared = await store.range({ ...q, from: q.from + 10, to: q.to + 10 });
      expect(shared).toEqual(first);
      expect(store.rangeCacheStats().tail_hits).toBe(1);
      // Maintenance (here: nothing new to roll up, the watermark stays) clears the shared tails: read again.
      await store.maintain(T0 + 3 * HOUR + 30 * SECOND, KEEP_ALL);
      const fresh = await store.range({ ...q, from: q.from + 10, to: q.to + 10 });
      expect(fresh.series[0]!.buckets.at(-1)!.max).toBe(1000);
      expect(store.rangeCacheStats().tail_hits).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('answers many overlapping windows at once as the uncached store does', async () => {
    await both((s) => s.maintain(T0 + 3 * HOUR + 30 * SECOND, KEEP_ALL));
    const windows = Array.from({ length: 24 }, (_, k) => ({
      ...pitchAndMore,
      from: T0 + 20 * MINUTE + k * 131 * SECOND,
      to: T0 + 140 * MINUTE + k * 131 * SECOND,
      points: 60,
    }));
    const expected = [];
    for (const q of windows) expected.push(await plain.range(q));
    const answers = [];
    // As many at once as the store lets run and wait (2 readers, 4 waiting).
    for (let i = 0; i < windows.length; i += 6) {
      answers.push(...(await Promise.all(windows.slice(i, i + 6).map((q) => cached.range(q)))));
    }
    expect(answers).toEqual(expected);
    const texts = [];
    for (let i = 0; i < windows.length; i += 6) {
      texts.push(...(await Promise.all(windows.slice(i, i + 6).map((q) => textual.rangeJson(q)))));
    }
    expect(texts.map((t) => Buffer.concat(t.series_json).toString())).toEqual(expected.map(apiSeriesJson));
  });
});

describe('RangeCache', () => {
  const entry = (cells: number) => {
    const buckets = new Map(
      Array.from({ length: cells }, (_, i) => [i, { min: 1, max: 1, sum: 1, count: 1, last: 1 }]),
    );
    const accs: SeriesAccs = new Map([['f', { field: 'f', tags: '{}', buckets }]]);
    return closedBuckets(0, 0, cells, accs);
  };

  it('holds at most its budget of buckets, dropping the least recently used entries first', () => {
    const cache = new RangeCache(100);
    cache.set('a', entry(40));
    cache.set('b', entry(40));
    cache.get('a');
    cache.set('c', entry(40));
    expect(cache.peek('a')).toBeDefined();
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('c')).toBeDefined();
    expect(cache.stats()).toMatchObject({ entries: 2, cells: 80 });
    // An entry larger than the whole budget is not kept at all.
    cache.set('d', entry(101));
    expect(cache.peek('d')).toBeUndefined();
  });

  it('shares a fresh tail for its maximum age only, and not at all at 0', () => {
    const tails = new RecentTails<string>(1000);
    tails.set('a', 'tail', 5000);
    expect(tails.get('a', 5000)).toBe('tail');
    expect(tails.get('a', 6000)).toBe('tail');
    expect(tails.get('a', 6001)).toBeUndefined();
    // Gone once expired, and a clock that went back does not make an old one young.
    tails.set('b', 'tail', 5000);
    expect(tails.get('b', 4999)).toBeUndefined();
    const off = new RecentTails<string>(0);
    off.set('a', 'tail', 5000);
    expect(off.get('a', 5000)).toBeUndefined();
  });

  it('keeps nothing when its budget is 0', () => {
    const cache = new RangeCache(0);
    cache.set('a', entry(1));
    expect(cache.enabled).toBe(false);
    expect(cache.stats()).toMatchObject({ entries: 0, cells: 0 });
  });
});
