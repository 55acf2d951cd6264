/**
 * `npm run bench:camera -w @tonypi/agent -- [robots] [seconds]`
 *
 * What the simulator's cameras cost: `robots` (default 1) cameras at 15 frames/s, each watched by one reader in
 * this process, for `seconds` (default 10) after a 2 s warm-up. Prints the process's CPU in % of one core (the
 * cameras and their readers) and what was sent. Figures only: never a verdict.
 */
import { get } from 'node:http';
import { CameraServer } from './camera-server';
import { prepareTestPattern } from './test-pattern';

const robots = Number(process.argv[2] ?? 1);
const seconds = Number(process.argv[3] ?? 10);
const ids = Array.from({ length: robots }, (_, i) => `tonypi_sim_${String(i + 1).padStart(2, '0')}`);
const prepared = performance.now();
await prepareTestPattern();
const prepareMs = performance.now() - prepared;
const server = await CameraServer.start({ robotIds: ids, fps: 15 });
let bytes = 0;
for (const id of ids) get(server.urlFor(id), (res) => res.on('data', (c: Buffer) => (bytes += c.length)));
await new Promise((r) => setTimeout(r, 2000));
const sent0 = server.stats().framesSent;
const bytes0 = bytes;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu = process.cpuUsage(cpu0);
const ms = performance.now() - t0;
const frames = server.stats().framesSent - sent0;
console.log(
  `${robots} camera(s) × 15 fps of 640×480 for ${(ms / 1000).toFixed(1)} s: ${(((cpu.user + cpu.system) / 1000 / ms) * 100).toFixed(1)} % of one core ` +
    `(cameras and readers), ${frames} frames, ${Math.round((bytes - bytes0) / frames / 1024)} KB each; shared bands prepared in ${Math.round(prepareMs)} ms`,
);
await server.stop();
process.exit(0);
