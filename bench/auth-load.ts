/**
 * The client side of `bench:auth`, in its own process: either a reconnect storm (N robots connecting at once
 * with their credentials, each subscribing to its command topic and the broadcast) or a steady rate of
 * authenticated `GET` requests. Started by auth.bench.ts with the plan in argv[2]; reports over IPC.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { LatencyHistogram } from './latency-histogram';

type Plan =
  | { mode: 'storm'; mqttUrl: string; passwords: Record<string, string> }
  | { mode: 'list'; url: string; token: string; ratePerS: number; durationS: number };

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;

async function storm(p: Extract<Plan, { mode: 'storm' }>): Promise<void> {
  const ids = Object.keys(p.passwords);
  const latencies = new LatencyHistogram(60_000);
  // The steps of each robot's connect, to see where a slow storm spends its time.
  const toConnack = new LatencyHistogram(60_000);
  const toSuback = new LatencyHistogram(60_000);
  const toTcp = new LatencyHistogram(60_000);
  let lastConnectCall = 0;
  let lastConnack = 0;
  const clients: MqttClient[] = [];
  let refused = 0;
  const why: Record<string, number> = {};
  const count = (reason: string) => {
    refused++;
    why[reason] = (why[reason] ?? 0) + 1;
  };
  // Loaded and waiting: the storm begins on the parent's word, not after this process's own start-up.
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send?.({ phase: 'ready' });
  });
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  process.send?.({ phase: 'storm_started', at: Date.now() });
  await Promise.all(
    ids.map(
      (id) =>
        new Promise<void>((resolve) => {
          const t0 = performance.now();
          const client = mqtt.connect(p.mqttUrl, {
            clientId: id,
            username: id,
            password: p.passwords[id],
            reconnectPeriod: 0,
            keepalive: 60,
            connectTimeout: 30_000,
          });
          clients.push(client);
          client.stream.once('connect', () => toTcp.add(performance.now() - t0));
          lastConnectCall = performance.now() - started;
          client.once('connect', () => {
            const t1 = performance.now();
            toConnack.add(t1 - t0);
            lastConnack = t1 - started;
            client.subscribe(
              { [`tonypi/${id}/command`]: { qos: 1 }, 'tonypi/system/broadcast': { qos: 1 } },
              (err, granted) => {
                if (err) count(err.message);
                else if (granted?.some((g) => g.qos === 128)) count('SUBACK failure');
                const t2 = performance.now();
                latencies.add(t2 - t0);
                toSuback.add(t2 - t1);
                resolve();
              },
            );
          });
          client.once('error', (err) => {
            count(err.message);
            resolve();
          });
        }),
    ),
  );
  const allMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  process.send?.({ phase: 'storm_done', at: Date.now() });
  await Promise.all(clients.map((c) => c.endAsync(true)));
  process.send?.({
    phase: 'done',
    robots: ids.length,
    refused,
    refused_why: why,
    all_subscribed_ms: Math.round(allMs),
    connect_to_suback_p50_ms: latencies.quantile(0.5),
    connect_to_suback_p99_ms: latencies.quantile(0.99),
    connect_to_tcp_p50_ms: toTcp.quantile(0.5),
    connect_to_tcp_p99_ms: toTcp.quantile(0.99),
    connect_to_connack_p50_ms: toConnack.quantile(0.5),
    connect_to_connack_p99_ms: toConnack.quantile(0.99),
    connack_to_suback_p50_ms: toSuback.quantile(0.5),
    connack_to_suback_p99_ms: toSuback.quantile(0.99),
    last_connect_call_ms: Math.round(lastConnectCall),
    last_connack_ms: Math.round(lastConnack),
    client_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
  });
}

async function list(p: Extract<Plan, { mode: 'list' }>): Promise<void> {
  const latencies = new LatencyHistogram(60_000);
  const statuses: Record<string, number> = {};
  const total = Math.round(p.ratePerS * p.durationS);
  // Warm-up, not measured: this process's first fetch loads Node's HTTP client (undici) and opens its
  // connections, ~100 ms during which the first ~20 requests of a 200/s schedule would queue here, not in
  // the server. One second at the same rate, then the measured run.
  const warm: Promise<unknown>[] = [];
  for (let i = 0; i < p.ratePerS; i++) {
    warm.push(
      fetch(`${p.url}/api/v1/robots?limit=100`, { headers: { authorization: `Bearer ${p.token}` } })
        .then((res) => res.arrayBuffer())
        .catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 1000 / p.ratePerS));
  }
  await Promise.all(warm);
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / p.ratePerS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    inFlight.push(
      fetch(`${p.url}/api/v1/robots?limit=100`, { headers: { authorization: `Bearer ${p.token}` } }).then(
        async (res) => {
          await res.arrayBuffer();
          latencies.add(performance.now() - t0);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        },
        () => {
          statuses.error = (statuses.error ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - started) / 1000;
  process.send?.({
    phase: 'done',
    requests: total,
    offered_per_s: Math.round(total / elapsedS),
    statuses,
    p50_ms: latencies.quantile(0.5),
    p99_ms: latencies.quantile(0.99),
    max_ms: latencies.quantile(1),
  });
}

(plan.mode === 'storm' ? storm(plan) : list(plan)).catch((err) => {
  process.stderr.write(`auth load failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
