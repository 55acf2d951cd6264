/**
 * `npm run bench:startup` — how long `npm start` takes to show three robots online: once on a
 * fresh data dir (PGlite's initdb, migrations, first admin) and once more on the same dir.
 * Runs the real entry point (packages/server/src/main.ts) in a child process on free ports, and reports each
 * start's peak RSS (the child's VmHWM, read once the robots are online).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The process's peak resident set (VmHWM), MB; Linux only. */
async function peakRssMb(pid: number | undefined): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

async function run(dataDir: string): Promise<{ s: number; peakRssMb: number | undefined }> {
  const [port, mqttPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, '../packages/server/src/main.ts')],
    {
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        MQTT_PORT: String(mqttPort),
        MQTT_WS_PORT: String(wsPort),
        DATA_DIR: dataDir,
        ADMIN_PASSWORD: 'startup-benchmark',
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    },
  );
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
        const body = (await res.json()) as { robots: { online: number } };
        if (body.robots.online >= 3) {
          const s = (performance.now() - started) / 1000;
          return { s, peakRssMb: await peakRssMb(child.pid) };
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('three robots were not online within 60 s');
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-startup-'));
try {
  const first = await run(dataDir);
  const second = await run(dataDir);
  const mb = (v: number | undefined) => (v === undefined ? 'n/a' : `${v} MB`);
  console.table({
    first_start_s: first.s.toFixed(2),
    later_start_s: second.s.toFixed(2),
    first_start_peak_rss: mb(first.peakRssMb),
    later_start_peak_rss: mb(second.peakRssMb),
  });
  console.log(
    `startup: three robots online ${first.s.toFixed(1)} s after a first start, ${second.s.toFixed(1)} s after a later one; ` +
      `peak RSS ${mb(first.peakRssMb)} and ${mb(second.peakRssMb)}`,
  );
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
