import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalize } from '../../server/src/ingest/normalize';
import { INGEST_DROP_REASONS, INGEST_REJECT_REASONS } from './errors';
import { MAX_URL_LENGTH } from './http-url';
import { MAX_PAYLOAD_DEPTH, MAX_PAYLOAD_WIDTH } from './json-shape';
import { LIVE_CLOSE, LIVE_ERROR_CODES } from './live';
import { BroadcastPayload, CHANNEL_SCHEMAS, CommandPayload, MAX_PAYLOAD_BYTES } from './payloads';
import { RobotConfigPayload } from './robot-config';
import { decodeTopic, isValidRobotId, ROBOT_CHANNELS, type RobotChannel, topics } from './topics';

/**
 * docs/protocol.md is the robot protocol's reference: every example in it must be true. Examples
 * are fenced blocks with the info string `json topic=<topic>` (robot → server) or
 * `json topic=<topic> direction=server` (server → robot).
 */

interface Example {
  line: number;
  topic: string;
  direction: 'robot' | 'server';
  text: string;
}

const DOC_URL = new URL('../../../docs/protocol.md', import.meta.url);
const doc = readFileSync(DOC_URL, 'utf8');

function extractExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```json\s+(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const attrs = Object.fromEntries(
      open[1]!
        .trim()
        .split(/\s+/)
        .map((pair) => {
          const eq = pair.indexOf('=');
          return eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
        }),
    );
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`docs/protocol.md:${i + 1}: unterminated code block`);
    const unknown = Object.keys(attrs).filter((k) => k !== 'topic' && k !== 'direction');
    if (unknown.length > 0)
      throw new Error(`docs/protocol.md:${i + 1}: unknown attributes ${unknown.join(', ')}`);
    if (!attrs.topic) throw new Error(`docs/protocol.md:${i + 1}: a json block without topic=`);
    if (attrs.direction !== undefined && attrs.direction !== 'server') {
      throw new Error(`docs/protocol.md:${i + 1}: direction must be "server" or absent`);
    }
    examples.push({
      line: i + 1,
      topic: attrs.topic,
      direction: attrs.direction === 'server' ? 'server' : 'robot',
      text: lines.slice(i + 1, end).join('\n'),
    });
    i = end;
  }
  return examples;
}

const examples = extractExamples(doc);
const robotExamples = examples.filter((e) => e.direction === 'robot');
const serverExamples = examples.filter((e) => e.direction === 'server');
const name = (e: Example) => `line ${e.line}: ${e.topic}`;

/** The example's own time, in epoch ms, as the normalizer reads `ts` (seconds below 1e11). */
function receivedAtFor(payload: Record<string, unknown>): number {
  const ts = payload.ts ?? payload.timestamp;
  if (typeof ts !== 'number') return Date.now();
  return ts < 1e11 ? Math.round(ts * 1000) : ts;
}

function parseObject(e: Example): Record<string, unknown> {
  const json: unknown = JSON.parse(e.text);
  expect(json, name(e)).toBeTypeOf('object');
  expect(json, name(e)).not.toBeNull();
  expect(Array.isArray(json), name(e)).toBe(false);
  return json as Record<string, unknown>;
}

describe('docs/protocol.md examples', () => {
  it('has examples in both directions', () => {
    expect(robotExamples.length).toBeGreaterThan(0);
    expect(serverExamples.length).toBeGreaterThan(0);
  });

  it('has only valid JSON in the json blocks', () => {
    for (const e of examples) expect(() => JSON.parse(e.text), name(e)).not.toThrow();
  });

  describe.each(robotExamples.map((e) => [name(e), e] as const))('robot → server %s', (_label, e) => {
    it('is on a robot topic, matches its channel schema and is accepted by the ingest', () => {
      const payload = parseObject(e);
      const decoded = decodeTopic(e.topic);
      expect(decoded, name(e)).toMatchObject({ ok: true });
      if (!decoded.ok) return;

      const schema = CHANNEL_SCHEMAS[decoded.channel];
      const parsed = schema.safeParse(payload);
      expect(parsed.success ? 'ok' : parsed.error.issues, name(e)).toBe('ok');

      const body = Buffer.from(e.text);
      expect(body.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      const result = normalize(e.topic, body, {
        receivedAt: receivedAtFor(payload),
        clockSkewMaxMs: 100 * 365 * 24 * 3600_000,
      });
      if (!result.ok) throw new Error(`${name(e)} rejected by the ingest: ${JSON.stringify(result)}`);
      const m = result.message;
      expect(m.channel).toBe(decoded.channel);
      // Every example must do something: store numbers, change the status or raise an event.
      expect(m.points.length > 0 || m.status !== undefined || m.event !== undefined, name(e)).toBe(true);
    });
  });

  describe.each(serverExamples.map((e) => [name(e), e] as const))('server → robot %s', (_label, e) => {
    it('is on a topic the contract builds and matches its payload schema', () => {
      const payload = parseObject(e);
      expect(decodeTopic(e.topic), name(e)).toEqual({ ok: false, reason: 'outbound' });
      const [, second = '', third = ''] = e.topic.split('/');
      const perRobot: Record<string, string> = {
        command: topics.command(second),
        config: topics.config(second),
        legacyCommand: topics.legacy.command(third),
        legacyEmergencyStop: topics.legacy.emergencyStop(third),
        legacyItems: topics.legacy.items(third),
      };
      const fleetWide: Record<string, string> = {
        broadcast: topics.broadcast,
        legacyCommandBroadcast: topics.legacy.commandBroadcast,
        legacyEmergencyStopBroadcast: topics.legacy.emergencyStopBroadcast,
      };
      const fleet = Object.entries(fleetWide).find(([, t]) => t === e.topic)?.[0];
      const robot = Object.entries(perRobot).find(([, t]) => t === e.topic)?.[0];
      const kind = fleet ?? robot;
      expect(kind, `${name(e)} is built by no topics.* builder`).toBeDefined();
      if (!fleet && robot) {
        expect(isValidRobotId(robot.startsWith('legacy') ? third : second), name(e)).toBe(true);
      }

      if (kind === 'command') {
        const parsed = CommandPayload.safeParse(payload);
        expect(parsed.success ? 'ok' : parsed.error.issues, name(e)).toBe('ok');
      } else if (kind === 'broadcast') {
        const parsed = BroadcastPayload.safeParse(payload);
        expect(parsed.success ? 'ok' : parsed.error.issues, name(e)).toBe('ok');
      } else if (kind === 'config') {
        const parsed = RobotConfigPayload.safeParse(payload);
        expect(parsed.success ? 'ok' : parsed.error.issues, name(e)).toBe('ok');
      }
    });
  });

  it('shows every robot channel at least once', () => {
    const shown = new Set<RobotChannel>();
    for (const e of robotExamples) {
      const decoded = decodeTopic(e.topic);
      if (decoded.ok) shown.add(decoded.channel);
    }
    expect(ROBOT_CHANNELS.filter((c) => !shown.has(c))).toEqual([]);
  });

  it('shows the original robot client (legacy layout) at least 8 times', () => {
    const legacy = robotExamples.filter((e) => {
      const decoded = decodeTopic(e.topic);
      return decoded.ok && decoded.layout === 'legacy';
    });
    expect(legacy.length).toBeGreaterThanOrEqual(8);
  });
});

describe('docs/protocol.md limits and reasons', () => {
  /** Thousands are written with a thin space in the doc: 4 096. */
  const written = (n: number) => n.toLocaleString('en-US').replaceAll(',', ' ');

  it('gives every rejection and drop reason a row of its own', () => {
    const rows = new Set([...doc.matchAll(/^\| `([a-z_]+)` +\|/gm)].map((m) => m[1]));
    expect([...INGEST_REJECT_REASONS, ...INGEST_DROP_REASONS].filter((r) => !rows.has(r))).toEqual([]);
  });

  it('states the size, depth, width and URL limits the contracts enforce', () => {
    const bounds = doc.slice(doc.indexOf('## 3. Payload rules'), doc.indexOf('**Time: `ts`**'));
    expect(bounds).toContain(`| size (\`MAX_PAYLOAD_BYTES\`) `);
    expect(bounds).toContain(`| ${written(MAX_PAYLOAD_BYTES)} bytes `);
    expect(bounds).toContain(`| ${MAX_PAYLOAD_DEPTH}, the payload object itself being level 1`);
    expect(bounds).toContain(`| ${written(MAX_PAYLOAD_WIDTH)}, anywhere in the payload `);
    expect(doc).toContain(`with a host, at most ${MAX_URL_LENGTH} characters (\`MAX_URL_LENGTH\`)`);
  });

  it('gives every live-stream error code and close (code and reason) a row in §9', () => {
    const live = doc.slice(doc.indexOf('## 9. The live stream'));
    expect(LIVE_ERROR_CODES.filter((code) => !live.includes(`| \`${code}\` |`))).toEqual([]);
    expect(
      Object.values(LIVE_CLOSE).filter(({ code, reason }) => !live.includes(`| ${code} | \`${reason}\` |`)),
    ).toEqual([]);
  });
});
