import type { TelemetryPoint } from '@tonypi/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RangeResult, RetentionPolicy, TelemetryStore } from './telemetry-store';

export type MakeTelemetryStore = () => Promise<{ store: TelemetryStore; cleanup: () => Promise<void> }>;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A fixed, hour-aligned start for history tests (range and maintain do not depend on the wall clock). */
const T0 = Date.UTC(2024, 0, 1);
const KEEP_ALL: RetentionPolicy = { raw_ms: 3650 * DAY, minute_ms: 3650 * DAY, hour_ms: 3650 * DAY };

function sensors(robot_id: string, ts: number, fields: Record<string, number>): TelemetryPoint {
  return { measurement: 'sensors', robot_id, ts, fields };
}

function servo(
  robot_id: string,
  servo_id: string,
  ts: number,
  fields: Record<string, number>,
): TelemetryPoint {
  return { measurement: 'servos', robot_id, tags: { servo_id }, ts, fields };
}

/** Integer-valued readings once a second for `seconds` from `start`, so sums are exact in every store. */
function history(robot_id: string, start: number, seconds: number): TelemetryPoint[] {
  return Array.from({ length: seconds }, (_, i) =>
    sensors(robot_id, start + i * SECOND, {
      pitch_deg: (i * 7) % 23,
      roll_deg: -((i * 5) % 11),
      humidity_percent: i % 5,
    }),
  );
}

/** A range result reduced to comparable numbers per series and bucket. */
function digest(
  r: RangeResult,
): Record<string, [number, number | null, number | null, number | null, number][]> {
  const out: Record<string, [number, number | null, number | null, number | null, number][]> = {};
  for (const s of r.series) {
    out[`${s.field} ${JSON.stringify(s.tags)}`] = s.buckets.map((b) => [b.t, b.min, b.max, b.last, b.count]);
  }
  return out;
}

/** Averages agree to 1e-9 (engines may sum in another order). */
function expectSameAverages(actual: RangeResult, expected: RangeResult): void {
  const averages = (r: RangeResult) => r.series.flatMap((s) => s.buckets.map((b) => b.avg ?? Number.NaN));
  const want = averages(expected);
  const got = averages(actual);
  expect(got).toHaveLength(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 9);
}

/**
 * What every TelemetryStore does alike. Each test gets a fresh, empty store from `makeStore`.
 * Used by duckdb-telemetry-store.test.ts, and by the services tests for other engines.
 */
export function describeTelemetryStoreContract(name: string, makeStore: MakeTelemetryStore): void {
  describe(`TelemetryStore contract: ${name}`, () => {
    let store: TelemetryStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup();
    });

    describe('append and latest', () => {
      it('accepts an empty batch', async () => {
        await store.append([]);
        expect(await store.latest('tonypi_01')).toEqual([]);
      });

      it('returns the newest point of each servo', async () => {
        const now = Date.now();
        await store.append([
          servo('tonypi_01', '1', now - 3000, { position: 100, temperature_c: 40 }),
          servo('tonypi_01', '1', now - 1000, { position: 110, temperature_c: 41 }),
          servo('tonypi_01', '2', now - 2500, { position: 500, temperature_c: 45 }),
          servo('tonypi_01', '2', now - 1500, { position: 520, voltage_v: 7.4 }),
          servo('tonypi_02', '1', now - 500, { position: 999 }),
        ]);
        const latest = await store.latest('tonypi_01', { measurement: 'servos' });
        expect(latest).toHaveLength(2);
        const byServo = Object.fromEntries(latest.map((p) => [p.tags.servo_id, p]));
        expect(byServo['1']).toEqual({
          measurement: 'servos',
          tags: { servo_id: '1' },
          ts: now - 1000,
          fields: { position: 110, temperature_c: 41 },
        });
        expect(byServo['2']).toEqual({
          measurement: 'servos',
          tags: { servo_id: '2' },
          ts: now - 1500,
          fields: { position: 520, voltage_v: 7.4 },
        });
      });

      it('returns the newest point of every measurement of one robot when none is named', async () => {
        const now = Date.now();
        await store.append([
          sensors('tonypi_01', now - 2000, { pitch_deg: 1 }),
          sensors('tonypi_01', now - 1000, { pitch_deg: 2 }),
          {
            measurement: 'battery',
            robot_id: 'tonypi_01',
            ts: now - 1500,
            fields: { percent: 80, voltage_v: 11.1 },
          },
          { measurement: 'battery', robot_id: 'tonypi_02', ts: now - 500, fields: { percent: 10 } },
        ]);
        const latest = await store.latest('tonypi_01');
        const byMeasurement = Object.fromEntries(latest.map((p) => [p.measurement, p]));
        expect(Object.keys(byMeasurement).sort()).toEqual(['battery', 'sensors']);
        expect(byMeasurement.sensors).toMatchObject({ ts: now - 1000, tags: {}, fields: { pitch_deg: 2 } });
        expect(byMeasurement.battery).toMatchObject({
          ts: now - 1500,
          fields: { percent: 80, voltage_v: 11.1 },
        });
      });

      it('looks back no further than lookback_ms', async () => {
        const now = Date.now();
        await store.append([sensors('tonypi_01', now - 10 * MINUTE, { pitch_deg: 1 })]);
        expect(await store.latest('tonypi_01', { lookback_ms: 5 * MINUTE })).toEqual([]);
        expect(await store.latest('tonypi_01', { lookback_ms: 15 * MINUTE })).toHaveLength(1);
      });

      it('stores unknown numeric fields beside the known ones', async () => {
        const now = Date.now();
        await store.append([
          sensors('tonypi_01', now - 2000, { pitch_deg: 1, humidity_percent: 40 }),
          sensors('tonypi_01', now - 1000, { pitch_deg: 2, humidity_percent: 41, co2_ppm: 400 }),
        ]);
        const [latest] = await store.latest('tonypi_01', { measurement: 'sensors' });
        expect(latest?.fields).toEqual({ pitch_deg: 2, humidity_percent: 41, co2_ppm: 400 });
        expect(await store.fields('tonypi_01', 'sensors')).toEqual([
          'pitch_deg',
          'co2_ppm',
          'humidity_percent',
        ]);
      });

      it('lists the known fields that hold data, then the unknown ones', async () => {
        const now = Date.now();
        await store.append([
          sensors('tonypi_01', now - 1000, { roll_deg: 1, accel_x_ms2: 0.5, zeta_level: 3 }),
          sensors('tonypi_02', now - 1000, { yaw_deg: 1 }),
        ]);
        expect(await store.fields('tonypi_01', 'sensors')).toEqual(['accel_x_ms2', 'roll_deg', 'zeta_level']);
        expect(await store.fields('tonypi_01', 'battery')).toEqual([]);
      });

      it('counts what it wrote', async () => {
        const before = store.stats();
        await store.append(history('tonypi_01', T0, 10));
        const after = store.stats();
        expect(after.points_written - before.points_written).toBe(10);
        expect(after.flushes).toBeGreaterThan(before.flushes);
      });
    });

    describe('range', () => {
      it('aggregates raw points into buckets with avg, min, max, last and count', async () => {
        await store.append([
          sensors('tonypi_01', T0 - 1, { pitch_deg: 1000 }),
          sensors('tonypi_01', T0 + 100, { pitch_deg: 1, roll_deg: 5 }),
          sensors('tonypi_01', T0 + 500, { pitch_deg: 3 }),
          sensors('tonypi_01', T0 + 900, { pitch_deg: 2 }),
          sensors('tonypi_01', T0 + 1500, { pitch_deg: 10 }),
          sensors('tonypi_01', T0 + 10 * SECOND, { pitch_deg: 1000 }),
          sensors('tonypi_02', T0 + 200, { pitch_deg: 1000 }),
        ]);
        const r = await store.range({
          robot_id: 'tonypi_01',
          measurement: 'sensors',
          fields: ['pitch_deg', 'roll_deg'],
          from: T0,
          to: T0 + 10 * SECOND,
          points: 10,
        });
        expect(r.resolution).toBe('raw');
        expect(r.bucket_ms).toBe(SECOND);
        expect(r.series).toEqual([
          {
            field: 'pitch_deg',
            tags: {},
            buckets: [
              { t: T0, avg: 2, min: 1, max: 3, last: 2, count: 3 },
              { t: T0 + SECOND, avg: 10, min: 10, max: 10, last: 10, count: 1 },
            ],
          },
          { field: 'roll_deg', tags: {}, buckets: [{ t: T0, avg: 5, min: 5, max: 5, last: 5, count: 1 }] },
        ]);
      });

      it('answers every known field that has data when no field is named', async () => {
        await store.append([sensors('tonypi_01', T0, { pitch_deg: 1, yaw_deg: 2, not_known: 3 })]);
        const r = await store.range({
          robot_id: 'tonypi_01',
          measurement: 'sensors',
          fields: [],
          from: T0,
          to: T0 + MINUTE,
        });
        expect(r.series.map((s) => s.field)).toEqual(['pitch_deg', 'yaw_deg']);
      });

      it('chooses the smallest nice bucket of at least (to - from) / points, and the resolution from it', async () => {
        const ask = (span: number, points?: number) =>
          store.range({ robot_id: 'x', measurement: 'sensors', fields: [], from: T0, to: T0 + span, points });
        // 24 h / 1000 = 86.4 s → 2 min, answered at minute resolution.
        expect(await ask(DAY, 1000)).toMatchObject({ bucket_ms: 2 * MINUTE, resolution: '1m', series: [] });
        // 1 h / 500 (the default) = 7.2 s → 10 s, raw.
        expect(await ask(HOUR)).toMatchObject({ bucket_ms: 10 * SECOND, resolution: 'raw' });
        // 30 days / 500 = 86.4 min → 2 h, hour roll-ups.
        expect(await ask(30 * DAY)).toMatchObject({ bucket_ms: 2 * HOUR, resolution: '1h' });
        // points is clamped to 1 … 10 000.
        expect(await ask(DAY, 0)).toMatchObject({ bucket_ms: DAY });
        expect(await ask(10 * SECOND, 1_000_000)).toMatchObject({ bucket_ms: 1 });
      });

      it('keeps one series per tag combination and filters by tags', async () => {
        await store.append([
          servo('tonypi_01', '1', T0 + 1000, { position: 100 }),
          servo('tonypi_01', '2', T0 + 1000, { position: 200 }),
          servo('tonypi_01', '2', T0 + 2000, { position: 300 }),
        ]);
        const q = {
          robot_id: 'tonypi_01',
          measurement: 'servos',
          fields: ['position'],
          from: T0,
          to: T0 + MINUTE,
          points: 1,
        } as const;
        const all = await store.range(q);
        expect(all.series.map((s) => [s.tags, s.buckets.reduce((n, b) => n + b.count, 0)])).toEqual([
          [{ servo_id: '1' }, 1],
          [{ servo_id: '2' }, 2],
        ]);
        const two = await store.range({ ...q, tags: { servo_id: '2' } });
        expect(two.series).toHaveLength(1);
        expect(two.series[0]?.tags).toEqual({ servo_id: '2' });
        expect(two.series[0]?.buckets.map((b) => b.max)).toEqual([300]);
        expect((await store.range({ ...q, tags: { servo_id: '9' } })).series).toEqual([]);
      });

      it('answers unknown fields like known ones', async () => {
        await store.append([
          sensors('tonypi_01', T0 + 1000, { humidity_percent: 40 }),
          sensors('tonypi_01', T0 + 2000, { humidity_percent: 44, pitch_deg: 1 }),
        ]);
        const r = await store.range({
          robot_id: 'tonypi_01',
          measurement: 'sensors',
          fields: ['humidity_percent'],
          from: T0,
          to: T0 + MINUTE,
          points: 1,
        });
        expect(r.series).toEqual([
          {
            field: 'humidity_percent',
            tags: {},
            buckets: [{ t: T0, avg: 42, min: 40, max: 44, last: 44, count: 2 }],
          },
        ]);
      });

      it('returns no series for an empty or inverted window', async () => {
        await store.append(history('tonypi_01', T0, 60));
        const q = { robot_id: 'tonypi_01', measurement: 'sensors', fields: ['pitch_deg'] } as const;
        expect((await store.range({ ...q, from: T0 + HOUR, to: T0 + 2 * HOUR })).series).toEqual([]);
        expect((await store.range({ ...q, from: T0 + 1000, to: T0 + 1000 })).series).toEqual([]);
        expect((await store.range({ ...q, from: T0 + 2000, to: T0 + 1000 })).series).toEqual([]);
        expect((await store.range({ ...q, robot_id: 'tonypi_99', from: T0, to: T0 + HOUR })).series).toEqual(
          [],
        );
      });

      it('rejects field and tag names that are not plain identifiers', async () => {
        const q = { robot_id: 'tonypi_01', measurement: 'sensors', from: T0, to: T0 + HOUR } as const;
        await expect(
          store.range({ ...q, fields: ['pitch_deg" FROM raw_sensors; DROP TABLE x; --'] }),
        ).rejects.toThrow(/field/i);
        await expect(store.range({ ...q, fields: ["x') OR 1=1 --"] })).rejects.toThrow();
        await expect(
          store.range({ ...q, fields: ['pitch_deg'], tags: { "servo_id' OR '1'='1": '1' } }),
        ).rejects.toThrow();
        // Still works afterwards.
        await store.append([sensors('tonypi_01', T0, { pitch_deg: 1 })]);
        expect((await store.range({ ...q, fields: ['pitch_deg'] })).series).toHaveLength(1);
      });

      it('takes tag values and robot ids as data, never as SQL', async () => {
        const robot = "tonypi_01' OR '1'='1";
        await store.append([
          servo(robot, "3' OR '1'='1", T0, { position: 1 }),
          servo('tonypi_01', '3', T0, { position: 2 }),
        ]);
        const r = await store.range({
          robot_id: robot,
          measurement: 'servos',
          fields: ['position'],
          from: T0,
          to: T0 + MINUTE,
          tags: { servo_id: "3' OR '1'='1" },
        });
        expect(r.series.map((s) => [s.tags, s.buckets[0]?.last])).toEqual([
          [{ servo_id: "3' OR '1'='1" }, 1],
        ]);
      });
    });

    describe('maintain', () => {
      const span = {
        robot_id: 'tonypi_01',
        measurement: 'sensors',
        fields: ['pitch_deg', 'roll_deg', 'humidity_percent'],
      } as const;
      const threeHours = { ...span, from: T0, to: T0 + 3 * HOUR };

      it('rolls up minutes and hours that agree with the raw points', async () => {
        await store.append(history('tonypi_01', T0, 3 * 3600));
        await store.append(history('tonypi_02', T0, 3600));
        const minutesRaw = await store.range({ ...threeHours, points: 180 });
        const hoursRaw = await store.range({ ...threeHours, points: 3 });
        expect(minutesRaw.resolution).toBe('1m');
        expect(hoursRaw.resolution).toBe('1h');
        expect(minutesRaw.series.map((s) => s.buckets.length)).toEqual([180, 180, 180]);

        const result = await store.maintain(T0 + 3 * HOUR + 5 * MINUTE, KEEP_ALL);
        expect(result.rolled_up_minutes).toBeGreaterThanOrEqual(180);
        expect(result.rolled_up_hours).toBeGreaterThanOrEqual(3);
        expect(result.deleted_raw).toBe(0);

        const minutes = await store.range({ ...threeHours, points: 180 });
        const hours = await store.range({ ...threeHours, points: 3 });
        expect(digest(minutes)).toEqual(digest(minutesRaw));
        expect(digest(hours)).toEqual(digest(hoursRaw));
        expectSameAverages(minutes, minutesRaw);
        expectSameAverages(hours, hoursRaw);
        expect(hours.series[0]?.buckets[0]).toMatchObject({ t: T0, count: 3600 });
      });

      it('still answers from roll-ups after the raw points are deleted', async () => {
        await store.append(history('tonypi_01', T0, 3 * 3600));
        const minutesRaw = await store.range({ ...threeHours, points: 180 });
        const hoursRaw = await store.range({ ...threeHours, points: 3 });
        const tenMinutes = { ...span, from: T0 + HOUR, to: T0 + HOUR + 10 * MINUTE, points: 600 };

        const result = await store.maintain(T0 + 3 * HOUR + 5 * MINUTE, { ...KEEP_ALL, raw_ms: MINUTE });
        expect(result.deleted_raw).toBeGreaterThan(0);

        expect(digest(await store.range({ ...threeHours, points: 180 }))).toEqual(digest(minutesRaw));
        expect(digest(await store.range({ ...threeHours, points: 3 }))).toEqual(digest(hoursRaw));
        // A raw-sized bucket over deleted raw data is answered at the grain that is left (minutes).
        const fine = await store.range(tenMinutes);
        expect(fine.resolution).toBe('raw');
        const pitch = fine.series.find((s) => s.field === 'pitch_deg');
        expect(pitch?.buckets).toHaveLength(10);
        expect(pitch?.buckets.reduce((n, b) => n + b.count, 0)).toBe(600);
      });

      it('includes points newer than the last roll-up', async () => {
        await store.append(history('tonypi_01', T0, HOUR / SECOND));
        await store.maintain(T0 + 30 * MINUTE, { ...KEEP_ALL, raw_ms: MINUTE });
        await store.append(history('tonypi_01', T0 + HOUR, HOUR / SECOND));
        const twoHours = await store.range({
          ...span,
          fields: ['pitch_deg'],
          from: T0,
          to: T0 + 2 * HOUR,
          points: 2,
        });
        expect(twoHours.resolution).toBe('1h');
        expect(twoHours.series[0]?.buckets.map((b) => b.count)).toEqual([3600, 3600]);
        const minutes = await store.range({
          ...span,
          fields: ['pitch_deg'],
          from: T0,
          to: T0 + 2 * HOUR,
          points: 120,
        });
        expect(minutes.series[0]?.buckets).toHaveLength(120);
        expect(minutes.series[0]?.buckets.every((b) => b.count === 60)).toBe(true);
      });

      it('is idempotent: running it again changes nothing', async () => {
        await store.append(history('tonypi_01', T0, 2 * 3600));
        const now = T0 + 2 * HOUR + MINUTE;
        const first = await store.maintain(now, { ...KEEP_ALL, raw_ms: 10 * MINUTE });
        const afterFirst = await store.range({ ...span, from: T0, to: T0 + 2 * HOUR, points: 120 });
        const second = await store.maintain(now, { ...KEEP_ALL, raw_ms: 10 * MINUTE });
        expect(first.rolled_up_minutes).toBeGreaterThan(0);
        expect(second).toEqual({
          rolled_up_minutes: 0,
          rolled_up_hours: 0,
          deleted_raw: 0,
          deleted_minute: 0,
          deleted_hour: 0,
        });
        expect(digest(await store.range({ ...span, from: T0, to: T0 + 2 * HOUR, points: 120 }))).toEqual(
          digest(afterFirst),
        );
        expect(afterFirst.series[0]?.buckets.every((b) => b.count === 60)).toBe(true);
      });

      it('rolls up points that arrive late, after their minute was rolled up', async () => {
        await store.append(history('tonypi_01', T0, 2 * 3600));
        await store.maintain(T0 + 2 * HOUR + MINUTE, KEEP_ALL);
        // A robot that was offline delivers its buffer: one more reading in minute 10 and in hour 0.
        await store.append([sensors('tonypi_01', T0 + 10 * MINUTE + 500, { pitch_deg: 1000 })]);
        await store.maintain(T0 + 2 * HOUR + 2 * MINUTE, KEEP_ALL);
        await store.maintain(T0 + 2 * HOUR + 2 * MINUTE, { ...KEEP_ALL, raw_ms: 0 });
        const q = { ...span, fields: ['pitch_deg'], from: T0, to: T0 + 2 * HOUR } as const;
        const minutes = await store.range({ ...q, points: 120 });
        const minute10 = minutes.series[0]?.buckets.find((b) => b.t === T0 + 10 * MINUTE);
        expect(minute10).toMatchObject({ count: 61, max: 1000 });
        const hours = await store.range({ ...q, points: 2 });
        expect(hours.series[0]?.buckets.map((b) => [b.count, b.max])).toEqual([
          [3601, 1000],
          [3600, 22],
        ]);
      });

      it('deletes roll-ups past their retention', async () => {
        await store.append(history('tonypi_01', T0, 2 * 3600));
        await store.maintain(T0 + 3 * HOUR, KEEP_ALL);
        const later = T0 + 100 * DAY;
        const result = await store.maintain(later, { raw_ms: DAY, minute_ms: 10 * DAY, hour_ms: 30 * DAY });
        expect(result.deleted_raw).toBeGreaterThan(0);
        expect(result.deleted_minute).toBeGreaterThan(0);
        expect(result.deleted_hour).toBeGreaterThan(0);
        for (const points of [3, 120, 7200]) {
          expect((await store.range({ ...span, from: T0, to: T0 + 2 * HOUR, points })).series).toEqual([]);
        }
      });
    });
  });
}
