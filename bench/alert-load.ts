/**
 * The load side of `bench:alerts`, in its own process: N robots publishing `system` messages at a fixed rate
 * each (healthy values), then, one robot at a time, an offending value (memory 95 %) — reported over IPC with
 * the time it was published — and at the end some robots that fall silent (reported with their last
 * message's time). Started by alerts.bench.ts with the plan in argv[2].
 */
import mqtt, { type MqttClient } from 'mqtt';

interface Plan {
  mqttUrl: string;
  robots: number;
  ratePerRobot: number;
  warmupS: number;
  offenders: number;
  /** Between two offending robots. */
  offendEveryMs: number;
  silent: number;
  /** How long the remaining robots keep publishing after the silent ones stopped. */
  tailS: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const idOf = (i: number) => `alertbench_${String(i + 1).padStart(3, '0')}`;

async function connect(i: number): Promise<MqttClient> {
  const client = mqtt.connect(plan.mqttUrl, { clientId: idOf(i), reconnectPeriod: 0, keepalive: 60 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => {
      (client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      resolve();
    });
    client.once('error', reject);
  });
  return client;
}

async function main(): Promise<void> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < plan.robots; i++) clients.push(await connect(i));
  const memory = new Array<number>(plan.robots).fill(40);
  const offendPending = new Set<number>();
  const stopped = new Set<number>();
  const lastAt = new Array<number>(plan.robots).fill(0);
  const periodMs = 1000 / plan.ratePerRobot;
  const started = Date.now();
  let seq = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    for (let i = 0; i < clients.length; i++) {
      if (stopped.has(i)) continue;
      // Each robot is due once per period, the robots spread over it.
      const due = started + (i / clients.length) * periodMs;
      if (now - lastAt[i]! < periodMs || now < due) continue;
      const ts = Date.now();
      const body = { ts, cpu_percent: 30 + (seq++ % 7), memory_percent: memory[i], cpu_temperature_c: 50 };
      clients[i]!.publish(`tonypi/${idOf(i)}/system`, JSON.stringify(body), { qos: 0 });
      lastAt[i] = ts;
      if (offendPending.delete(i)) process.send?.({ phase: 'offend', robot_id: idOf(i), at: ts });
    }
  }, 2);
  process.send?.({ phase: 'publishing', at: started });
  await new Promise((r) => setTimeout(r, plan.warmupS * 1000));
  for (let k = 0; k < plan.offenders; k++) {
    memory[k] = 95;
    offendPending.add(k);
    await new Promise((r) => setTimeout(r, plan.offendEveryMs));
  }
  // The silent ones are the last robots (never offenders when robots > offenders + silent).
  for (let k = 0; k < plan.silent; k++) {
    const i = plan.robots - 1 - k;
    stopped.add(i);
    // An MQTT client without a Last Will, like the original robot client, just goes quiet.
    clients[i]!.end(true);
    process.send?.({ phase: 'silent', robot_id: idOf(i), last_at: lastAt[i] });
  }
  await new Promise((r) => setTimeout(r, plan.tailS * 1000));
  clearInterval(timer);
  for (let i = 0; i < clients.length; i++) if (!stopped.has(i)) await clients[i]!.endAsync();
  process.send?.({ phase: 'done', published: seq });
}

main().catch((err) => {
  process.stderr.write(`alert load failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
