/**
 * `npm run bench:load -- [--duration 60] [--robots 100] [--rate 10] [--live 20] [--http 20] [--history-robots 2]`
 *
 * Dashboards reading while robots write. The real server (embedded Aedes, PGlite, DuckDB) runs in
 * this process with the default ingest queue; in child processes, each on its own core: the robots
 * (load-generator.ts, `robots` × `rate` Hz of 12-field `sensors` messages) and the readers
 * (load-readers.ts: `live` live-stream clients subscribed to everything, `http` HTTP clients asking
 * again as soon as answered, half `GET /api/v1/robots?limit=100`, half 24 h range queries of the
 * `history-robots` robots that were given 24 h of 10 Hz history first, roll-ups current as the
 * maintenance job keeps them). Prints what was shed, publish → stored and publish → live latency,
 * the readers' latencies and 503 counts, then one summary line. Figures only: never a verdict.
 * QUERY_READERS, QUERY_QUEUE_LIMIT, READER_SHED_LOOP_DELAY_MS, READER_SLOTS, READER_WAIT_LIMIT and
 * ROBOT_LIST_MAX_AGE_MS are taken from the environment when set.
 */
import { fork } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { TelemetryPoint } from '@tonypi/contracts';
import type { startServer } from '../packages/server/src/app';
import { loadConfig } from '../packages/server/src/config';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD, benchLogin, sensorHistoryRow, startPreparedServer } from './bench-fixtures';
import { LatencyHistogram } from './latency-histogram';
import type { ReadersResult, RouteFigures } from './load-readers';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    robots: { type: 'string', default: '100' },
    rate: { type: 'string', default: '10' },
    live: { type: 'string', default: '20' },
    http: { type: 'string', default: '20' },
    'history-robots': { type: 'string', default: '2' },
    prepare: { type: 'string' },
  },
});
const durationS = Number(values.duration);
const robots = Number(values.robots);
const ratePerRobot = Number(values.rate);
const liveClients = Number(values.live);
const httpClients = Number(values.http);
const historyRobots = Math.min(robots, Number(values['history-robots']));
const HISTORY_HOURS = 24;
const HISTORY_HZ = 10;

const robotId = (i: number) => `bench_${String(i + 1).padStart(3, '0')}`;

function benchConfig(dataDir: string) {
  // The default ingest queue: what a real server sheds with is what this measures.
  // The readers' settings may be varied from the environment, to compare them under the same load.
  const readerSettings = [
    'QUERY_READERS',
    'QUERY_QUEUE_LIMIT',
    'READER_SHED_LOOP_DELAY_MS',
    'READER_SLOTS',
    'READER_WAIT_LIMIT',
    'ROBOT_LIST_MAX_AGE_MS',
  ];
  return loadConfig({
    ...Object.fromEntries(readerSettings.map((k) => [k, process.env[k]])),
    ...loopbackEnv(dataDir, BENCH_PASSWORD),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
}

/** 24 h of 10 Hz sensors history for one robot, written straight to the store (as bench:query). */
async function fillHistory(server: Awaited<ReturnType<typeof startServer>>, robot: string, now: number) {
  const total = HISTORY_HOURS * 3600 * HISTORY_HZ;
  const step = 1000 / HISTORY_HZ;
  for (let done = 0; done < total; ) {
    const batch: TelemetryPoint[] = [];
    for (let i = 0; i < 50_000 && done < total; i++, done++) {
      batch.push(sensorHistoryRow(robot, now - HISTORY_HOURS * 3600_000 + done * step, done));
    }
    await server.store.append(batch);
  }
  return total;
}

function childProcess(file: string, plan: unknown) {
  return fork(path.join(import.meta.dirname, file), [JSON.stringify(plan)], {
    execArgv: ['--import', 'tsx'],
  });
}

async function main(): Promise<void> {
  const started = await startPreparedServer(import.meta.filename, values.prepare, benchConfig);
  if (!started) return;
  const { server, dataDir, config } = started;
  try {
    const token = await benchLogin(server.url);

    const history = Array.from({ length: historyRobots }, (_, i) => robotId(i));
    const fillStart = Date.now();
    let rows = 0;
    for (const robot of history) {
      // The robot exists once it has spoken; register it the way ingest does.
      server.pipeline.handle(`tonypi/${robot}/system`, Buffer.from(JSON.stringify({ cpu_percent: 1 })));
      rows += await fillHistory(server, robot, fillStart);
    }
    await server.registry.flush();
    await server.store.maintain(Date.now(), config.retention);
    console.log(
      `bench:load — history: ${rows} rows (${history.length} robots × ${HISTORY_HOURS} h × ${HISTORY_HZ} Hz, roll-ups current) ` +
        `in ${((Date.now() - fillStart) / 1000).toFixed(1)} s`,
    );
    const robotsClients = Math.ceil(httpClients / 2);
    const rangeClients = httpClients - robotsClients;
    console.log(
      `bench:load — ${robots} robots × ${ratePerRobot} Hz for ${durationS} s; ${liveClients} live clients (everything); ` +
        `${robotsClients} clients polling GET /robots?limit=100, ${rangeClients} running 24 h range queries`,
    );

    // One process per kind of reader: the pollers' latencies must not include the time their own
    // event loop spends parsing 14 000 live frames a second or 1 MB range answers.
    const readerGroups = [
      { name: 'live', liveClients, robotsClients: 0, rangeClients: 0 },
      { name: 'robots', liveClients: 0, robotsClients, rangeClients: 0 },
      { name: 'range', liveClients: 0, robotsClients: 0, rangeClients },
    ].filter((g) => g.liveClients + g.robotsClients + g.rangeClients > 0);
    // Each is started and ready (compiled, live sockets open) before the robots publish, and starts
    // reading when they do: three processes compiling at once would hold up the ingest at the start.
    const readerProcesses = readerGroups.map((group) => {
      const proc = childProcess('load-readers.ts', {
        httpUrl: server.url,
        token,
        ...group,
        rangeRobots: history,
        durationS,
      });
      const ready = new Promise<void>((resolve) =>
        proc.on('message', (m: { phase: string }) => m.phase === 'ready' && resolve()),
      );
      const done = new Promise<ReadersResult & { name: string }>((resolve, reject) => {
        proc.on('message', (m: { phase: string }) => {
          if (m.phase === 'done') resolve({ ...(m as unknown as ReadersResult), name: group.name });
        });
        proc.once('exit', (code) => code !== 0 && reject(new Error(`readers exited with ${code}`)));
      });
      return { proc, ready, done };
    });
    await Promise.all(readerProcesses.map((r) => r.ready));
    const before = server.pipeline.stats();
    // store_lag_ms covers the last 20 000 messages: sampled each second, the run's worst window counts.
    const storedP50: number[] = [];
    const storedP99: number[] = [];
    let maxQueue = 0;
    /** The longest store write the pipeline saw (waiting for the store's write lock included). */
    let maxFlushMs = 0;
    let maxLoopDelay = 0;
    let lastTick = performance.now();
    const serverLoop = monitorEventLoopDelay({ resolution: 5 });
    serverLoop.enable();
    const sampler = setInterval(() => {
      const s = server.pipeline.stats();
      if (s.store_lag_ms.p99 !== null) storedP99.push(s.store_lag_ms.p99);
      if (s.store_lag_ms.p50 !== null) storedP50.push(s.store_lag_ms.p50);
      maxQueue = Math.max(maxQueue, s.queue_points);
      maxFlushMs = Math.max(maxFlushMs, s.last_flush_ms);
      const t = performance.now();
      maxLoopDelay = Math.max(maxLoopDelay, t - lastTick - 1000);
      lastTick = t;
    }, 1000);

    const generator = childProcess('load-generator.ts', {
      mqttUrl: server.mqttUrl,
      httpUrl: server.url,
      token,
      robots,
      ratePerRobot,
      durationS,
      qos: 0,
    });
    generator.on('message', (m: { phase: string }) => {
      if (m.phase === 'publishing') for (const r of readerProcesses) r.proc.send({ phase: 'go' });
    });
    const readersDone = Promise.all(readerProcesses.map((r) => r.done));
    const load = await new Promise<{ published: number; offered_msg_s: number }>((resolve, reject) => {
      generator.on('message', (m: { phase: string }) => {
        if (m.phase === 'done') resolve(m as unknown as { published: number; offered_msg_s: number });
      });
      generator.once('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
    });
    const groups = await readersDone;
    const pick = (name: string) => groups.find((g) => g.name === name);
    const noRoute: RouteFigures = { ok: 0, unavailable: 0, other: 0, latency: [], bytes: 0 };
    const read = {
      live_frames: pick('live')?.live_frames ?? 0,
      live_latency: pick('live')?.live_latency ?? [],
      live_closed: pick('live')?.live_closed ?? 0,
      robots: pick('robots')?.robots ?? noRoute,
      range: pick('range')?.range ?? noRoute,
    };
    // Everything published is taken in (or counted) by now; write what waits.
    await server.pipeline.flush();
    await server.pipeline.flush();
    clearInterval(sampler);
    serverLoop.disable();
    const after = server.pipeline.stats();
    const accepted = after.messages_accepted - before.messages_accepted;
    const shed = after.points_shed - before.points_shed;
    const median = (xs: number[]) =>
      xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const live = LatencyHistogram.fromPairs(read.live_latency);
    const route = (f: RouteFigures) => {
      const h = LatencyHistogram.fromPairs(f.latency);
      return {
        answered_200: f.ok,
        answered_503: f.unavailable,
        other: f.other,
        per_s: Math.round((f.ok / durationS) * 10) / 10,
        p50_ms: h.quantile(0.5),
        p99_ms: h.quantile(0.99),
        mean_kb: f.ok === 0 ? 0 : Math.round(f.bytes / f.ok / 1024),
      };
    };
    const robotsFig = route(read.robots);
    const rangeFig = route(read.range);
    const storedP99Max = storedP99.length === 0 ? null : Math.max(...storedP99);
    console.table({
      ingest: {
        published: load.published,
        offered_msg_s: load.offered_msg_s,
        accepted,
        lost: load.published - accepted + shed,
        points_shed: shed,
        max_queue_points: maxQueue,
        max_store_write_ms: maxFlushMs,
        stored_p50_ms: median(storedP50),
        stored_p99_ms: storedP99Max,
        max_event_loop_delay_ms: Math.round(maxLoopDelay),
        loop_delay_p99_ms: Math.round(serverLoop.percentile(99) / 1e6),
      },
    });
    console.table({ 'GET /robots?limit=100': robotsFig, '24 h range query': rangeFig });
    // The readers' own loops: a latency above is the server's only where its process was not busy.
    console.table(
      Object.fromEntries(
        groups.map((g) => [
          `${g.name} readers' event loop`,
          { delay_p99_ms: g.loop_delay_p99_ms, delay_max_ms: g.loop_delay_max_ms },
        ]),
      ),
    );
    console.table({
      live: {
        frames: read.live_frames,
        p50_ms: live.quantile(0.5),
        p99_ms: live.quantile(0.99),
        sockets_closed_by_server: read.live_closed,
      },
    });
    console.log(
      `load: ${shed} shed, stored p99 ${storedP99Max} ms, live p99 ${live.quantile(0.99)} ms, ` +
        `robots p99 ${robotsFig.p99_ms} ms, range p99 ${rangeFig.p99_ms} ms`,
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
