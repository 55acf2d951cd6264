/**
 * The load side of `bench:ingest`, in its own process (its own core): N robot connections
 * publishing `sensors` messages (12 numeric fields, ~290 bytes, like a TonyPi's IMU + range +
 * light) at a fixed total rate, plus one live-stream client measuring publish → frame latency.
 * Started by ingest.bench.ts with the plan in argv[2]; reports over IPC.
 */
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';

interface Plan {
  mqttUrl: string;
  httpUrl: string;
  token: string;
  robots: number;
  ratePerRobot: number;
  durationS: number;
  qos: 0 | 1;
  /** Per-robot MQTT secrets (robot id → secret): the robots connect with credentials, else anonymously. */
  passwords?: Record<string, string>;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function connectRobots(): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < plan.robots; i++) {
    const id = `bench_${String(i + 1).padStart(3, '0')}`;
    const password = plan.passwords?.[id];
    const client = mqtt.connect(plan.mqttUrl, {
      clientId: id,
      reconnectPeriod: 0,
      keepalive: 60,
      ...(password === undefined ? {} : { username: id, password }),
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => {
        (client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        resolve();
      });
      client.once('error', reject);
    });
    clients.push(client);
  }
  return clients;
}

async function connectLive(latencies: number[]): Promise<WebSocket> {
  const ws = new WebSocket(`${plan.httpUrl.replace(/^http/, 'ws')}/api/v1/stream`, {
    headers: { authorization: `Bearer ${plan.token}` },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; ts?: number };
    if (frame.type === 'telemetry' && frame.ts) latencies.push(Date.now() - frame.ts);
  });
  ws.send(JSON.stringify({ type: 'subscribe', robots: ['*'], channels: ['telemetry'] }));
  return ws;
}

function payload(ts: number, seq: number): string {
  const s = Math.sin(seq / 10);
  return JSON.stringify({
    ts,
    accel_x_ms2: 0.12 + s * 0.05,
    accel_y_ms2: -0.03 + s * 0.02,
    accel_z_ms2: 9.79 + s * 0.01,
    gyro_x_dps: 0.4 * s,
    gyro_y_dps: -0.2 * s,
    gyro_z_dps: 1.5 * s,
    roll_deg: 1.2 + s,
    pitch_deg: -0.8 + s,
    yaw_deg: 172.4 + s,
    ultrasonic_distance_cm: 84.5 + 10 * s,
    light_level_percent: 63.2,
    light_dark: 0,
  });
}

async function main(): Promise<void> {
  const clients = await connectRobots();
  const liveLatencies: number[] = [];
  const ws = await connectLive(liveLatencies);
  const topics = clients.map((_, i) => `tonypi/bench_${String(i + 1).padStart(3, '0')}/sensors`);
  const totalRate = plan.robots * plan.ratePerRobot;
  const opts = { qos: plan.qos };
  let published = 0;
  let next = 0;
  const started = Date.now();
  const endAt = started + plan.durationS * 1000;
  process.send?.({ phase: 'publishing', at: started });

  // Catch-up pacing: every few ms, send what the plan says should have been sent by now,
  // round-robin over the robots. If this process cannot keep up, the offered rate says so.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = Date.now();
      const due = Math.min(now, endAt) - started;
      const target = Math.floor((due / 1000) * totalRate);
      while (published < target) {
        const i = next;
        next = (next + 1) % clients.length;
        clients[i]!.publish(topics[i]!, payload(Date.now(), published), opts);
        published++;
      }
      if (now >= endAt) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const elapsedS = (Date.now() - started) / 1000;
  process.send?.({ phase: 'published', at: Date.now(), published });
  // Let the sockets drain and the last live frames arrive.
  await new Promise((r) => setTimeout(r, 1500));
  for (const c of clients) await c.endAsync();
  ws.close();
  const sorted = liveLatencies.sort((a, b) => a - b);
  process.send?.({
    phase: 'done',
    published,
    offered_msg_s: Math.round(published / elapsedS),
    elapsed_s: elapsedS,
    live_frames: sorted.length,
    live_p50_ms: quantile(sorted, 0.5),
    live_p99_ms: quantile(sorted, 0.99),
  });
}

main().catch((err) => {
  process.stderr.write(`load generator failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
