/**
 * `npm run bench:query -- [--hours 24] [--hz 10] [--runs 30]`
 *
 * Fills the telemetry store with `hours` of `hz` data for one robot (12 sensor fields), then
 * times `GET /api/v1/robots/{id}/telemetry` reduced to 1000 points over HTTP: one field and all
 * twelve, from raw points and again after the roll-ups ran, and all twelve over a window ending at each
 * request (what a dashboard polls). Prints latency and the process's CPU per answer (server and this
 * client), never a verdict.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TelemetryPoint } from '@tonypi/contracts';
import { startServer } from '../packages/server/src/app';
import { loadConfig } from '../packages/server/src/config';
import { createLogger } from '../packages/server/src/logger';
import { DuckDbTelemetryStore } from '../packages/server/src/telemetry/duckdb-telemetry-store';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD, benchLogin, sensorHistoryRow } from './bench-fixtures';

const { values } = parseArgs({
  options: {
    hours: { type: 'string', default: '24' },
    hz: { type: 'string', default: '10' },
    runs: { type: 'string', default: '30' },
  },
});
const hours = Number(values.hours);
const hz = Number(values.hz);
const runs = Number(values.runs);
const ROBOT = 'bench_query';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-qbench-'));
  const config = loadConfig({
    ...loopbackEnv(dataDir, BENCH_PASSWORD),
    LOG_LEVEL: 'warn',
    // The bulk fill below holds the event loop, which would make the first queries back off (503):
    // this benchmark times a query on its own, so readers are not shed on event-loop delay.
    READER_SHED_LOOP_DELAY_MS: '0',
  });
  const server = await startServer(config, { logger: createLogger('warn') });
  try {
    const token = await benchLogin(server.url);
    const headers = { authorization: `Bearer ${token}` };

    // The robot exists once it has spoken; register it the way ingest does.
    server.pipeline.handle(`tonypi/${ROBOT}/system`, Buffer.from(JSON.stringify({ cpu_percent: 1 })));
    await server.registry.flush();

    const now = Date.now();
    const total = Math.round(hours * 3600 * hz);
    const step = 1000 / hz;
    const fillStart = Date.now();
    for (let done = 0; done < total; ) {
      const batch: TelemetryPoint[] = [];
      for (let i = 0; i < 50_000 && done < total; i++, done++) {
        batch.push(sensorHistoryRow(ROBOT, now - hours * 3600_000 + done * step, done));
      }
      await server.store.append(batch);
    }
    console.log(
      `filled ${total} rows (${hours} h × ${hz} Hz, 12 fields) in ${((Date.now() - fillStart) / 1000).toFixed(1)} s`,
    );

    /** `slide`: each request ends now (a dashboard polling the last `hours`), else the filled window. */
    const time = async (label: string, query: string, slide = false) => {
      const url = () => {
        const to = slide ? Date.now() : now;
        return `${server.url}/api/v1/robots/${ROBOT}/telemetry?measurement=sensors&from=${to - hours * 3600_000}&to=${to}&points=1000${query}`;
      };
      let resolution = '';
      let buckets = 0;
      let bytes = 0;
      const samples: number[] = [];
      let cpu = { user: 0, system: 0 };
      for (let i = 0; i < runs + 3; i++) {
        if (i === 3) cpu = process.cpuUsage();
        const t0 = performance.now();
        const res = await fetch(url(), { headers });
        const text = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${res.status}: ${text}`);
        if (i >= 3) samples.push(ms);
        if (i === 0) {
          const body = JSON.parse(text) as { resolution: string; series: Array<{ points: unknown[] }> };
          resolution = body.resolution;
          buckets = body.series[0]?.points.length ?? 0;
          bytes = text.length;
        }
      }
      // The whole process: the server (event loop and DuckDB's threads) and this client's HTTP reads.
      const used = process.cpuUsage(cpu);
      samples.sort((a, b) => a - b);
      return {
        query: label,
        resolution,
        buckets,
        kb: Math.round(bytes / 1024),
        median_ms: Math.round(quantile(samples, 0.5) * 10) / 10,
        p95_ms: Math.round(quantile(samples, 0.95) * 10) / 10,
        cpu_ms_per_answer: Math.round((used.user + used.system) / 100 / runs) / 10,
      };
    };

    const rows = [
      await time('1 field, before the first roll-up', '&field=accel_x_ms2'),
      await time('12 fields, before the first roll-up', ''),
    ];
    const maintainStart = Date.now();
    await server.store.maintain(Date.now(), config.retention);
    const maintainMs = Date.now() - maintainStart;
    rows.push(
      await time('1 field, roll-ups current (steady state)', '&field=accel_x_ms2'),
      await time('12 fields, roll-ups current (steady state)', ''),
      await time('12 fields, window ending now (a dashboard polling)', '', true),
    );
    console.table(rows);
    console.log(`first roll-up of ${hours} h: ${maintainMs} ms`);
    if (server.store instanceof DuckDbTelemetryStore) {
      const c = server.store.rangeCacheStats();
      console.log(
        `range cache: ${c.hits} answers used closed buckets kept, ${c.misses} computed them, ` +
          `${c.tail_hits} shared a recent fresh tail`,
      );
    }
    const [cold, , steady] = rows;
    console.log(
      `query: ${hours} h of ${hz} Hz → 1000 points, 1 field median ${steady!.median_ms} ms ` +
        `(before the first roll-up ${cold!.median_ms} ms)`,
    );
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
