import { parseArgs } from 'node:util';
import { startTestBroker, type TestBroker } from './aedes-test-broker';
import { Fleet } from './fleet';

/**
 * How fast can the fleet publish? Runs N robots at each requested rate for a few seconds against an
 * in-process Aedes (or --broker URL) with a do-nothing subscriber, and prints what was asked, what
 * the fleet published and what the subscriber received. Prints figures; never passes or fails.
 *
 *   npm run bench:rate -w @tonypi/agent -- --robots 100 --rates 10,50,100,200 --seconds 5
 *
 * With the in-process broker the broker's work shares this event loop, so the figure is a floor
 * for the simulator alone; pass --broker to measure against a broker in another process.
 */

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '100' },
    rates: { type: 'string', default: '10,50,100,200' },
    seconds: { type: 'string', default: '5' },
    protocol: { type: 'string', default: 'canonical' },
    broker: { type: 'string' },
  },
});
const robots = Number(values.robots);
const rates = values.rates.split(',').map(Number);
const seconds = Number(values.seconds);
const protocol = values.protocol === 'legacy' ? 'legacy' : 'canonical';

let broker: TestBroker | null = null;
let received = 0;
if (!values.broker) {
  broker = await startTestBroker();
  // The do-nothing subscriber: counts and acknowledges.
  await new Promise<void>((resolve) =>
    broker!.aedes.subscribe(
      'tonypi/#',
      (_packet, cb) => {
        received++;
        cb();
      },
      resolve,
    ),
  );
}
const url = values.broker ?? broker!.url;

console.log(
  `${robots} robots, ${protocol}, ${seconds} s per rate, broker ${values.broker ?? 'in-process Aedes'}`,
);
console.log(
  'rate Hz | asked samples/s | published msg/s | samples/s | received msg/s | dropped | skipped | loop % | CPU %',
);
for (const rate of rates) {
  const fleet = await Fleet.start({ brokerUrl: url, robots, rateHz: rate, faults: false, seed: 1, protocol });
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const s0 = fleet.stats();
  const r0 = received;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const dt = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const s1 = fleet.stats();
  const r1 = received;
  await fleet.stop();
  const fmt = (n: number) => Math.round(n).toString().padStart(7);
  console.log(
    [
      String(rate).padStart(7),
      fmt(robots * rate).padStart(15),
      fmt((s1.published - s0.published) / dt).padStart(15),
      fmt((s1.telemetry - s0.telemetry) / dt).padStart(9),
      (broker ? fmt((r1 - r0) / dt) : '      -').padStart(14),
      fmt(s1.dropped - s0.dropped),
      fmt(s1.skipped - s0.skipped),
      fmt(elu.utilization * 100).padStart(6),
      // All threads of the process (GC helpers, the TS loader): can exceed the loop's share.
      fmt(((cpu.user + cpu.system) / 1e6 / dt) * 100).padStart(5),
    ].join(' | '),
  );
}
await broker?.close();
