/**
 * `npm run bench:camera -- [--viewers 10] [--fps 15] [--seconds 20] [--pad-kb 0]`
 *
 * The camera proxy (issue #11 §2): the server runs as its own process (the real entry point, embedded engines,
 * no simulated robots) so its CPU is its own; this process runs the simulator's camera (640×480 test pattern at
 * `fps`, each part stamped with `X-Timestamp`), one robot that reports it as its camera_url, `viewers` viewers of
 * GET /api/v1/robots/{id}/camera/stream, and one viewer straight at the camera for a baseline.
 *
 * Prints: upstream connections the server opened (the goal: 1 for any number of viewers), frames per second
 * each viewer got, the frame latency (X-Timestamp → parsed at the viewer) direct and through the proxy and the
 * difference (what the proxy adds: goal ≤ 50 ms p99), and the server process's CPU over the window in % of one
 * core (goal ≤ 20 %). `--pad-kb` makes each frame that much larger (a JPEG comment): the test pattern's frames
 * are ~20 KB, a real camera's at 640×480 often 40–80 KB. Figures only: never a verdict.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CameraServer } from '@tonypi/agent';
import mqtt from 'mqtt';
import { MjpegParser, multipartBoundary } from '../packages/server/src/camera/mjpeg-parser';
import { killLeftovers, login, spawnServer } from '../packages/server/test/helpers/server-process';
import { LatencyHistogram } from './latency-histogram';

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '10' },
    fps: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '20' },
    'pad-kb': { type: 'string', default: '0' },
  },
});
const viewerCount = Number(values.viewers);
const fps = Number(values.fps);
const seconds = Number(values.seconds);
const ROBOT = 'cam_bench';
const WARMUP_MS = 3000;

const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-bench-camera-'));
const camera = await CameraServer.start({
  robotIds: [ROBOT],
  fps,
  padBytes: Number(values['pad-kb']) * 1024,
});
const server = await spawnServer(dataDir, { env: { LOG_LEVEL: 'warn' } });
const pid = server.child.pid!;

async function cpuTicks(): Promise<number> {
  // /proc/<pid>/stat: fields 14 and 15 are utime and stime, in clock ticks (100 a second on Linux).
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Watcher {
  frames: number;
  latency: LatencyHistogram;
  measuring: boolean;
  stop(): void;
}

function watch(url: string, headers: Record<string, string>): Promise<Watcher> {
  return new Promise((resolve, reject) => {
    const w: Watcher = {
      frames: 0,
      latency: new LatencyHistogram(10_000),
      measuring: false,
      stop: () => undefined,
    };
    const req = get(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${url}: HTTP ${res.statusCode}`));
        return;
      }
      const parser = new MjpegParser(multipartBoundary(res.headers['content-type'])!, 4 << 20, (f) => {
        if (!w.measuring) return;
        w.frames++;
        if (f.timestamp !== undefined) w.latency.add(Date.now() - f.timestamp);
      });
      res.on('data', (c: Buffer) => parser.push(c));
      resolve(w);
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    w.stop = () => req.destroy();
  });
}

let exitCode = 0;
const robot = await mqtt.connectAsync(server.mqttUrl, { clientId: ROBOT, reconnectPeriod: 0 });
try {
  await robot.publishAsync(
    `tonypi/${ROBOT}/status`,
    JSON.stringify({ ts: Date.now(), status: 'online', camera_url: camera.urlFor(ROBOT) }),
    { qos: 1 },
  );
  const token = await login(server.url);
  const auth = { authorization: `Bearer ${token}` };
  for (let i = 0; i < 50; i++) {
    const r = await fetch(`${server.url}/api/v1/robots/${ROBOT}`, { headers: auth });
    if (r.status === 200 && (await r.json()).camera_url) break;
    await new Promise((res) => setTimeout(res, 100));
  }

  const direct = await watch(camera.urlFor(ROBOT), {});
  const viewers: Watcher[] = [];
  for (let i = 0; i < viewerCount; i++) {
    viewers.push(await watch(`${server.url}/api/v1/robots/${ROBOT}/camera/stream`, auth));
  }
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  for (const w of [direct, ...viewers]) w.measuring = true;
  const t0 = performance.now();
  const ticks0 = await cpuTicks();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const ticks1 = await cpuTicks();
  const elapsedS = (performance.now() - t0) / 1000;
  for (const w of [direct, ...viewers]) w.measuring = false;

  const status = await (
    await fetch(`${server.url}/api/v1/robots/${ROBOT}/camera/status`, { headers: auth })
  ).json();
  const proxied = new LatencyHistogram(10_000);
  for (const v of viewers) proxied.merge(v.latency);
  const q = (h: LatencyHistogram, p: number) => h.quantile(p) ?? Number.NaN;
  const cpuPercent = ((ticks1 - ticks0) / 100 / elapsedS) * 100;
  const perViewerFps = viewers.map((v) => v.frames / elapsedS);
  const frameBytes = (
    await (
      await fetch(`${server.url}/api/v1/robots/${ROBOT}/camera/snapshot`, { headers: auth })
    ).arrayBuffer()
  ).byteLength;

  console.log(
    `camera proxy: ${viewerCount} viewers × ${fps} fps of ${status.width}×${status.height} (${Math.round(frameBytes / 1024)} KB frames), ${elapsedS.toFixed(1)} s after ${WARMUP_MS / 1000} s warm-up`,
  );
  console.log(`  upstream connections opened by the server: ${status.upstream_connections}`);
  console.log(
    `  frames/s per viewer: min ${Math.min(...perViewerFps).toFixed(1)}, max ${Math.max(...perViewerFps).toFixed(1)} (direct ${(direct.frames / elapsedS).toFixed(1)})`,
  );
  console.log(
    `  frame latency direct   p50 ${q(direct.latency, 0.5)} ms, p99 ${q(direct.latency, 0.99)} ms, max ${q(direct.latency, 1)} ms`,
  );
  console.log(
    `  frame latency proxied  p50 ${q(proxied, 0.5)} ms, p99 ${q(proxied, 0.99)} ms, max ${q(proxied, 1)} ms (${proxied.count} frames)`,
  );
  console.log(
    `  added by the proxy     p50 ${q(proxied, 0.5) - q(direct.latency, 0.5)} ms, p99 ${q(proxied, 0.99) - q(direct.latency, 0.99)} ms`,
  );
  console.log(`  server CPU: ${cpuPercent.toFixed(1)} % of one core`);
  console.log(
    `  load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
  for (const w of [direct, ...viewers]) w.stop();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await robot.endAsync(true);
  server.child.kill('SIGTERM');
  await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
  killLeftovers();
  await camera.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
