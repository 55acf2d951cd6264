import { createPrng, type Prng } from '@tonypi/agent';
import {
  INGEST_REJECT_REASONS,
  type IngestRejectReason,
  JOB_STATUSES,
  MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_DEPTH,
  MAX_PAYLOAD_WIDTH,
  ROBOT_CHANNELS,
  ROBOT_PROTOCOLS,
  ROBOT_STATUSES,
  type RobotChannel,
  type RobotProtocol,
} from '@tonypi/contracts';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalize } from '../src/ingest/normalize';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * A seeded fuzz of the robot channels over real MQTT against the real server: nesting, width and size
 * extremes, random junk, prototype keys, huge strings, NUL characters, on the canonical and the legacy
 * layouts. Every message belongs to a class whose outcome docs/protocol.md states (§3 limits, §8
 * reasons); the server must stay up, count exactly those outcomes in /api/v1/health and /metrics,
 * relay every accepted job and vision event, and still store and stream a normal message afterwards.
 *
 * Reproduce a failure with the seed it prints: `FUZZ_SEED=<seed> npx vitest run <this file>`.
 * `FUZZ_MESSAGES` sets how many random messages follow the one-of-each-class pass (default 300).
 */

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const EXTRA_MESSAGES = Number(process.env.FUZZ_MESSAGES ?? 300);
const ROBOTS = ['fz_a', 'fz_b', 'fz_c'] as const;
type Robot = (typeof ROBOTS)[number];
type Layout = RobotProtocol;
type Outcome = 'accepted' | IngestRejectReason;

interface Case {
  cls: string;
  channel: RobotChannel;
  layout: Layout;
  robot: Robot;
  topic: string;
  payload: Buffer;
  expect: Outcome;
  /** A field the server drops from the accepted message, counted under `fields_dropped`. */
  dropped?: 'bad_url';
}

/** Channels and layouts, with the topic each uses. Legacy shared topics name the robot in the payload. */
const LEGACY_TOPIC: Partial<Record<RobotChannel, (robot: string, r: Prng) => string>> = {
  status: (id) => `tonypi/status/${id}`,
  job: (id) => `tonypi/job/${id}`,
  log: (id) => `tonypi/logs/${id}`,
  vision: (id) => `tonypi/vision/${id}`,
  scan: (id) => `tonypi/scan/${id}`,
  sensors: (id) => `tonypi/sensors/${id}`,
  servos: (id) => `tonypi/servos/${id}`,
  battery: () => 'tonypi/battery',
  location: () => 'tonypi/location',
  'command/response': (_id, r) => r.pick(['tonypi/commands/response', 'tonypi/emergency_stop/response']),
};
const SHARED_TOPICS = new Set([
  'tonypi/battery',
  'tonypi/location',
  'tonypi/commands/response',
  'tonypi/emergency_stop/response',
]);

/** A valid message of the channel: what each class starts from. */
function validBody(channel: RobotChannel, layout: Layout, r: Prng): Record<string, unknown> {
  const legacy = layout === 'legacy';
  switch (channel) {
    case 'status':
      return legacy
        ? {
            status: 'online',
            system_info: { cpu_percent: r.int(0, 100) },
            camera_url: 'http://192.0.2.1:8081/?action=stream',
          }
        : { status: r.pick(ROBOT_STATUSES), agent_version: '0.1.0', ip_address: '192.0.2.1' };
    case 'job':
      return { status: r.pick(JOB_STATUSES), task_name: 'sort', items_done: r.int(0, 9), items_total: 10 };
    case 'vision':
      return { detection: r.chance(0.5), label: 'box', confidence: r.next(), bbox: [1, 2, 3, 4] };
    case 'log':
      return { level: r.pick(['info', 'WARN', 'error', 'debug']), message: 'fuzz', source: 'fuzz' };
    case 'scan':
      return legacy
        ? { qr_data: `QR${r.int(0, 99999)}`, station_name: 'dock' }
        : { code: `QR${r.int(0, 99999)}` };
    case 'command/response':
      return { command_id: `c-${r.int(0, 1e6)}`, success: true, message: 'done' };
    case 'telemetry':
      return { battery: { percent: r.int(0, 100) }, system: { cpu_percent: r.int(0, 100) } };
    case 'sensors':
      return legacy
        ? { sensor_type: 'ultrasonic_distance', value: r.int(0, 300), unit: 'cm' }
        : { ultrasonic_distance_cm: r.int(0, 300) };
    case 'servos':
      return legacy
        ? { servos: { servo_1: { id: 1, position: r.int(0, 1000) } }, servo_count: 1 }
        : { servos: [{ id: 1, position: r.int(0, 1000) }] };
    case 'system':
      return { cpu_percent: r.int(0, 100) };
    case 'battery':
      return legacy ? { percentage: r.int(0, 100), voltage: 11.1 } : { percent: r.int(0, 100) };
    case 'location':
      return { x_m: r.next(), y_m: r.next() };
  }
}

/** Known text fields of the structured channels: a NUL character in one is `invalid_payload`. */
const TEXT_FIELD: Partial<Record<RobotChannel, string>> = {
  status: 'agent_version',
  job: 'task_name',
  vision: 'label',
  log: 'message',
  scan: 'station_name',
  'command/response': 'message',
};

/** A change that breaks the channel's schema (`invalid_payload`), one per channel. */
function breakSchema(channel: RobotChannel, body: Record<string, unknown>, r: Prng): Record<string, unknown> {
  const b = { ...body };
  switch (channel) {
    case 'status':
      b.status = 'asleep';
      break;
    case 'job':
      if (r.chance(0.5)) delete b.status;
      else b.percent = 1e300;
      break;
    case 'vision':
      if (r.chance(0.5)) b.detection = 'yes';
      else b.confidence = 1e300;
      break;
    case 'log':
      delete b.message;
      break;
    case 'scan':
      delete b.code;
      delete b.qr_data;
      break;
    case 'command/response':
      delete b.command_id;
      break;
    case 'telemetry':
      b.battery = r.chance(0.5) ? 5 : { percent: 'full' };
      break;
    case 'sensors':
      if ('sensor_type' in b) b.value = 'lots';
      else b.ultrasonic_distance_cm = 'far';
      break;
    case 'servos':
      b.servos = r.pick([5, 'six', [7]]);
      break;
    case 'system':
      b.cpu_percent = r.chance(0.5) ? 'high' : 1e300;
      break;
    case 'battery':
      if ('percentage' in b) b.percentage = 'full';
      else b.percent = [1];
      break;
    case 'location':
      b.x_m = { x: 1 };
      break;
  }
  return b;
}

const ALPHABET = 'abcXYZ019 _-.,:;!?"\\/\'{}[]\n\t\u00e9\u4e2d\u{1F916}\u2028';
function randomText(r: Prng, length: number): string {
  const chars = [...ALPHABET];
  let s = '';
  while (s.length < length) s += r.pick(chars);
  return s;
}

/** A random JSON value within the limits: junk a robot might send in a key no decoder reads. */
function randomTree(r: Prng, depth: number): unknown {
  const kind = depth >= 8 ? r.int(0, 3) : r.int(0, 5);
  if (kind === 0) return r.range(-1e6, 1e6);
  if (kind === 1) return randomText(r, r.int(0, 12));
  if (kind === 2) return r.pick([true, false, null, 0, -0, 1e15, -1e15, 5e-324]);
  if (kind === 3) return r.int(-10, 10);
  if (kind === 4) return Array.from({ length: r.int(0, 6) }, () => randomTree(r, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = r.int(0, 6); i > 0; i--) {
    const key = r.pick([
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      randomText(r, r.int(0, 8)),
    ]);
    // Defined, not assigned: `obj.__proto__ = …` would set the prototype instead of adding a key.
    Object.defineProperty(obj, key, {
      value: randomTree(r, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return obj;
}

/** `{"<key>":<value text>, …body}` as text, so keys like `__proto__` and odd nesting go out as written. */
function withKey(body: Record<string, unknown>, key: string, valueText: string): string {
  const rest = JSON.stringify(body).slice(1);
  return `{${JSON.stringify(key)}:${valueText}${rest === '}' ? '}' : `,${rest}`}`;
}

const arrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const objects = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

interface ClassSpec {
  name: string;
  applies: (channel: RobotChannel, layout: Layout) => boolean;
  make: (
    channel: RobotChannel,
    layout: Layout,
    body: Record<string, unknown>,
    r: Prng,
  ) => {
    text: string | Buffer;
    expect: Outcome;
    dropped?: 'bad_url';
  };
}

const any = () => true;
const perRobotTopic = (channel: RobotChannel, layout: Layout) =>
  layout === 'canonical' || !['battery', 'location', 'command/response'].includes(channel);

/** Each class and the outcome docs/protocol.md gives it. */
const CLASSES: readonly ClassSpec[] = [
  { name: 'valid', applies: any, make: (_c, _l, b) => ({ text: JSON.stringify(b), expect: 'accepted' }) },
  {
    name: 'nested arrays beyond the depth limit',
    applies: any,
    // The payload is level 1, so a value of n array levels under a key reaches level n + 1.
    make: (_c, _l, b, r) => ({
      text: withKey(b, 'junk', arrays(r.int(MAX_PAYLOAD_DEPTH, 30_000))),
      expect: 'too_deep',
    }),
  },
  {
    name: 'nested objects beyond the depth limit',
    applies: any,
    make: (_c, _l, b, r) => ({
      text: withKey(b, 'junk', objects(r.int(MAX_PAYLOAD_DEPTH, 9_000))),
      expect: 'too_deep',
    }),
  },
  {
    name: 'nesting exactly at the depth limit',
    applies: any,
    make: (_c, _l, b) => ({ text: withKey(b, 'junk', arrays(MAX_PAYLOAD_DEPTH - 1)), expect: 'accepted' }),
  },
  {
    name: 'an array wider than the limit',
    applies: any,
    make: (_c, _l, b, r) => ({
      text: withKey(
        b,
        'junk',
        `[${Array.from({ length: r.int(MAX_PAYLOAD_WIDTH + 1, 20_000) }, () => '0').join(',')}]`,
      ),
      expect: 'too_wide',
    }),
  },
  {
    name: 'an object with more keys than the limit',
    applies: any,
    make: (_c, _l, b, r) => {
      const n = r.int(MAX_PAYLOAD_WIDTH + 1, 6_000);
      const keys = Array.from({ length: n }, (_, i) => `"${i.toString(36)}":0`).join(',');
      return { text: withKey(b, 'junk', `{${keys}}`), expect: 'too_wide' };
    },
  },
  {
    name: 'an array exactly at the width limit',
    applies: any,
    make: (_c, _l, b) => ({
      text: withKey(b, 'junk', `[${Array.from({ length: MAX_PAYLOAD_WIDTH }, () => '1').join(',')}]`),
      expect: 'accepted',
    }),
  },
  {
    name: 'a huge string in an extra key',
    applies: any,
    make: (_c, _l, b, r) => {
      let text = withKey(b, 'note', JSON.stringify(randomText(r, r.int(1_000, 20_000))));
      // Multi-byte characters and escapes: trim to the limit, keeping the JSON whole.
      while (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES)
        text = withKey(b, 'note', JSON.stringify(randomText(r, 5_000)));
      return { text, expect: 'accepted' };
    },
  },
  {
    name: 'a payload over the size limit',
    applies: any,
    make: (_c, _l, b, r) => ({
      text: withKey(
        b,
        'note',
        JSON.stringify('x'.repeat(r.int(MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES + 30_000))),
      ),
      expect: 'oversize',
    }),
  },
  {
    name: 'random bytes after a brace',
    applies: any,
    make: (_c, _l, _b, r) => {
      // Without a closing brace this can never be JSON.
      const bytes = Array.from({ length: r.int(0, 2_000) }, () => r.int(0, 255)).filter((x) => x !== 0x7d);
      return { text: Buffer.from([0x7b, ...bytes]), expect: 'bad_json' };
    },
  },
  {
    name: 'JSON that is not an object',
    applies: any,
    make: (_c, _l, _b, r) => ({
      text: r.pick(['[]', '[1,2]', '1', '"status"', 'null', 'true', arrays(5_000)]),
      expect: 'not_an_object',
    }),
  },
  {
    name: 'prototype keys',
    applies: any,
    make: (_c, _l, b) => ({
      text: withKey(
        b,
        '__proto__',
        '{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}',
      ),
      expect: 'accepted',
    }),
  },
  {
    name: 'prototype names as numeric fields',
    applies: (c) => c === 'system' || c === 'battery' || c === 'location',
    make: (_c, _l, b) => ({
      text: JSON.stringify({ ...b, constructor: 1, toString: 2, valueOf: 3 }).replace('{', '{"__proto__":4,'),
      expect: 'accepted',
    }),
  },
  {
    name: 'a random tree of junk in an extra key',
    applies: any,
    make: (_c, _l, b, r) => ({
      text: withKey(b, 'blob', JSON.stringify(randomTree(r, 2))),
      expect: 'accepted',
    }),
  },
  {
    name: 'a NUL character in a known text field',
    applies: (c) => TEXT_FIELD[c] !== undefined,
    make: (c, _l, b) => ({
      text: JSON.stringify({ ...b, [TEXT_FIELD[c] as string]: 'a\u0000b' }),
      expect: 'invalid_payload',
    }),
  },
  {
    name: 'invalid UTF-8 inside a string (read as U+FFFD)',
    applies: (c) => TEXT_FIELD[c] !== undefined,
    make: (c, _l, b) => {
      const text = JSON.stringify({ ...b, [TEXT_FIELD[c] as string]: 'AB' });
      const at = text.indexOf('"AB"') + 1;
      const bytes = Buffer.from(text);
      return {
        text: Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff, 0xc3]), bytes.subarray(at + 2)]),
        expect: 'accepted',
      };
    },
  },
  {
    name: 'a field its schema refuses',
    applies: any,
    make: (c, _l, b, r) => ({ text: JSON.stringify(breakSchema(c, b, r)), expect: 'invalid_payload' }),
  },
  {
    name: 'another robot named in the payload',
    applies: perRobotTopic,
    make: (_c, _l, b) => ({
      text: JSON.stringify({ ...b, robot_id: 'somebody_else' }),
      expect: 'robot_id_mismatch',
    }),
  },
  {
    name: 'no robot named on a shared legacy topic',
    applies: (c, l) => !perRobotTopic(c, l),
    make: (_c, _l, b) => {
      const { robot_id: _id, ...rest } = b;
      return { text: JSON.stringify(rest), expect: 'bad_robot_id' };
    },
  },
  {
    name: 'a camera URL that is not http(s)',
    applies: (c) => c === 'status',
    make: (_c, _l, b, r) => ({
      text: JSON.stringify({
        ...b,
        camera_url: r.pick([
          'javascript:alert(document.cookie)',
          'data:text/html,<b>x</b>',
          'file:///etc/passwd',
          '//h/x',
          42,
        ]),
      }),
      expect: 'accepted',
      dropped: 'bad_url',
    }),
  },
];

function makeCase(spec: ClassSpec, channel: RobotChannel, layout: Layout, r: Prng): Case {
  const robot = r.pick(ROBOTS);
  const legacyTopic = LEGACY_TOPIC[channel];
  if (layout === 'legacy' && !legacyTopic) throw new Error(`${channel} has no legacy topic`);
  const topic = layout === 'canonical' || !legacyTopic ? `tonypi/${robot}/${channel}` : legacyTopic(robot, r);
  const body = validBody(channel, layout, r);
  // The original client names the robot in every payload; shared topics need it.
  if (layout === 'legacy' || SHARED_TOPICS.has(topic)) body.robot_id = robot;
  const made = spec.make(channel, layout, body, r);
  const payload = typeof made.text === 'string' ? Buffer.from(made.text) : made.text;
  const c: Case = {
    cls: spec.name,
    channel,
    layout,
    robot,
    topic,
    payload,
    expect: made.expect,
    dropped: made.dropped,
  };
  // The generator's own promise: only the oversize class leaves the size limit.
  if (payload.length > MAX_PAYLOAD_BYTES !== (made.expect === 'oversize')) {
    throw new Error(`seed ${SEED}: generator made ${payload.length} bytes for "${spec.name}" on ${topic}`);
  }
  return c;
}

function combos(): Array<[ClassSpec, RobotChannel, Layout]> {
  const out: Array<[ClassSpec, RobotChannel, Layout]> = [];
  for (const spec of CLASSES)
    for (const channel of ROBOT_CHANNELS)
      for (const layout of ROBOT_PROTOCOLS) {
        if (layout === 'legacy' && !LEGACY_TOPIC[channel]) continue;
        if (spec.applies(channel, layout)) out.push([spec, channel, layout]);
      }
  return out;
}

interface Health {
  live: { frames_dropped: number };
  ingest: {
    messages_accepted: number;
    messages_rejected: number;
    ignored_outbound: number;
    rejected: Record<string, number>;
    fields_dropped: Record<string, number>;
  };
}

let t: TestServer;
const clients = new Map<Robot, MqttClient>();
beforeAll(async () => {
  t = await startTestServer();
  // One connection per robot, its client id its robot id, as a real robot would.
  for (const id of ROBOTS) clients.set(id, await connectMqtt(t.mqttUrl, { clientId: id }));
});
afterAll(async () => {
  for (const c of clients.values()) await c.endAsync(true);
  await t?.close();
});

const health = async (): Promise<Health> =>
  (await (await t.api('/api/v1/health', { anonymous: true })).json()) as Health;

/**
 * On a failure: the classes whose messages the normalizer (the server's first stage) treats otherwise
 * than the class says, to point at the culprit. A diagnosis only: the test checks the server's counts.
 */
function disagreements(cases: readonly Case[]): string {
  const out = new Set<string>();
  for (const c of cases) {
    const result = normalize(c.topic, c.payload, { receivedAt: Date.now(), clockSkewMaxMs: 300_000 });
    const outcome = result.ok ? 'accepted' : result.reason;
    if (outcome !== c.expect) out.add(`"${c.cls}" on ${c.topic}: ${outcome}, expected ${c.expect}`);
  }
  return out.size === 0 ? 'none' : [...out].slice(0, 10).join('; ');
}

function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe(`fuzzed robot messages over MQTT`, () => {
  it('are each accepted or rejected as the protocol doc says, counted exactly, and the server stays up', async () => {
    console.log(`ingest fuzz: seed ${SEED} (FUZZ_SEED=${SEED} to replay), ${EXTRA_MESSAGES} random messages`);
    const r = createPrng(SEED);
    const all = combos();
    const cases = [
      ...all.map(([spec, channel, layout]) => makeCase(spec, channel, layout, r)),
      ...Array.from({ length: EXTRA_MESSAGES }, () => {
        const [spec, channel, layout] = r.pick(all);
        return makeCase(spec, channel, layout, r);
      }),
    ];

    const watcher = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
    watcher.send({ type: 'subscribe', robots: ['*'], channels: ['status', 'log', 'job', 'scan', 'vision'] });
    await watcher.next('subscribed');
    // A socket in its auth window, as in the crash the issue reports.
    const waiting = await LiveClient.connect(t.url);
    await waiting.next('hello');

    const expected = new Map<Outcome, number>();
    for (const c of cases) expected.set(c.expect, (expected.get(c.expect) ?? 0) + 1);
    console.log(
      `ingest fuzz: ${cases.length} messages (${all.length} class × channel × layout)`,
      Object.fromEntries(expected),
    );

    const before = await health();
    for (const c of cases)
      await (clients.get(c.robot) as MqttClient).publishAsync(c.topic, c.payload, { qos: 1 });

    const after = await waitFor(
      async () => {
        const h = await health();
        const seen =
          h.ingest.messages_accepted -
          before.ingest.messages_accepted +
          (h.ingest.messages_rejected - before.ingest.messages_rejected);
        return seen >= cases.length ? h : undefined;
      },
      20_000,
      `seed ${SEED}: all ${cases.length} messages counted`,
    );

    const delta = (reason: string) =>
      (after.ingest.rejected[reason] ?? 0) - (before.ingest.rejected[reason] ?? 0);
    const got = Object.fromEntries(INGEST_REJECT_REASONS.map((reason) => [reason, delta(reason)]));
    const want = Object.fromEntries(
      INGEST_REJECT_REASONS.map((reason) => [reason, expected.get(reason) ?? 0]),
    );
    const mismatch =
      JSON.stringify(got) === JSON.stringify(want)
        ? ''
        : `; the normalizer disagrees on: ${disagreements(cases)}`;
    expect(got, `rejections by reason, seed ${SEED}${mismatch}`).toEqual(want);
    expect(after.ingest.messages_accepted - before.ingest.messages_accepted, `accepted, seed ${SEED}`).toBe(
      expected.get('accepted') ?? 0,
    );
    expect(after.ingest.ignored_outbound).toBe(before.ingest.ignored_outbound);
    const badUrls = cases.filter((c) => c.dropped === 'bad_url').length;
    expect((after.ingest.fields_dropped.bad_url ?? 0) - (before.ingest.fields_dropped.bad_url ?? 0)).toBe(
      badUrls,
    );
    // The bounds keep every unserialisable value out: the live hub never had to drop a frame.
    expect(after.live.frames_dropped).toBe(0);

    // /metrics tells the same story as health.
    const metrics = await (await t.api('/metrics', { anonymous: true })).text();
    const now = await health();
    for (const reason of INGEST_REJECT_REASONS) {
      expect(metricValue(metrics, 'tonypi_ingest_rejected_total', `{reason="${reason}"}`), reason).toBe(
        now.ingest.rejected[reason] ?? 0,
      );
    }
    expect(metricValue(metrics, 'tonypi_ingest_messages_total', '{result="accepted"}')).toBe(
      now.ingest.messages_accepted,
    );

    // Every accepted job and vision event reached the subscribed browser; nothing polluted a prototype.
    const relayed = (type: string) =>
      cases.filter((c) => c.channel === type && c.expect === 'accepted').length;
    await waitFor(
      () => watcher.of('job').length === relayed('job') && watcher.of('vision').length === relayed('vision'),
      10_000,
      `seed ${SEED}: ${relayed('job')} job and ${relayed('vision')} vision frames`,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);

    // A normal message afterwards still flows to the live stream and to storage.
    watcher.send({ type: 'subscribe', robots: ['fz_after'], channels: ['telemetry', 'job'] });
    await waitFor(() => watcher.of('subscribed').length === 2, 5_000, 'second subscription');
    const after1 = await connectMqtt(t.mqttUrl, { clientId: 'fz_after' });
    const ts = Date.now();
    await after1.publishAsync('tonypi/fz_after/battery', JSON.stringify({ ts, percent: 42.5 }), { qos: 1 });
    await after1.publishAsync(
      'tonypi/fz_after/job',
      JSON.stringify({ ts, status: 'working', task_name: 'after-fuzz' }),
      {
        qos: 1,
      },
    );
    await after1.endAsync();
    await watcher.next(
      'telemetry',
      (f) => f.robot_id === 'fz_after' && (f.fields as { percent?: number }).percent === 42.5,
    );
    await watcher.next('job', (f) => f.robot_id === 'fz_after');
    await waitFor(
      async () => {
        const res = await t.api(
          `/api/v1/robots/fz_after/telemetry?measurement=battery&field=percent&from=${ts - 1000}&to=${ts + 1000}`,
        );
        const body = (await res.json()) as { series?: Array<{ points: Array<{ last: number }> }> };
        return body.series?.[0]?.points.some((p) => p.last === 42.5);
      },
      5_000,
      'the normal point stored',
    );
    expect(watcher.ws.readyState).toBe(watcher.ws.OPEN);
    watcher.close();
    waiting.close();
  }, 120_000); // Its work grows with FUZZ_MESSAGES; a guard, not a speed check.
});
