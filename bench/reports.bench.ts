/**
 * `npm run bench:reports -- [--robots 100] [--days 7] [--history-hz 1] [--live-hz 1]`
 *
 * A weekly fleet report while the fleet keeps publishing (issue #10): the real server (embedded engines) with
 * `robots` simulated robots publishing at `live-hz`, and `days` of history for each of them written into the
 * telemetry store at `history-hz` (system, battery and six servos), roll-ups brought up to date as the minute
 * job keeps them. Then `POST /reports {fleet_summary, from: 7d}`: the time to a completed report, the time to
 * its PDF and the PDF's size, and the ingest's points received, stored and shed while it ran.
 *
 * Figures only: never a verdict.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TelemetryPoint } from '@tonypi/contracts';
import { startServer } from '../packages/server/src/app';
import { loadConfig } from '../packages/server/src/config';
import { createLogger } from '../packages/server/src/logger';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD, benchLogin } from './bench-fixtures';

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '100' },
    days: { type: 'string', default: '7' },
    'history-hz': { type: 'string', default: '1' },
    'live-hz': { type: 'string', default: '1' },
  },
});
const robots = Number(values.robots);
const days = Number(values.days);
const historyHz = Number(values['history-hz']);
const liveHz = Number(values['live-hz']);

const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-bench-reports-'));
const config = loadConfig({
  ...loopbackEnv(dataDir, BENCH_PASSWORD),
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  SIMULATED_ROBOTS: String(robots),
  SIMULATED_RATE_HZ: String(liveHz),
  MQTT_MAX_CONNECTIONS_PER_ADDRESS: String(Math.max(256, robots + 20)),
  READER_SHED_LOOP_DELAY_MS: '0',
});
const server = await startServer(config, { logger: createLogger(config.logLevel) });
const token = await benchLogin(server.url);
const api = async (p: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${p}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });

try {
  // The simulated robots, once all are known.
  let ids: string[] = [];
  for (let i = 0; i < 200; i++) {
    const list = (await (await api('/robots?limit=500')).json()) as { items: { robot_id: string }[] };
    ids = list.items.map((r) => r.robot_id);
    if (ids.length >= robots) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  // History: `days` back from an hour ago (the live fleet fills the last hour).
  const started = performance.now();
  const end = Date.now() - 3_600_000;
  const begin = end - days * 86_400_000;
  const step = 1000 / historyHz;
  let written = 0;
  for (const id of ids) {
    let batch: TelemetryPoint[] = [];
    for (let ts = begin, i = 0; ts < end; ts += step, i++) {
      const day = Math.sin((ts / 86_400_000) * 2 * Math.PI);
      batch.push({
        measurement: 'system',
        robot_id: id,
        ts,
        fields: {
          cpu_percent: 40 + 20 * day,
          memory_percent: 55,
          disk_percent: 40,
          cpu_temperature_c: 55 + 8 * day,
        },
      });
      batch.push({
        measurement: 'battery',
        robot_id: id,
        ts,
        fields: {
          percent: 100 - (((i * step) / 36_000) % 80),
          voltage_v: 8 - (((i * step) / 3_600_000) % 1),
        },
      });
      for (let s = 1; s <= 6; s++) {
        batch.push({
          measurement: 'servos',
          robot_id: id,
          tags: { servo_id: String(s) },
          ts,
          fields: { temperature_c: 40 + 5 * day + s, voltage_v: 7.4, load_percent: 20 + s },
        });
      }
      if (batch.length >= 50_000) {
        await server.store.append(batch);
        written += batch.length;
        batch = [];
      }
    }
    await server.store.append(batch);
    written += batch.length;
  }
  await server.store.maintain(Date.now(), config.retention);
  console.log(
    `history: ${written.toLocaleString('en')} points for ${ids.length} robots over ${days} d at ${historyHz} Hz, ` +
      `written and rolled up in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const ingestBefore = server.pipeline.stats();
  const t0 = performance.now();
  const res = await api('/reports', {
    method: 'POST',
    body: JSON.stringify({ kind: 'fleet_summary', from: '7d' }),
  });
  const { report_id } = (await res.json()) as { report_id: number };
  let status = 'queued';
  let report: { status: string; error: string | null; document: { sections: unknown[] } | null } | undefined;
  while (status === 'queued' || status === 'running') {
    await new Promise((r) => setTimeout(r, 20));
    report = (await (await api(`/reports/${report_id}`)).json()) as typeof report;
    status = report?.status ?? 'failed';
  }
  const generated = performance.now() - t0;
  if (status !== 'completed') throw new Error(`report ${status}: ${report?.error}`);
  const t1 = performance.now();
  const pdf = Buffer.from(await (await api(`/reports/${report_id}/pdf`)).arrayBuffer());
  const pdfMs = performance.now() - t1;
  const ingestAfter = server.pipeline.stats();
  const json = JSON.stringify(report?.document ?? {});
  console.log(
    `bench:reports (${ids.length} robots, ${days} d at ${historyHz} Hz, fleet publishing at ${liveHz} Hz): ` +
      `report completed in ${(generated / 1000).toFixed(2)} s (document ${(json.length / 1024).toFixed(0)} KB), ` +
      `PDF in ${(pdfMs / 1000).toFixed(2)} s, ${(pdf.length / 1024).toFixed(0)} KB; ` +
      `meanwhile ingest received ${ingestAfter.points_received - ingestBefore.points_received} points, ` +
      `stored ${ingestAfter.points_stored - ingestBefore.points_stored}, shed ${ingestAfter.points_shed - ingestBefore.points_shed}`,
  );
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
