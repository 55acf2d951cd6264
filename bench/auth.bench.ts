/**
 * `npm run bench:auth -- [--storm 1000] [--fleet 100] [--rate 100] [--duration 20]`
 *
 * Robot credentials under load (issue #12 "Numbers"), on the real server (embedded Aedes, PGlite, DuckDB) in
 * this process, with ALLOW_ANONYMOUS_ROBOTS=false; every client in child processes:
 * 1. an authenticated `GET /api/v1/robots?limit=100` with 100 robots registered, 200 requests/s for 10 s:
 *    p50 / p99;
 * 2. a connected fleet (`--fleet` robots with credentials, `--rate` msg/s each) publishing while `--storm`
 *    robots connect at once with their credentials, each subscribing to its command topic and the broadcast:
 *    the time until all are authenticated and subscribed, and the fleet's ingest rate before and during it.
 * The storm's figures split each robot's wait into its steps (TCP connected, CONNACK, SUBACK) and give the CPU
 * time the server and the storm's clients spent: on a shared machine the wall time follows the load, the CPU
 * time much less. `BENCH_CPU_PROF_DIR=dir` writes a CPU profile of every child process there (run this one
 * with `node --cpu-prof --import tsx bench/auth.bench.ts` for the server's).
 * Prints figures only: it never passes or fails on a time.
 */
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
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
    storm: { type: 'string', default: '1000' },
    fleet: { type: 'string', default: '100' },
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '20' },
    prepare: { type: 'string' },
  },
});
const stormRobots = Number(values.storm);
const fleetRobots = Number(values.fleet);
const ratePerRobot = Number(values.rate);
const durationS = Number(values.duration);

function benchConfig(dataDir: string) {
  return loadConfig({
    ...loopbackEnv(dataDir, BENCH_PASSWORD),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ALLOW_ANONYMOUS_ROBOTS: 'false',
    INGEST_QUEUE_LIMIT: '2000000',
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: String(stormRobots + fleetRobots + 64),
  });
}

type Report = Record<string, unknown> & { phase: string; at?: number };

/** Runs a child script with a plan; `onPhase` hears its progress; `done` resolves with its final report. */
function child(script: string, plan: unknown, onPhase: (m: Report) => void = () => undefined) {
  const profile = process.env.BENCH_CPU_PROF_DIR;
  const proc = fork(path.join(import.meta.dirname, script), [JSON.stringify(plan)], {
    execArgv: ['--import', 'tsx', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])],
  });
  const done = new Promise<Report>((resolve, reject) => {
    proc.on('message', (m: Report) => (m.phase === 'done' ? resolve(m) : onPhase(m)));
    proc.once('exit', (code) => code !== 0 && reject(new Error(`${script} exited with ${code}`)));
  });
  return { proc, done };
}

async function main(): Promise<void> {
  const started = await startPreparedServer(import.meta.filename, values.prepare, benchConfig);
  if (!started) return;
  const { server, dataDir } = started;
  const token = await benchLogin(server.url);
  console.log(
    `bench:auth — GET /robots with ${fleetRobots} robots at 200/s; ${stormRobots} robots connecting at once ` +
      `while ${fleetRobots} robots publish ${fleetRobots * ratePerRobot} msg/s (all with credentials)`,
  );

  const fleetPasswords = await registerRobots(server.url, token, benchRobotIds(fleetRobots));
  const list = { mode: 'list', url: server.url, token, ratePerS: 200, durationS: 10 };
  const listed = await child('auth-load.ts', list).done;
  const stormPasswords = await registerRobots(server.url, token, benchRobotIds(stormRobots, 'storm_'));

  // The fleet's ingest, sampled every 250 ms: accepted messages since its start.
  // And the server's CPU time (this process runs only the server): a figure the machine's load barely moves.
  const samples: Array<{ at: number; accepted: number; cpuMs: number }> = [];
  const base = server.pipeline.stats();
  const sampler = setInterval(() => {
    const cpu = process.cpuUsage();
    samples.push({
      at: Date.now(),
      accepted: server.pipeline.stats().messages_accepted - base.messages_accepted,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
  }, 250);
  let publishStart = 0;
  let stormStart = 0;
  let stormEnd = 0;
  // The storm's process starts (and loads) first, then waits for the word: its start-up is not in the figures.
  let stormReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    stormReady = resolve;
  });
  const storm = child(
    'auth-load.ts',
    { mode: 'storm', mqttUrl: server.mqttUrl, passwords: stormPasswords },
    (s) => {
      if (s.phase === 'ready') stormReady();
      if (s.phase === 'storm_started') stormStart = s.at ?? Date.now();
      if (s.phase === 'storm_done') stormEnd = s.at ?? Date.now();
    },
  );
  await ready;
  const load = await child(
    'load-generator.ts',
    {
      mqttUrl: server.mqttUrl,
      httpUrl: server.url,
      token,
      robots: fleetRobots,
      ratePerRobot,
      durationS,
      qos: 0,
      passwords: fleetPasswords,
    },
    (m) => {
      if (m.phase !== 'publishing') return;
      publishStart = m.at ?? Date.now();
      // The storm begins once the fleet has published for a third of the run.
      setTimeout(() => storm.proc.send('go'), (durationS * 1000) / 3);
    },
  ).done;
  const stormed = await storm.done;
  await new Promise((r) => setTimeout(r, 1000));
  clearInterval(sampler);
  /** Per second of wall time between `from` and `to`: messages accepted, or the server's CPU ms. */
  const rate = (from: number, to: number, of: 'accepted' | 'cpuMs' = 'accepted') => {
    const inside = samples.filter((s) => s.at >= from && s.at <= to);
    if (inside.length < 2) return null;
    const first = inside[0]!;
    const last = inside.at(-1)!;
    return Math.round(((last[of] - first[of]) * 1000) / (last.at - first.at));
  };
  /** The server's CPU time between `from` and `to` (the samples nearest inside). */
  const cpuBetween = (from: number, to: number) => {
    const inside = samples.filter((s) => s.at >= from && s.at <= to);
    return inside.length < 2 ? null : Math.round(inside.at(-1)!.cpuMs - inside[0]!.cpuMs);
  };
  const accepted = server.pipeline.stats().messages_accepted - base.messages_accepted;
  const figures = {
    list_requests: listed.requests,
    list_statuses: JSON.stringify(listed.statuses),
    list_p50_ms: listed.p50_ms,
    list_p99_ms: listed.p99_ms,
    list_max_ms: listed.max_ms,
    storm_robots: stormed.robots,
    storm_refused: stormed.refused,
    storm_refused_why: JSON.stringify(stormed.refused_why),
    storm_all_subscribed_ms: stormed.all_subscribed_ms,
    storm_connect_to_suback_p50_ms: stormed.connect_to_suback_p50_ms,
    storm_connect_to_suback_p99_ms: stormed.connect_to_suback_p99_ms,
    storm_connect_to_tcp_p50_ms: stormed.connect_to_tcp_p50_ms,
    storm_connect_to_tcp_p99_ms: stormed.connect_to_tcp_p99_ms,
    storm_connect_to_connack_p50_ms: stormed.connect_to_connack_p50_ms,
    storm_connect_to_connack_p99_ms: stormed.connect_to_connack_p99_ms,
    storm_connack_to_suback_p50_ms: stormed.connack_to_suback_p50_ms,
    storm_connack_to_suback_p99_ms: stormed.connack_to_suback_p99_ms,
    storm_last_connect_call_ms: stormed.last_connect_call_ms,
    storm_last_connack_ms: stormed.last_connack_ms,
    storm_client_cpu_ms: stormed.client_cpu_ms,
    fleet_offered_msg_s: load.offered_msg_s,
    fleet_accepted_msg_s_before_storm: rate(publishStart + 1000, stormStart),
    fleet_accepted_msg_s_during_storm: rate(stormStart, Math.max(stormEnd, stormStart + 1000)),
    server_cpu_ms_per_s_before_storm: rate(publishStart + 1000, stormStart, 'cpuMs'),
    server_cpu_ms_per_s_during_storm: rate(stormStart, Math.max(stormEnd, stormStart + 1000), 'cpuMs'),
    server_cpu_ms_during_storm: cpuBetween(stormStart - 250, stormEnd + 250),
    fleet_published: load.published,
    fleet_lost: Number(load.published) - accepted,
  };
  console.table(figures);
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
  console.log(
    `auth: ${stormed.robots} robots authenticated and subscribed in ${stormed.all_subscribed_ms} ms ` +
      `(${stormed.refused} refused); fleet ${figures.fleet_accepted_msg_s_before_storm} → ` +
      `${figures.fleet_accepted_msg_s_during_storm} msg/s during it, ${figures.fleet_lost} lost; ` +
      `GET /robots p99 ${listed.p99_ms} ms`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
