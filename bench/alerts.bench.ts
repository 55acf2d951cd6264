/**
 * `npm run bench:alerts -- [--robots 100] [--rate 10] [--offenders 20] [--silent 10] [--offline-after 5]`
 *
 * The real server (embedded Aedes, PGlite, DuckDB, the alert engine with its default rules) in this process;
 * the robots in a child process (alert-load.ts), publishing `system` at `rate` Hz each. Measures:
 * - raise latency: from the publish of a robot's first offending value (memory 95 %, the default memory rule
 *   has no sustained-for) to its alert written to the database and announced as `alert.changed` (the event
 *   follows the committed write);
 * - offline latency: from a silent robot's last message to its `robot_offline` alert, against
 *   OFFLINE_AFTER_S (`--offline-after`, 5 s here to keep the run short; the server's default is 30).
 * `--engine-only`: no server: the engine's own cost per message, evaluating 100 robots' `sensors` messages
 * (12 fields) against 50 rules per robot (12 of them on the message's fields), in a loop on one core.
 * Prints figures only: it never passes or fails on a time.
 */
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DecodedMessage, ServerEvents } from '@tonypi/contracts';
import { MEASUREMENTS } from '@tonypi/contracts';
import { AlertEngine } from '../packages/server/src/alerts/alert-engine';
import { DEFAULT_RULES, type RuleRow } from '../packages/server/src/alerts/alert-rules';
import { RuleTable } from '../packages/server/src/alerts/rule-table';
import { SilenceTable } from '../packages/server/src/alerts/silence-table';
import { loadConfig } from '../packages/server/src/config';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD, startPreparedServer } from './bench-fixtures';
import { LatencyHistogram } from './latency-histogram';

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '100' },
    rate: { type: 'string', default: '10' },
    offenders: { type: 'string', default: '20' },
    silent: { type: 'string', default: '10' },
    'offline-after': { type: 'string', default: '5' },
    'engine-only': { type: 'boolean', default: false },
    prepare: { type: 'string' },
  },
});
const robots = Number(values.robots);
const ratePerRobot = Number(values.rate);
const offenders = Math.min(Number(values.offenders), robots);
const silent = Math.min(Number(values.silent), Math.max(0, robots - offenders));
const offlineAfterS = Number(values['offline-after']);

function benchConfig(dataDir: string) {
  return loadConfig({
    ...loopbackEnv(dataDir, BENCH_PASSWORD),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: String(Math.max(256, robots + 16)),
    ROBOT_AUTO_REGISTER_PER_MIN: String(Math.max(120, robots)),
    OFFLINE_AFTER_S: String(offlineAfterS),
  });
}

const q = (h: LatencyHistogram, p: number) => h.quantile(p);

/** The engine alone: ns per message with 50 rules per robot, none of them firing. */
function engineOnly(): void {
  const fields = MEASUREMENTS.sensors.fields;
  const rows: RuleRow[] = [];
  let id = 1;
  const stamp = { is_default: false, created_at: new Date(), updated_at: new Date(), updated_by: null };
  for (const r of DEFAULT_RULES) rows.push({ ...r, ...stamp, id: id++, is_default: true });
  const ids = Array.from({ length: robots }, (_, i) => `bench_${i}`);
  for (const robot_id of ids) {
    for (let i = 0; i < 50; i++) {
      rows.push({
        ...stamp,
        id: id++,
        robot_id,
        name: 'bench',
        measurement: 'sensors',
        field: fields[i] ?? `bench_extra_${i}`,
        tag_filter: {},
        direction: 'above',
        warning_level: 1e9,
        critical_level: 2e9,
        clear_level: null,
        sustained_s: 0,
        enabled: true,
      });
    }
  }
  const table = new RuleTable(rows);
  const engine = new AlertEngine({
    sink: { write() {} },
    rules: () => table,
    silences: () => new SilenceTable([]),
    resolveAfterMs: 30_000,
  });
  const messages: DecodedMessage[] = ids.map((robot_id) => {
    const values: Record<string, number> = {};
    for (const [i, f] of fields.entries()) values[f] = i;
    const now = Date.now();
    return {
      robot_id,
      channel: 'sensors',
      layout: 'canonical',
      ts: now,
      received_at: now,
      skewed: false,
      points: [{ measurement: 'sensors', robot_id, ts: now, fields: values }],
    };
  });
  console.log(`bench:alerts --engine-only — ${robots} robots, 50 rules each, 12 fields per message`);
  for (let round = 0; round < 5; round++) {
    const n = 500_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) engine.observe(messages[i % messages.length]!);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    console.log(
      `round ${round + 1}: ${Math.round(ns)} ns per message = ${Math.round(1e6 / ns)}k msg/s on one core`,
    );
  }
}

async function main(): Promise<void> {
  if (values['engine-only']) return engineOnly();
  const started = await startPreparedServer(import.meta.filename, values.prepare, benchConfig);
  if (!started) return;
  const { server, dataDir } = started;
  const raisedAt = new Map<string, number>();
  const offlineAt = new Map<string, number>();
  server.service('events').subscribe('alert.changed', (c: ServerEvents['alert.changed']) => {
    const id = c.alert.robot_id;
    if (!id || c.change !== 'raised') return;
    if (c.alert.alert_type === 'robot_offline') offlineAt.set(id, Date.now());
    else if (c.alert.source === 'memory_percent') raisedAt.set(id, Date.now());
  });
  console.log(
    `bench:alerts — ${robots} robots × ${ratePerRobot} Hz (system), ${offenders} offending robots, ` +
      `${silent} falling silent, OFFLINE_AFTER_S ${offlineAfterS}`,
  );
  const offendedAt = new Map<string, number>();
  const lastMessageAt = new Map<string, number>();
  const child = fork(
    path.join(import.meta.dirname, 'alert-load.ts'),
    [
      JSON.stringify({
        mqttUrl: server.mqttUrl,
        robots,
        ratePerRobot,
        warmupS: 3,
        offenders,
        offendEveryMs: 250,
        silent,
        tailS: offlineAfterS + 3,
      }),
    ],
    { execArgv: ['--import', 'tsx'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: { phase: string; robot_id?: string; at?: number; last_at?: number }) => {
      if (m.phase === 'offend') offendedAt.set(m.robot_id!, m.at!);
      else if (m.phase === 'silent') lastMessageAt.set(m.robot_id!, m.last_at!);
      else if (m.phase === 'done') resolve();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`alert load exited with ${code}`)),
    );
  });
  // The last offline alerts may still be on their way.
  const deadline = Date.now() + 5000;
  while (offlineAt.size < lastMessageAt.size && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));

  const raise = new LatencyHistogram();
  let raisedMissing = 0;
  for (const [id, at] of offendedAt) {
    const seen = raisedAt.get(id);
    if (seen === undefined) raisedMissing++;
    else raise.add(seen - at);
  }
  const offline = new LatencyHistogram();
  let offlineMissing = 0;
  for (const [id, at] of lastMessageAt) {
    const seen = offlineAt.get(id);
    if (seen === undefined) offlineMissing++;
    else offline.add(seen - at);
  }
  const figures = {
    offending_robots: offendedAt.size,
    raised: raise.count,
    raise_missing: raisedMissing,
    raise_p50_ms: q(raise, 0.5),
    raise_p99_ms: q(raise, 0.99),
    raise_max_ms: q(raise, 1),
    silent_robots: lastMessageAt.size,
    offline_alerts: offline.count,
    offline_missing: offlineMissing,
    offline_p50_ms: q(offline, 0.5),
    offline_max_ms: q(offline, 1),
    offline_budget_ms: (offlineAfterS + 1) * 1000,
  };
  console.table(figures);
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
  console.log(
    `alerts: raise p50 ${figures.raise_p50_ms} ms p99 ${figures.raise_p99_ms} ms (${raisedMissing} missing); ` +
      `offline p50 ${figures.offline_p50_ms} ms max ${figures.offline_max_ms} ms for OFFLINE_AFTER_S ${offlineAfterS} ` +
      `(${offlineMissing} missing)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
