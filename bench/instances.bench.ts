/**
 * `npm run bench:instances -- --database-url postgres://… --mqtt-url mqtt://… [--telemetry-url influx://…]
 *   [--instances 2] [--robots 100] [--rate 150] [--duration 30] [--watch mosquitto=PID,influxd=PID]`
 *
 * Issue #9 §3's figure: what several server instances on the same engines (PostgreSQL, Mosquitto and, with
 * `--telemetry-url`, InfluxDB) take together, against one instance. Each instance runs in a process of its own
 * (bench/instance-server.ts) and stores its share of the load through the shared subscription; the robots
 * (bench/load-generator.ts) publish to the broker. A fresh database per run (and a fresh InfluxDB prefix).
 * Prints stored messages/s over all instances, each one's share, loss and publish → stored p99, and the CPU
 * time of each process, so which one was the limit shows. Prints figures only: it never passes or fails.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchLogin } from './bench-fixtures';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    'mqtt-url': { type: 'string' },
    'telemetry-url': { type: 'string' },
    instances: { type: 'string', default: '2' },
    robots: { type: 'string', default: '100' },
    rate: { type: 'string', default: '150' },
    duration: { type: 'string', default: '30' },
    /** Other processes whose CPU time to print (the broker's, InfluxDB's): `name=pid,name=pid`. */
    watch: { type: 'string', default: '' },
  },
});
const watched = values.watch
  .split(',')
  .filter(Boolean)
  .map((w) => {
    const [name, pid] = w.split('=');
    return { name: name!, pid: Number(pid) };
  });
if (!values['database-url'] || !values['mqtt-url']) {
  console.error('bench:instances: --database-url postgres://… and --mqtt-url mqtt://… are needed');
  process.exit(2);
}
const instances = Number(values.instances);
const robots = Number(values.robots);
const rate = Number(values.rate);
const durationS = Number(values.duration);
const run = randomBytes(4).toString('hex');

type Stats = {
  messages_accepted: number;
  points_stored: number;
  points_shed: number;
  store_lag_ms: { p50: number | null; p99: number | null };
};

function ask<T>(child: ChildProcess, type: string, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string } & Record<string, unknown>) => {
      if (m.type !== answer) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
    child.send({ type });
  });
}

/** CPU seconds a process has used so far (user + system), from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function freshDatabase(): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: values['database-url'] });
  await admin.connect();
  await admin.query(`CREATE DATABASE tonypi_bench_${run}`);
  await admin.end();
  const url = new URL(values['database-url']!);
  url.pathname = `/tonypi_bench_${run}`;
  return url.toString();
}

async function main(): Promise<void> {
  const env: Record<string, string> = {
    DATABASE_URL: await freshDatabase(),
    MQTT_URL: values['mqtt-url']!,
    MQTT_SHARED_GROUP: `bench-${run}`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    INGEST_QUEUE_LIMIT: '2000000',
    ROBOT_AUTO_REGISTER_PER_MIN: String(Math.max(120, robots)),
  };
  if (values['telemetry-url']) {
    const u = new URL(values['telemetry-url']);
    u.searchParams.set('db', `bench_${run}`);
    env.TELEMETRY_URL = u.toString();
  }
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  for (let i = 0; i < instances; i++) {
    const child = fork(path.join(import.meta.dirname, 'instance-server.ts'), [JSON.stringify(env)], {
      execArgv: ['--import', 'tsx'],
    });
    children.push(child);
    urls.push(
      await new Promise<string>((resolve) => child.once('message', (m: { url: string }) => resolve(m.url))),
    );
  }
  const token = await benchLogin(urls[0]!);
  console.log(
    `bench:instances — ${instances} instance(s), ${robots} robots × ${rate} Hz = ${robots * rate} msg/s offered for ` +
      `${durationS} s, QoS 0, telemetry ${values['telemetry-url'] ? 'InfluxDB' : 'DuckDB (each its own)'}`,
  );
  const statsOf = () =>
    Promise.all(children.map((c) => ask<{ stats: Stats }>(c, 'stats', 'stats').then((m) => m.stats)));
  const before = await statsOf();
  const cpuBefore = await Promise.all(children.map((c) => cpuSeconds(c.pid!)));
  const watchedBefore = await Promise.all(watched.map((w) => cpuSeconds(w.pid)));
  const generator = fork(
    path.join(import.meta.dirname, 'load-generator.ts'),
    [
      JSON.stringify({
        mqttUrl: values['mqtt-url'],
        httpUrl: urls[0],
        token,
        robots,
        ratePerRobot: rate,
        durationS,
        qos: 0,
      }),
    ],
    { execArgv: ['--import', 'tsx'] },
  );
  let publishStart = 0;
  let published = 0;
  await new Promise<void>((resolve, reject) => {
    generator.on('message', (m: { phase: string; at: number; published: number }) => {
      if (m.phase === 'publishing') publishStart = m.at;
      else if (m.phase === 'published') published = m.published;
      else resolve();
    });
    generator.once('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
  });
  // Until every message is stored by one instance, or 60 s without progress.
  let stored = 0;
  let doneAt = Date.now();
  let last = -1;
  let still = Date.now();
  for (;;) {
    await Promise.all(children.map((c) => ask(c, 'flush', 'flushed')));
    const now = await statsOf();
    stored = now.reduce((n, s, i) => n + s.points_stored - before[i]!.points_stored, 0);
    if (stored >= published) {
      doneAt = Date.now();
      break;
    }
    if (stored !== last) {
      last = stored;
      still = Date.now();
    } else if (Date.now() - still > 60_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = await statsOf();
  const cpuAfter = await Promise.all(children.map((c) => cpuSeconds(c.pid!)));
  const watchedAfter = await Promise.all(watched.map((w) => cpuSeconds(w.pid)));
  const windowS = (doneAt - publishStart) / 1000;
  const shed = after.reduce((n, s, i) => n + s.points_shed - before[i]!.points_shed, 0);
  const shares = after.map((s, i) => s.points_stored - before[i]!.points_stored);
  console.table(
    after.map((s, i) => ({
      instance: i,
      stored: shares[i],
      share: `${((100 * shares[i]!) / Math.max(1, stored)).toFixed(1)} %`,
      stored_p99_ms: s.store_lag_ms.p99,
      cpu_s: Number((cpuAfter[i]! - cpuBefore[i]!).toFixed(1)),
    })),
  );
  console.log(
    `instances: ${instances}, ${Math.round(stored / windowS)} msg/s stored over all (${published} published, ` +
      `${published - stored + shed} lost), window ${windowS.toFixed(1)} s, stored p99 ` +
      `${Math.max(...after.map((s) => s.store_lag_ms.p99 ?? 0))} ms`,
  );
  for (const [i, w] of watched.entries())
    console.log(`  ${w.name}: ${(watchedAfter[i]! - watchedBefore[i]!).toFixed(1)} CPU-s in the window`);
  for (const c of children) c.send({ type: 'stop' });
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
