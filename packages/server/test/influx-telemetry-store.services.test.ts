import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InfluxHttp } from '../src/telemetry/influx-http';
import { InfluxTelemetryStore } from '../src/telemetry/influx-telemetry-store';
import { describeTelemetryStoreContract } from '../src/telemetry/telemetry-store.contract';
import { connectMqtt, startTestServer, waitFor } from './helpers/test-server';

/**
 * The InfluxDB store against a real InfluxDB (Debian's 1.6 in `.ci/run`, which exports TEST_INFLUX_URL as
 * `http://127.0.0.1:PORT`). Skipped only when TEST_INFLUX_URL is unset.
 */
const influxUrl = process.env.TEST_INFLUX_URL;

/** A database prefix of its own per store, dropped afterwards, so tests never see each other's points. */
async function freshStore(): Promise<{ store: InfluxTelemetryStore; cleanup: () => Promise<void> }> {
  const db = `tp_${randomBytes(5).toString('hex')}`;
  const store = new InfluxTelemetryStore({ baseUrl: influxUrl!, db, rollupGraceMs: 60_000 });
  await store.init();
  return {
    store,
    cleanup: async () => {
      await store.close();
      const http = new InfluxHttp({ baseUrl: influxUrl! });
      for (const name of Object.values(store.dbs)) await http.query(name, `DROP DATABASE "${name}"`);
    },
  };
}

describe.skipIf(!influxUrl)('InfluxTelemetryStore on a real InfluxDB', () => {
  describeTelemetryStoreContract('influxdb', freshStore);

  it('creates the three tier databases and tells the flavour', async () => {
    const { store, cleanup } = await freshStore();
    try {
      const http = new InfluxHttp({ baseUrl: influxUrl! });
      const [dbs] = await http.query('_internal', 'SHOW DATABASES');
      const names = dbs?.values.map((v) => v[0]);
      expect(names).toEqual(expect.arrayContaining(Object.values(store.dbs)));
      expect(store.dbs.raw).toMatch(/_raw$/);
      expect(store.describe()).toMatch(/^1\.x 1\./);
    } finally {
      await cleanup();
    }
  });

  it('stores a hostile robot id as data and finds it again', async () => {
    const { store, cleanup } = await freshStore();
    try {
      const robot = `a b,c=d"e'f; DROP DATABASE x --`;
      const now = Date.now();
      await store.append([
        { measurement: 'battery', robot_id: robot, ts: now - 1000, fields: { percent: 50 } },
        { measurement: 'battery', robot_id: 'a', ts: now - 1000, fields: { percent: 1 } },
      ]);
      expect(await store.latest(robot)).toEqual([
        { measurement: 'battery', tags: {}, ts: now - 1000, fields: { percent: 50 } },
      ]);
      expect(await store.fields(robot, 'battery')).toEqual(['percent']);
    } finally {
      await cleanup();
    }
  });

  it('shares roll-ups between two stores on one InfluxDB: each window once, late points of either counted', async () => {
    const db = `tp_${randomBytes(5).toString('hex')}`;
    const a = new InfluxTelemetryStore({ baseUrl: influxUrl!, db, watermarkMaxAgeMs: 0 });
    const b = new InfluxTelemetryStore({ baseUrl: influxUrl!, db, watermarkMaxAgeMs: 0 });
    await a.init();
    await b.init();
    try {
      const t0 = Date.UTC(2024, 0, 1);
      const keep = { raw_ms: 1e12, minute_ms: 1e12, hour_ms: 1e12 };
      const point = (i: number, pitch_deg: number) =>
        ({ measurement: 'sensors', robot_id: 'r1', ts: t0 + i * 1000, fields: { pitch_deg } }) as const;
      await a.append(Array.from({ length: 7200 }, (_, i) => point(i, i % 7)));
      const first = await a.maintain(t0 + 2 * 3_600_000 + 120_000, keep);
      expect(first.rolled_up_minutes).toBe(120);
      // B finds the windows rolled up and writes none of them again.
      expect(await b.maintain(t0 + 2 * 3_600_000 + 120_000, keep)).toMatchObject({
        rolled_up_minutes: 0,
        rolled_up_hours: 0,
      });
      // A late point stored by B, for minute 10 (rolled up by A): B's next run writes its correction.
      await b.append([{ ...point(600, 100), ts: t0 + 600_500 }]);
      expect((await b.maintain(t0 + 2 * 3_600_000 + 180_000, keep)).rolled_up_minutes).toBe(1);
      const q = {
        robot_id: 'r1',
        measurement: 'sensors',
        fields: ['pitch_deg'],
        from: t0,
        to: t0 + 7_200_000,
      } as const;
      const minutes = await a.range({ ...q, points: 120 });
      expect(minutes.resolution).toBe('1m');
      expect(minutes.series[0]?.buckets.find((x) => x.t === t0 + 600_000)).toMatchObject({
        count: 61,
        max: 100,
      });
      const hours = await a.range({ ...q, points: 2 });
      expect(hours.series[0]?.buckets.map((x) => x.count)).toEqual([3601, 3600]);
    } finally {
      await a.close();
      await b.close();
      const http = new InfluxHttp({ baseUrl: influxUrl! });
      for (const name of Object.values(a.dbs)) await http.query(name, `DROP DATABASE "${name}"`);
    }
  });

  it('answers rollups for several robots at once', async () => {
    const { store, cleanup } = await freshStore();
    try {
      const t0 = Date.UTC(2024, 0, 1);
      const points = [];
      for (let i = 0; i < 600; i++) {
        for (const r of ['r1', 'r2']) {
          points.push({
            measurement: 'battery' as const,
            robot_id: r,
            ts: t0 + i * 1000,
            fields: { percent: i % 10 },
          });
        }
      }
      await store.append(points);
      await store.maintain(t0 + 20 * 60_000, { raw_ms: 1e12, minute_ms: 1e12, hour_ms: 1e12 });
      const series = await store.rollups({
        measurement: 'battery',
        robot_ids: ['r1', 'r2'],
        from: t0,
        to: t0 + 600_000,
        bucket_ms: 300_000,
      });
      expect(series.map((s) => [s.robot_id, s.field, s.buckets.map((b) => b.count)])).toEqual([
        ['r1', 'percent', [300, 300]],
        ['r2', 'percent', [300, 300]],
      ]);
      expect(series[0]?.buckets[0]?.avg).toBeCloseTo(4.5, 9);
    } finally {
      await cleanup();
    }
  });

  it("is the server's store with TELEMETRY_URL=influx://…: health shows it, history comes from it", async () => {
    const db = `tp_${randomBytes(5).toString('hex')}`;
    const url = new URL(influxUrl!);
    const server = await startTestServer({ TELEMETRY_URL: `influx://${url.host}/?db=${db}` });
    try {
      const health = await (await server.api('/api/v1/health', { anonymous: true })).json();
      expect(health.components.telemetry).toMatchObject({ kind: 'influxdb', status: 'up' });
      const robot = await connectMqtt(server.mqttUrl, { clientId: 'tonypi_influx' });
      const ts = Date.now();
      robot.publish('tonypi/tonypi_influx/battery', JSON.stringify({ ts, percent: 77, voltage_v: 11.9 }));
      const body = await waitFor(
        async () => {
          const res = await server.api(
            `/api/v1/robots/tonypi_influx/telemetry?measurement=battery&from=${new Date(ts - 60_000).toISOString()}&to=${new Date(ts + 60_000).toISOString()}`,
          );
          const json = (await res.json()) as { series?: { field: string; points: { max: number }[] }[] };
          return json.series?.find((s) => s.field === 'percent') ? json : undefined;
        },
        10_000,
        'the point read back',
      );
      expect(body.series?.find((s) => s.field === 'percent')?.points[0]?.max).toBe(77);
      const metrics = await (await server.api('/metrics')).text();
      expect(metrics).toMatch(/^tonypi_influx_lines_written_total [1-9]/m);
      expect(metrics).toMatch(/^tonypi_influx_lines_rejected_total 0$/m);
      await robot.endAsync();
    } finally {
      await server.close();
      const http = new InfluxHttp({ baseUrl: influxUrl! });
      for (const tier of ['raw', '1m', '1h'])
        await http.query(`${db}_${tier}`, `DROP DATABASE "${db}_${tier}"`);
    }
  });
});
