/**
 * `npm run bench:commands -- [--robots 100] [--rate 10] [--legacy 0.5] [--commands 300] [--stops 20] [--gap-ms 0]`
 *
 * Commands and emergency stops under a streaming fleet (issue #7 §3). The real server (embedded Aedes,
 * PGlite, DuckDB) runs in this process; `robots` simulated robots (packages/agent; a `legacy` share of them
 * speaking the original client's protocol) stream at `rate` Hz from a child process (commands-fleet.ts) and
 * execute what they are sent.
 *
 * - Command round trip: `POST /robots/{id}/commands {status_request}` → the robot answers → the row is
 *   `succeeded` (seen as the live `command` frame, which is published once the row is written; one `GET
 *   /commands/{id}` confirms each). One command at a time, robots taken in turn.
 * - Fleet emergency stop: `POST /fleet/emergency-stop` → every robot's acknowledgement recorded (the first
 *   `acknowledged` or `succeeded` frame of its row); then `POST /fleet/resume` and the next one. `gap-ms`
 *   after each of them: 0 (the default) sends the next while the last one's consequences (alerts raised or
 *   resolved, log lines, status frames for every robot) are still being written; 1000 measures a stop that
 *   comes to a fleet in its steady state, as an operator's does.
 *
 * Prints p50/p90/p99/max of each. Figures only: never a verdict.
 */
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { loadConfig } from '../packages/server/src/config';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import {
  BENCH_PASSWORD,
  benchLogin,
  benchRobotIds,
  registerRobots,
  startPreparedServer,
} from './bench-fixtures';
import { LatencyHistogram } from './latency-histogram';

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '100' },
    rate: { type: 'string', default: '10' },
    legacy: { type: 'string', default: '0.5' },
    commands: { type: 'string', default: '300' },
    stops: { type: 'string', default: '20' },
    'gap-ms': { type: 'string', default: '0' },
    prepare: { type: 'string' },
  },
});
const robots = Number(values.robots);
const rateHz = Number(values.rate);
const legacyCount = Math.round(robots * Number(values.legacy));
const commandCount = Number(values.commands);
const stopCount = Number(values.stops);
const gapMs = Number(values['gap-ms']);

function benchConfig(dataDir: string) {
  return loadConfig({
    ...loopbackEnv(dataDir, BENCH_PASSWORD),
    LOG_LEVEL: 'warn',
    // One user sends every command here: the per-user limit is not what is measured.
    COMMANDS_PER_USER_PER_S: '100000',
    COMMAND_BURST: '100000',
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: '0',
  });
}

const started = await startPreparedServer(import.meta.filename, values.prepare, benchConfig);
if (!started) process.exit(0);
const { server, dataDir } = started;
const url = server.url;
const token = await benchLogin(url);
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

const ids = benchRobotIds(robots, 'cmdbench_');
const legacyIds = ids.slice(0, legacyCount);
const canonicalIds = ids.slice(legacyCount);
const secrets = await registerRobots(url, token, canonicalIds);

const fleet = fork(
  path.join(import.meta.dirname, 'commands-fleet.ts'),
  [JSON.stringify({ mqttUrl: server.mqttUrl, rateHz, canonical: secrets, legacy: legacyIds })],
  { execArgv: ['--import', 'tsx'] },
);
// A benchmark that fails (a live frame that never comes) must not leave the fleet process behind.
process.once('exit', () => fleet.kill());
await new Promise<void>((resolve, reject) => {
  fleet.once('message', () => resolve());
  fleet.once('exit', (code) => reject(new Error(`the fleet process exited (${code})`)));
});

async function onlineCount(): Promise<number> {
  const res = await fetch(`${url}/api/v1/robots?status=online&limit=1`, { headers: auth });
  return ((await res.json()) as { total: number }).total;
}
for (const deadline = Date.now() + 60_000; (await onlineCount()) < robots; ) {
  if (Date.now() > deadline) throw new Error('not every robot came online within 60 s');
  await new Promise((r) => setTimeout(r, 200));
}

// The live stream's command frames, dispatched to whoever waits for one.
type Frame = { type: string; command_id?: string; robot_id?: string; command?: string; status?: string };
const listeners = new Set<(f: Frame) => void>();
const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/stream`);
await new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});
ws.on('message', (data) => {
  const f = JSON.parse(data.toString()) as Frame;
  for (const l of listeners) l(f);
});
ws.send(JSON.stringify({ type: 'auth', token }));
ws.send(JSON.stringify({ type: 'subscribe', robots: ['*'], channels: ['command'] }));
await new Promise((r) => setTimeout(r, 500));

function until<T>(match: (f: Frame) => T | undefined, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      listeners.delete(listener);
      reject(new Error('timed out waiting for a live frame'));
    }, timeoutMs);
    const listener = (f: Frame) => {
      const v = match(f);
      if (v === undefined) return;
      clearTimeout(timer);
      listeners.delete(listener);
      resolve(v);
    };
    listeners.add(listener);
  });
}

const post = (p: string, body: unknown) =>
  fetch(`${url}/api/v1${p}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });

// --- command round trips ---
const roundTrip = new LatencyHistogram(60_000);
let failures = 0;
for (let i = 0; i < commandCount; i++) {
  const robot = ids[i % ids.length]!;
  const t0 = performance.now();
  // Listen before sending: the answer may come before the POST's own response.
  const done = new Set(['succeeded', 'failed', 'timed_out', 'rejected']);
  const finished = new Map<string, string>();
  let wanted: string | undefined;
  let resolveDone: (status: string) => void = () => undefined;
  const settled = new Promise<string>((r) => {
    resolveDone = r;
  });
  const listener = (f: Frame) => {
    if (f.type !== 'command' || !f.command_id || !f.status || !done.has(f.status)) return;
    if (f.command_id === wanted) resolveDone(f.status);
    else finished.set(f.command_id, f.status);
  };
  listeners.add(listener);
  const res = await post(`/robots/${robot}/commands`, { command: 'status_request', params: {} });
  const { command_id } = (await res.json()) as { command_id: string };
  wanted = command_id;
  const early = finished.get(command_id);
  if (early) resolveDone(early);
  const status = await settled;
  listeners.delete(listener);
  const row = (await (await fetch(`${url}/api/v1/commands/${command_id}`, { headers: auth })).json()) as {
    status: string;
  };
  roundTrip.add(performance.now() - t0);
  if (status !== 'succeeded' || row.status !== 'succeeded') failures++;
}

// --- fleet emergency stops ---
const stopAck = new LatencyHistogram(60_000);
const resumeAck = new LatencyHistogram(60_000);
async function fleetAction(p: string, command: 'emergency_stop' | 'resume', into: LatencyHistogram) {
  const t0 = performance.now();
  const confirmed = new Set<string>();
  let firstFrame: number | undefined;
  let firstAck: number | undefined;
  const all = until((f) => {
    if (f.type !== 'command' || f.command !== command || !f.robot_id) return undefined;
    firstFrame ??= performance.now() - t0;
    if (f.status !== 'acknowledged' && f.status !== 'succeeded') return undefined;
    firstAck ??= performance.now() - t0;
    confirmed.add(f.robot_id);
    return confirmed.size >= robots ? true : undefined;
  }, 30_000);
  const res = await post(p, { reason: 'benchmark' });
  if (res.status !== 202) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  const answered = performance.now() - t0;
  await all;
  into.add(performance.now() - t0);
  if (process.env.BENCH_TRACE) {
    console.log(
      `${command}: 202 after ${answered.toFixed(0)} ms, first row frame ${firstFrame?.toFixed(0)} ms, first ack ${firstAck?.toFixed(0)} ms, all ${(performance.now() - t0).toFixed(0)} ms`,
    );
  }
}
const gap = () => new Promise((r) => setTimeout(r, gapMs));
for (let i = 0; i < stopCount; i++) {
  await gap();
  await fleetAction('/fleet/emergency-stop', 'emergency_stop', stopAck);
  await gap();
  await fleetAction('/fleet/resume', 'resume', resumeAck);
}

const fmt = (h: LatencyHistogram) =>
  `p50 ${h.quantile(0.5)} ms, p90 ${h.quantile(0.9)} ms, p99 ${h.quantile(0.99)} ms, max ${h.quantile(1)} ms (n=${h.count})`;
console.log(
  `${robots} robots (${legacyCount} legacy) at ${rateHz} Hz; ${commandCount} commands one at a time, ${stopCount} fleet stops ${gapMs} ms apart`,
);
console.log(
  `command round trip (REST → robot → succeeded in the API): ${fmt(roundTrip)}; not succeeded: ${failures}`,
);
console.log(`fleet emergency stop acknowledged by all ${robots} robots: ${fmt(stopAck)}`);
console.log(`fleet resume acknowledged by all: ${fmt(resumeAck)}`);

ws.close();
fleet.send({ phase: 'stop' });
await new Promise((r) => fleet.once('exit', r));
await server.stop();
await rm(dataDir, { recursive: true, force: true });
