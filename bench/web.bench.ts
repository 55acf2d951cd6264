/**
 * `npm run bench:web -- [--robots 100] [--hz 10] [--trace 10] [--soak 60]`
 *
 * The web app in Debian's Chromium against the real server (in this process) with `robots` simulated
 * robots at `hz`, and one more robot with 24 h of 10 Hz system history. Prints, never a verdict:
 * - the initial JavaScript of sign-in + fleet overview (the entry and what index.html preloads), gzipped;
 * - sign-in → first robot card with values, and → first value changed by the live stream;
 * - the overview with the whole fleet live: long tasks (> 50 ms) and frames/s over `trace` s, JS heap
 *   after a forced GC at the start and after `soak` s;
 * - the robot page's 24 h charts: data on screen after a full page load, and after a click from the fleet.
 * `BENCH_WEB_PROFILE=file.cpuprofile` also records the page's CPU profile during the trace (open it in
 * Chromium's DevTools) and prints the functions with the most self time.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { TelemetryPoint } from '@tonypi/contracts';
import { chromium } from 'playwright-core';
import { startServer } from '../packages/server/src/app';
import { loadConfig } from '../packages/server/src/config';
import { createLogger } from '../packages/server/src/logger';
import { DEFAULT_WEB_APP_DIR } from '../packages/server/src/web-app/web-app.module';
import { loopbackEnv } from '../packages/server/test/helpers/test-server';
import { BENCH_PASSWORD } from './bench-fixtures';

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '100' },
    hz: { type: 'string', default: '10' },
    trace: { type: 'string', default: '10' },
    soak: { type: 'string', default: '60' },
  },
});
const robots = Number(values.robots);
const hz = Number(values.hz);
const traceS = Number(values.trace);
const soakS = Number(values.soak);
const HISTORY_ROBOT = 'bench_web';

// Scripts run in the page, as text: what tsx compiles would carry its helpers (`__name`) into the page.
/** The page's elements counted by their nearest `data-testid` (robot ids folded) and tag. */
const DOM_CENSUS = `(() => {
  const m = {};
  for (const el of document.querySelectorAll('*')) {
    const host = el.closest('[data-testid]');
    const id = host ? host.getAttribute('data-testid').replace(/[0-9]+/g, '#') : '-';
    const k = id + ' ' + el.tagName.toLowerCase();
    m[k] = (m[k] || 0) + 1;
  }
  return m;
})()`;
/** Marks the first robot card with a value (`cardAt`) and the first value the live stream changed (`liveAt`). */
const PAGE_MARKS = `(() => {
  let first;
  const poll = () => {
    const text = document.querySelector('[data-testid^=robot-card-tonypi_sim_] [data-testid=cpu]')?.textContent;
    if (text && text !== '—') {
      if (first === undefined) { first = text; window.cardAt = performance.now(); }
      else if (text !== first && window.liveAt === undefined) window.liveAt = performance.now();
    }
    if (window.liveAt === undefined) requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})()`;

/** Long tasks and frames per second over `seconds`. */
const traceScript = (seconds: number) => `new Promise((resolve) => {
  const long = [];
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); });
  obs.observe({ type: 'longtask', buffered: false });
  let frames = 0;
  const start = performance.now();
  const tick = () => {
    frames++;
    if (performance.now() - start < ${seconds * 1000}) requestAnimationFrame(tick);
    else { obs.disconnect(); resolve({ long, fps: frames / ((performance.now() - start) / 1000) }); }
  };
  requestAnimationFrame(tick);
})`;

/** Both charts of system data drawn from 24 h buckets (≥ 60 s each). */
const CHARTS_READY = `[...document.body.textContent.matchAll(/(\\d+) s buckets/g)].filter((m) => Number(m[1]) >= 60).length >= 2`;

/** An in-app navigation, as the app's links do it (React Router follows popstate); returns its start. */
const navigateScript = (to: string) => `(() => {
  const at = performance.now();
  history.pushState({}, '', ${JSON.stringify(to)});
  dispatchEvent(new PopStateEvent('popstate'));
  return at;
})()`;

function initialJs(): { files: string[]; gzipKb: number; rawKb: number } {
  const html = readFileSync(path.join(DEFAULT_WEB_APP_DIR, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  let gz = 0;
  let raw = 0;
  for (const f of files) {
    const body = readFileSync(path.join(DEFAULT_WEB_APP_DIR, f));
    raw += body.length;
    gz += gzipSync(body).length;
  }
  return { files, gzipKb: gz / 1024, rawKb: raw / 1024 };
}

async function main(): Promise<void> {
  const js = initialJs();
  console.log(
    `initial JavaScript (sign-in + fleet overview): ${js.gzipKb.toFixed(1)} KB gzipped (${js.rawKb.toFixed(0)} KB raw) in ${js.files.length} files`,
  );

  const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-webbench-'));
  const config = loadConfig({
    ...loopbackEnv(dataDir, BENCH_PASSWORD),
    LOG_LEVEL: 'warn',
    READER_SHED_LOOP_DELAY_MS: '0',
    SIMULATED_ROBOTS: String(robots),
    SIMULATED_RATE_HZ: String(hz),
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: String(Math.max(200, robots + 20)),
  });
  const server = await startServer(config, { logger: createLogger('warn') });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    // 24 h of 10 Hz system history for one robot (864,000 rows).
    server.pipeline.handle(`tonypi/${HISTORY_ROBOT}/system`, Buffer.from(JSON.stringify({ cpu_percent: 1 })));
    await server.registry.flush();
    const now = Date.now();
    const total = 24 * 3600 * 10;
    for (let done = 0; done < total; ) {
      const batch: TelemetryPoint[] = [];
      for (let i = 0; i < 50_000 && done < total; i++, done++) {
        const s = Math.sin(done / 3000);
        batch.push({
          measurement: 'system',
          robot_id: HISTORY_ROBOT,
          ts: now - 86_400_000 + done * 100,
          fields: {
            cpu_percent: 40 + 30 * s,
            memory_percent: 50 + 10 * s,
            disk_percent: 40,
            cpu_temperature_c: 55 + 10 * s,
          },
        });
      }
      await server.store.append(batch);
    }
    // Roll-ups current, as the maintenance job keeps them on a server that has run for a day.
    await server.store.maintain(Date.now(), config.retention);
    console.log(`filled ${total} system rows for ${HISTORY_ROBOT}; ${robots} simulated robots at ${hz} Hz`);

    // bypassCSP: the page's policy refuses the string predicates these measurements evaluate in it.
    const context = await browser.newContext({
      baseURL: server.url,
      viewport: { width: 1440, height: 900 },
      bypassCSP: true,
    });
    const page = await context.newPage();
    await page.goto('/sign-in');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(BENCH_PASSWORD);
    // Marks in the page: the click, the first card with a value, the first value the stream changed.
    await page.evaluate(PAGE_MARKS);
    const clickAt = await page.evaluate(() => performance.now());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForFunction(
      () => (globalThis as unknown as Record<string, number | undefined>).liveAt !== undefined,
      null,
      {
        timeout: 30_000,
      },
    );
    const cardAt = await page.evaluate('window.cardAt');
    const liveAt = await page.evaluate('window.liveAt');
    console.log(
      `sign-in → first card with values: ${(Number(cardAt) - clickAt).toFixed(0)} ms; → first value changed live: ${(Number(liveAt) - clickAt).toFixed(0)} ms`,
    );
    await page
      .locator(`[data-testid^=robot-card-]`)
      .nth(Math.min(robots, 100) - 1)
      .waitFor({ timeout: 30_000 });

    // Long tasks and frame rate with the whole fleet live.
    const cdp = await context.newCDPSession(page);
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
      return usedSize / 1024 / 1024;
    };
    const heapStart = await heap();
    // BENCH_WEB_HEAP=prefix: heap snapshots after the GCs at the start and the end (prefix-start/-end
    // .heapsnapshot, for Chrome's DevTools' comparison view), to find what the soak's growth is.
    const snapshotsTo = process.env.BENCH_WEB_HEAP;
    const snapshot = async (to: string) => {
      const chunks: string[] = [];
      const onChunk = ({ chunk }: { chunk: string }) => chunks.push(chunk);
      cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
      await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
      await writeFile(to, chunks.join(''));
      console.log(`heap snapshot written to ${to}`);
    };
    if (snapshotsTo) await snapshot(`${snapshotsTo}-start.heapsnapshot`);
    const domStart = snapshotsTo ? ((await page.evaluate(DOM_CENSUS)) as Record<string, number>) : {};
    const profileTo = process.env.BENCH_WEB_PROFILE;
    if (profileTo) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
      await cdp.send('Profiler.start');
    }
    const trace = (await page.evaluate(traceScript(traceS))) as { long: number[]; fps: number };
    if (profileTo) {
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
      await writeFile(profileTo, JSON.stringify(profile));
      console.log(`CPU profile of the trace written to ${profileTo}; most self time:`);
      for (const [name, ms] of topSelfTime(profile, 15))
        console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
    }
    const over50 = trace.long.filter((d) => d > 50);
    console.log(
      `fleet overview, ${robots} robots live, ${traceS} s: ${trace.fps.toFixed(1)} frames/s; long tasks ${trace.long.length} (> 50 ms: ${over50.length}, longest ${Math.max(0, ...trace.long).toFixed(0)} ms)`,
    );
    // The heap after a GC each minute of the soak: growth that stops once the fleet's state has settled
    // (every card with its job and alerts drawn, the JIT's code compiled) is not a leak.
    const samples: string[] = [];
    for (let left = soakS * 1000 - traceS * 1000; left > 0; left -= 60_000) {
      await page.waitForTimeout(Math.min(left, 60_000));
      if (left > 60_000) samples.push((await heap()).toFixed(1));
    }
    const heapEnd = await heap();
    if (samples.length > 0) console.log(`JS heap after GC each minute: ${samples.join(', ')} MB`);
    if (snapshotsTo) {
      await snapshot(`${snapshotsTo}-end.heapsnapshot`);
      const domEnd = (await page.evaluate(DOM_CENSUS)) as Record<string, number>;
      const grown = Object.entries(domEnd)
        .map(([k, n]) => [k, n - (domStart[k] ?? 0)] as const)
        .filter(([, d]) => d !== 0)
        .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
        .slice(0, 15);
      console.log('DOM elements that came or went during the soak (by nearest data-testid, tag):');
      for (const [k, d] of grown) console.log(`  ${d > 0 ? '+' : ''}${d}  ${k}`);
    }
    console.log(
      `JS heap after GC: ${heapStart.toFixed(1)} MB at the start, ${heapEnd.toFixed(1)} MB after ${soakS} s`,
    );

    // The robot page's 24 h charts: both charts of system data drawn from 24 h buckets (≥ 60 s each).
    const chartsReady = () => page.waitForFunction(CHARTS_READY, null, { timeout: 30_000, polling: 'raf' });
    await page.goto(`/robots/${HISTORY_ROBOT}?range=24h`);
    await chartsReady();
    const fullLoad = await page.evaluate(() => performance.now());
    await page.goto('/');
    await page.locator('[data-testid^=robot-card-]').first().waitFor();
    // In-app navigation, as a link in the app does it (React Router follows popstate).
    const t0 = (await page.evaluate(navigateScript(`/robots/${HISTORY_ROBOT}?range=24h`))) as number;
    await chartsReady();
    const shown = await page.evaluate(() => performance.now());
    // What the navigation waited for: each request it made, from the click (ms): start → end.
    const requests = (await page.evaluate(
      `performance.getEntriesByType('resource').filter((e) => e.startTime >= ${t0}).map((e) => [new URL(e.name).pathname + new URL(e.name).search, Math.round(e.startTime - ${t0}), Math.round(e.responseEnd - ${t0})])`,
    )) as [string, number, number][];
    for (const [url, start, end] of requests)
      console.log(`  ${String(start).padStart(5)} → ${String(end).padStart(5)} ms  ${url.slice(0, 110)}`);
    console.log(
      `robot page, 24 h of 10 Hz data: charts on screen ${fullLoad.toFixed(0)} ms after a full page load (navigation start), ${(shown - t0).toFixed(0)} ms after an in-app navigation`,
    );
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name, file, line) over a CPU profile, most first. */
function topSelfTime(profile: CpuProfile, n: number): [string, number][] {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const total = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byNode.get(id)?.callFrame;
    if (!f) return;
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`;
    total.set(name, (total.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...total].sort((a, b) => b[1] - a[1]).slice(0, n);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
