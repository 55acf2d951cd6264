import { DuckDBInstance } from '@duckdb/node-api';
import type { TelemetryPoint } from '@tonypi/contracts';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createTables } from '../telemetry/duckdb-schema';
import type { InfluxTelemetryStore } from '../telemetry/influx-telemetry-store';
import type { InfluxWriter } from '../telemetry/influx-writer';
import { newCheckpoint } from './checkpoint';
import { silentProgress } from './progress';
import {
  copyExtras,
  copyRaw,
  copyRollups,
  readRawSources,
  type TelemetryCopyOptions,
} from './telemetry-copy';
import { duckTotals } from './telemetry-verify';

/** The DuckDB side of the telemetry copy on an in-memory file with the store's tables; InfluxDB faked. */
async function setup() {
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  onTestFinished(() => {
    duck.closeSync();
    instance.closeSync();
  });
  await createTables(duck);
  const appended: TelemetryPoint[][] = [];
  const written: { db: string; lines: string[] }[] = [];
  const o: TelemetryCopyOptions = {
    duck,
    store: {
      append: async (p: TelemetryPoint[]) => void appended.push(p),
    } as unknown as InfluxTelemetryStore,
    writer: {
      write: async (db: string, lines: string[]) => void written.push({ db, lines }),
    } as unknown as InfluxWriter,
    dbs: { raw: 'f_raw', '1m': 'f_1m', '1h': 'f_1h' },
    checkpoint: newCheckpoint({ database: 'd', telemetry: 't' }),
    save: async () => undefined,
    progress: silentProgress,
    batchSize: 2,
    now: 0,
  };
  return { duck, o, appended, written };
}

describe('telemetry copy', () => {
  it('cuts batches at a time boundary, so a time shared by rows is never split, and resumes after lastTs', async () => {
    const { duck, o, appended } = await setup();
    await duck.run(`INSERT INTO raw_servos (ts, robot_id, servo_id, position) VALUES
      (1, 'r', '1', 10), (2, 'r', '1', 20), (2, 'r', '2', 21), (2, 'r', '3', 22), (3, 'r', '1', 30)`);
    const sources = await readRawSources(duck);
    const servos = sources.filter((s) => s.measurement === 'servos');
    expect(servos[0]).toMatchObject({ table: 'raw_servos', tags: ['servo_id'] });
    expect(servos[0]!.fields).toContain('temperature_c');
    await copyRaw(o, servos);
    expect(appended.map((batch) => batch.map((p) => p.ts))).toEqual([[1, 2, 2, 2], [3]]);
    expect(appended[0]![1]).toEqual({
      measurement: 'servos',
      robot_id: 'r',
      tags: { servo_id: '1' },
      ts: 2,
      fields: { position: 20 },
    });
    expect(o.checkpoint.telemetry.raw_servos).toEqual({ lastTs: 3, done: true, rows: 5 });

    // Resumed after ts 2: only what came after.
    appended.length = 0;
    o.checkpoint.telemetry.raw_servos = { lastTs: 2, done: false, rows: 4 };
    await copyRaw(o, servos);
    expect(appended.map((batch) => batch.map((p) => p.ts))).toEqual([[3]]);
  });

  it("groups an extra point's fields and writes roll-ups as the InfluxDB store's fields", async () => {
    const { duck, o, appended, written } = await setup();
    await duck.run(`INSERT INTO raw_extra VALUES
      (5, 'r', 'servos', '{"servo_id":"1"}', 'wobble', 1.5), (5, 'r', 'servos', '{"servo_id":"1"}', 'hum', 2)`);
    await duck.run(`INSERT INTO rollup_1m VALUES
      (60000, 'r', 'battery', '{}', 'percent', 10, 30, 60, 3, 30, 119000),
      (60000, 'r', 'battery', '{}', 'voltage_v', 11, 12, 23, 2, 12, 119000)`);
    await copyExtras(o);
    expect(appended).toEqual([
      [
        {
          measurement: 'servos',
          robot_id: 'r',
          tags: { servo_id: '1' },
          ts: 5,
          fields: { wobble: 1.5, hum: 2 },
        },
      ],
    ]);
    await copyRollups(o);
    expect(written).toEqual([
      {
        db: 'f_1m',
        lines: [
          'battery,robot_id=r percent_mean=20,percent_min=10,percent_max=30,percent_last=30,percent_sum=60,percent_count=3,' +
            'voltage_v_mean=11.5,voltage_v_min=11,voltage_v_max=12,voltage_v_last=12,voltage_v_sum=23,voltage_v_count=2 60000',
        ],
      },
    ]);
  });

  it('counts values sharing a series and millisecond once (InfluxDB keeps one)', async () => {
    const { duck } = await setup();
    await duck.run(`INSERT INTO raw_battery (ts, robot_id, percent, voltage_v) VALUES
      (1, 'r', 50, 11), (1, 'r', 51, NULL), (2, 'r', 52, 11.5), (1, 'q', 50, 11)`);
    const totals = await duckTotals(duck, await readRawSources(duck));
    expect(totals.raw.get('battery')).toEqual(
      new Map([
        ['percent', { count: 3, sum: 203, duplicates: 1 }],
        ['voltage_v', { count: 3, sum: 33.5 }],
      ]),
    );
  });
});
