/**
 * The robot side of `bench:commands`, in its own process (its own core): simulated robots of both
 * protocols (packages/agent) streaming telemetry and executing every command. Started by
 * commands.bench.ts with the plan in argv[2]; says `ready` over IPC once every robot is connected and
 * stops when told `stop`.
 */
import { Fleet } from '@tonypi/agent';

interface Plan {
  mqttUrl: string;
  rateHz: number;
  /** Canonical robots and their MQTT secrets. */
  canonical: Record<string, string>;
  /** Legacy robots (the original client: anonymous). */
  legacy: string[];
}

const plan = JSON.parse(process.argv[2] ?? '{}') as Plan;
const silent = { info: () => undefined, warn: () => undefined };
const common = {
  brokerUrl: plan.mqttUrl,
  rateHz: plan.rateHz,
  faults: false,
  autonomy: false,
  logger: silent,
};

const ids = Object.keys(plan.canonical);
const fleets: Fleet[] = [];
if (ids.length > 0) {
  fleets.push(
    await Fleet.start({
      ...common,
      robots: ids.length,
      robotIds: ids,
      credentials: (id) => ({ username: id, password: plan.canonical[id]! }),
      connectTimeoutMs: 60_000,
    }),
  );
}
if (plan.legacy.length > 0) {
  fleets.push(
    await Fleet.start({
      ...common,
      robots: plan.legacy.length,
      robotIds: plan.legacy,
      protocol: 'legacy',
      connectTimeoutMs: 60_000,
    }),
  );
}
process.send?.({ phase: 'ready' });
process.on('message', async (m: { phase: string }) => {
  if (m.phase !== 'stop') return;
  await Promise.all(fleets.map((f) => f.stop()));
  process.exit(0);
});
