/**
 * `npx tsx bench/payload-shape.bench.ts`
 *
 * What the depth and width check of every payload (`jsonShapeProblem`) costs: on the message the
 * ingest benchmark sends (the hot path), and on the worst payloads an attacker can send within
 * 64 KiB. Prints figures only: it never passes or fails on a time.
 */
import { jsonShapeProblem, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_WIDTH } from '@tonypi/contracts';
import { normalize } from '../packages/server/src/ingest/normalize';

const opts = { receivedAt: Date.now(), clockSkewMaxMs: 300_000 };

/** Nanoseconds per call of `fn`, the best of five rounds (the machine is shared). */
function nsPerCall(fn: () => unknown, calls: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / calls);
  }
  return best;
}

function row(what: string, bytes: number, topic: string, text: string, calls: number) {
  const payload = Buffer.from(text);
  const parsed = JSON.parse(text);
  const result = normalize(topic, payload, opts);
  return {
    what,
    bytes,
    outcome: result.ok ? 'accepted' : result.reason,
    parse_us: +(nsPerCall(() => JSON.parse(text), calls) / 1000).toFixed(2),
    shape_check_us: +(nsPerCall(() => jsonShapeProblem(parsed), calls) / 1000).toFixed(2),
    normalize_us: +(nsPerCall(() => normalize(topic, payload, opts), calls) / 1000).toFixed(2),
  };
}

const s = Math.sin(1);
// bench/load-generator.ts's message: 12 numeric fields, ~290 bytes.
const sensors = JSON.stringify({
  ts: Date.now(),
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
const levels = (MAX_PAYLOAD_BYTES - 32) / 2;
const deepest = `{"status":"working","a":${'['.repeat(levels)}${']'.repeat(levels)}}`;
const wideAtLimit = `{"status":"working","a":[${Array.from({ length: MAX_PAYLOAD_WIDTH }, () => '[0,0,0]').join(',')}]}`;
const manyArrays = `{"status":"working",${Array.from({ length: 2000 }, (_, i) => `"${i}":[[[1]]]`).join(',')}}`;

const rows = [
  row(
    'sensors (the ingest benchmark message)',
    Buffer.byteLength(sensors),
    'tonypi/b1/sensors',
    sensors,
    200_000,
  ),
  row('job, arrays nested to the byte limit', Buffer.byteLength(deepest), 'tonypi/b1/job', deepest, 300),
  row(
    `job, ${MAX_PAYLOAD_WIDTH} small arrays (at the width limit)`,
    Buffer.byteLength(wideAtLimit),
    'tonypi/b1/job',
    wideAtLimit,
    300,
  ),
  row('job, 2000 keys of 3-level arrays', Buffer.byteLength(manyArrays), 'tonypi/b1/job', manyArrays, 300),
];
console.table(rows);
const hot = rows[0] as (typeof rows)[number];
console.log(
  `payload-shape: ${hot.shape_check_us} µs of ${hot.normalize_us} µs per benchmark message (${((100 * hot.shape_check_us) / hot.normalize_us).toFixed(1)} %); worst 64 KiB payload ${Math.max(...rows.slice(1).map((r) => r.shape_check_us))} µs`,
);
