/**
 * The reading side of `bench:load`, in its own process (off the server's event loop): live-stream
 * clients subscribed to every robot and channel, and HTTP clients that ask again as soon as they are
 * answered — half poll `GET /api/v1/robots?limit=100` (what every dashboard polls), half run 24 h
 * range queries. A 503 is counted, and its client waits what `Retry-After` says (at most 5 s), as a
 * dashboard would. Started by load.bench.ts with the plan in argv[2], once per kind of reader (as
 * a dashboard in a browser does not share its event loop with twenty stream clients); reports over
 * IPC, with this process's own event-loop delay so that a client-side delay is seen as one.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LIVE_CHANNELS } from '@tonypi/contracts';
import WebSocket from 'ws';
import { LatencyHistogram } from './latency-histogram';

interface Plan {
  httpUrl: string;
  token: string;
  liveClients: number;
  robotsClients: number;
  rangeClients: number;
  /** Robots that have 24 h of history, queried in turn. */
  rangeRobots: string[];
  durationS: number;
}

export interface RouteFigures {
  ok: number;
  unavailable: number;
  other: number;
  /** Latencies of the 200 answers. */
  latency: Array<[number, number]>;
  bytes: number;
}

export interface ReadersResult {
  live_frames: number;
  live_latency: Array<[number, number]>;
  live_closed: number;
  robots: RouteFigures;
  range: RouteFigures;
  /** This process's own event-loop delay over the run: what its latencies include that is not the server's. */
  loop_delay_p99_ms: number;
  loop_delay_max_ms: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const headers = { authorization: `Bearer ${plan.token}` };

async function connectLive(latency: LatencyHistogram, onClose: () => void): Promise<WebSocket> {
  const ws = new WebSocket(`${plan.httpUrl.replace(/^http/, 'ws')}/api/v1/stream`, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; ts?: number };
    if (frame.type === 'telemetry' && frame.ts) latency.add(Date.now() - frame.ts);
  });
  ws.once('close', onClose);
  ws.send(JSON.stringify({ type: 'subscribe', robots: ['*'], channels: [...LIVE_CHANNELS] }));
  return ws;
}

/** One client: asks, reads the whole answer, asks again, until the end. */
async function poll(url: () => string, figures: RouteFigures, latency: LatencyHistogram, endAt: number) {
  while (Date.now() < endAt) {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await fetch(url(), { headers });
    } catch {
      figures.other++;
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const body = await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status === 200) {
      figures.ok++;
      figures.bytes += body.byteLength;
      latency.add(ms);
    } else if (res.status === 503) {
      figures.unavailable++;
      const wait = Math.min(5, Number(res.headers.get('retry-after') ?? '1') || 1);
      await new Promise((r) => setTimeout(r, wait * 1000));
    } else {
      figures.other++;
      if (figures.other <= 3)
        process.stderr.write(`${res.status} ${Buffer.from(body).toString().slice(0, 200)}\n`);
    }
  }
}

async function main(): Promise<void> {
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  const liveLatency = new LatencyHistogram();
  let liveClosed = 0;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < plan.liveClients; i++) sockets.push(await connectLive(liveLatency, () => liveClosed++));
  // Started (and compiled) before the robots publish; reading starts when they do.
  await new Promise<void>((resolve) => {
    process.on('message', (m: { phase?: string }) => m.phase === 'go' && resolve());
    process.send?.({ phase: 'ready' });
  });

  const newFigures = (): RouteFigures => ({ ok: 0, unavailable: 0, other: 0, latency: [], bytes: 0 });
  const robots = newFigures();
  const range = newFigures();
  const robotsLatency = new LatencyHistogram();
  const rangeLatency = new LatencyHistogram();
  process.send?.({ phase: 'reading', at: Date.now() });
  loopDelay.enable();
  const endAt = Date.now() + plan.durationS * 1000;
  let nextRobot = 0;
  const rangeUrl = () => {
    const robot = plan.rangeRobots[nextRobot++ % plan.rangeRobots.length]!;
    const to = Date.now();
    return `${plan.httpUrl}/api/v1/robots/${robot}/telemetry?measurement=sensors&from=${to - 24 * 3600_000}&to=${to}&points=1000`;
  };
  await Promise.all([
    ...Array.from({ length: plan.robotsClients }, () =>
      poll(() => `${plan.httpUrl}/api/v1/robots?limit=100`, robots, robotsLatency, endAt),
    ),
    ...Array.from({ length: plan.rangeClients }, () => poll(rangeUrl, range, rangeLatency, endAt)),
    // Live clients only: they read until the end too.
    new Promise((r) => setTimeout(r, endAt - Date.now())),
  ]);
  loopDelay.disable();
  // The last live frames of the load arrive a moment after it ends.
  await new Promise((r) => setTimeout(r, 1500));
  const closedDuringRun = liveClosed;
  for (const ws of sockets) ws.close();
  robots.latency = robotsLatency.toPairs();
  range.latency = rangeLatency.toPairs();
  const result: ReadersResult = {
    live_frames: liveLatency.count,
    live_latency: liveLatency.toPairs(),
    live_closed: closedDuringRun,
    robots,
    range,
    loop_delay_p99_ms: Math.round(loopDelay.percentile(99) / 1e6),
    loop_delay_max_ms: Math.round(loopDelay.max / 1e6),
  };
  // The IPC channel (listened to for 'go') would keep this process alive.
  process.send?.({ phase: 'done', ...result }, () => process.disconnect?.());
}

main().catch((err) => {
  process.stderr.write(`load readers failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
