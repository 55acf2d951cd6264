/**
 * `npm run bench:ingest -- [--robots 100] [--rate 250] [--duration 60] [--qos 0] [--credentials] [--rules 50]
 *   [--telemetry-url influx://127.0.0.1:8086/?db=bench]`
 *
 * `--telemetry-url`: the telemetry store TELEMETRY_URL names (e.g. InfluxDB) instead of the embedded DuckDB.
 *
 * `--credentials`: the robots are registered first (POST /api/v1/robots) and connect with their own secrets,
 * so every message passes the broker's robot ACL; without it they connect anonymously (ALLOW_ANONYMOUS_ROBOTS).
 *
 * `--rules N`: each robot gets N alert rules of its own on the `sensors` measurement the load sends (the alert
 * engine evaluates every message against them): one per field of the message (12), the rest on fields the
 * message lacks (looked up and skipped), all with levels the values never reach — the engine's steady cost.
 *
 * The real server (embedded Aedes, PGlite, DuckDB) in this process; the robots in a child
 * process. Prints accepted messages/s, stored points/s, loss, publish → stored and publish →
 * live-frame latency, the server's peak RSS, and one summary line. Prints figures only: it never
 * passes or fails on a time.
 */
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MEASUREMENTS } from '@tonypi/contracts';
import { loadConfig } from '../packages/server/src/config';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import {
  BENCH_PASSWORD,
  benchLogin,
  benchRobotIds,
  registerRobots,
  startPreparedServer,
} from './bench-fixtures';

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '100' },
    rate: { type: 'string', default: '250' },
    duration: { type: 'string', default: '60' },
    qos: { type: 'string', default: '0' },
    credentials: { type: 'boolean', default: false },
    rules: { type: 'string', default: '0' },
    prepare: { type: 'string' },
    'telemetry-url': { type: 'string' },
  },
});
const robots = Number(values.robots);
const ratePerRobot = Number(values.rate);
const durationS = Number(values.duration);
const qos = Number(values.qos) as 0 | 1;
const FIELDS_PER_MESSAGE = 12;
const rulesPerRobot = Number(values.rules);
/** The fields of the load generator's `sensors` message. */
const SENSOR_FIELDS = MEASUREMENTS.sensors.fields;

/** `rulesPerRobot` robot rules per robot, written in bulk, then read into the engine's cache. */
async function addRules(server: Awaited<ReturnType<typeof startPreparedServer>> & object): Promise<void> {
  if (rulesPerRobot <= 0) return;
  const fields = Array.from({ length: rulesPerRobot }, (_, i) => SENSOR_FIELDS[i] ?? `bench_extra_${i}`);
  const db = server.server.service('db');
  for (const robot_id of benchRobotIds(robots)) {
    const values: string[] = [];
    const params: unknown[] = [robot_id];
    for (const field of fields) {
      params.push(field);
      values.push(`($1, 'bench ' || $${params.length}, 'sensors', $${params.length}, 'above', 1e9, 2e9)`);
    }
    await db.query(
      `INSERT INTO alert_rules (robot_id, name, measurement, field, direction, warning_level, critical_level)
       VALUES ${values.join(', ')}`,
      params,
    );
  }
  await server.server.service('alertRules').refresh();
}

interface LoadResult {
  published: number;
  offered_msg_s: number;
  /** How long the generator published (without its connection set-up). */
  elapsed_s: number;
  live_frames: number;
  live_p50_ms: number | null;
  live_p99_ms: number | null;
}

function benchConfig(dataDir: string) {
  return loadConfig({
    ...loopbackEnv(dataDir, BENCH_PASSWORD),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    INGEST_QUEUE_LIMIT: '2000000',
    // Every robot of the load connects from this machine's address and registers at the start.
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: String(Math.max(256, robots + 16)),
    ROBOT_AUTO_REGISTER_PER_MIN: String(Math.max(120, robots)),
    ...(values['telemetry-url'] ? { TELEMETRY_URL: values['telemetry-url'] } : {}),
  });
}

async function main(): Promise<void> {
  const started = await startPreparedServer(import.meta.filename, values.prepare, benchConfig);
  if (!started) return;
  const { server, dataDir } = started;
  await addRules(started);
  const token = await benchLogin(server.url);
  const passwords = values.credentials
    ? await registerRobots(server.url, token, benchRobotIds(robots))
    : undefined;

  let peakRss = 0;
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);

  console.log(
    `bench:ingest — ${robots} robots × ${ratePerRobot} Hz = ${robots * ratePerRobot} msg/s offered for ${durationS} s, QoS ${qos}, ` +
      `${FIELDS_PER_MESSAGE} fields per message, robots ${passwords ? 'with credentials' : 'anonymous'}, ` +
      `${rulesPerRobot} alert rules per robot`,
  );
  const before = server.pipeline.stats();
  const child = fork(
    path.join(import.meta.dirname, 'load-generator.ts'),
    [
      JSON.stringify({
        mqttUrl: server.mqttUrl,
        httpUrl: server.url,
        token,
        robots,
        ratePerRobot,
        durationS,
        qos,
        passwords,
      }),
    ],
    { execArgv: ['--import', 'tsx'] },
  );
  // The generator says when it starts and stops publishing; the server's figures are taken
  // from the first publish to the moment it has taken in the last message.
  let publishStart = 0;
  let caughtUp: Promise<number> | undefined;
  const waitUntilAccepted = async (count: number): Promise<number> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const s = server.pipeline.stats();
      if (
        s.messages_accepted + s.messages_rejected - before.messages_accepted - before.messages_rejected >=
        count
      )
        break;
      await new Promise((r) => setTimeout(r, 5));
    }
    return Date.now();
  };
  const load = await new Promise<LoadResult>((resolve, reject) => {
    child.on('message', (m: { phase: string; at: number; published: number }) => {
      if (m.phase === 'publishing') publishStart = m.at;
      else if (m.phase === 'published') caughtUp = waitUntilAccepted(m.published);
      else resolve(m as unknown as LoadResult);
    });
    child.once('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
  });
  const caughtUpAt = await (caughtUp ?? Promise.resolve(Date.now()));
  const tailMs = Math.max(0, caughtUpAt - (publishStart + load.elapsed_s * 1000));
  await server.pipeline.flush();
  await server.pipeline.flush();
  clearInterval(rssTimer);
  const after = server.pipeline.stats();
  const accepted = after.messages_accepted - before.messages_accepted;
  const rejected = after.messages_rejected - before.messages_rejected;
  const stored = after.points_stored - before.points_stored;
  const shed = after.points_shed - before.points_shed;
  const lost = load.published - accepted + shed;
  const windowS = (caughtUpAt - publishStart) / 1000;

  const figures = {
    published: load.published,
    offered_msg_s: load.offered_msg_s,
    accepted,
    rejected,
    lost,
    accepted_msg_s: Math.round(accepted / windowS),
    stored_rows: stored,
    stored_points_s: Math.round((stored * FIELDS_PER_MESSAGE) / windowS),
    drain_after_load_ms: tailMs,
    publish_to_stored_p50_ms: after.store_lag_ms.p50,
    publish_to_stored_p99_ms: after.store_lag_ms.p99,
    live_frames: load.live_frames,
    publish_to_live_p50_ms: load.live_p50_ms,
    publish_to_live_p99_ms: load.live_p99_ms,
    server_peak_rss_mb: Math.round(peakRss / 1024 / 1024),
  };
  console.table(figures);
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
  console.log(
    `ingest: ${figures.accepted_msg_s} msg/s, ${figures.stored_points_s} points/s, ${lost} lost, ` +
      `stored p99 ${figures.publish_to_stored_p99_ms} ms, live p99 ${figures.publish_to_live_p99_ms} ms, ` +
      `rss ${figures.server_peak_rss_mb} MB`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
