import { startTestBroker } from './src/aedes-test-broker';
import { Fleet } from './src/fleet';

const broker = await startTestBroker();
const fleet = await Fleet.start({
  brokerUrl: broker.url,
  robots: 100,
  rateHz: Number(process.argv[2] ?? 1),
  faults: false,
  seed: 1,
});
await new Promise((r) => setTimeout(r, 1000));
const c0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, 5000));
const c = process.cpuUsage(c0);
console.log('cpu %', ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100, fleet.stats());
await fleet.stop();
await broker.close();
