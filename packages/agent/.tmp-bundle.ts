import { telemetryBundle } from './src/canonical-protocol';
import { RobotModel } from './src/robot-model';

const m = new RobotModel({ id: 'x', seed: 1 });
m.startJob();
for (let i = 0; i < 100; i++) m.step(0.1);
const prefixes: string[] = [];
let total = 0;
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  for (let i = 0; i < 200000; i++) {
    const s = telemetryBundle(m, 1790000000000 + i, prefixes);
    total += Buffer.byteLength(s);
  }
  console.log('µs per bundle', ((performance.now() - t0) * 1000) / 200000);
}
console.log(telemetryBundle(m, 1, prefixes).length);
