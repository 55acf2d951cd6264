/**
 * `npm run bench:startup` — how long `npm start` takes to show three robots online: once on a
 * fresh data dir (PGlite's initdb, migrations, first admin) and once more on the same dir.
 * Runs the real entry point (packages/server/src/main.ts) in a child process on free ports.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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

async function run(dataDir: string): Promise<number> {
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
        if (body.robots.online >= 3) return (performance.now() - started) / 1000;
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
  console.table({ first_start_s: first.toFixed(2), later_start_s: second.toFixed(2) });
  console.log(
    `startup: three robots online ${first.toFixed(1)} s after a first start, ${second.toFixed(1)} s after a later one`,
  );
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
