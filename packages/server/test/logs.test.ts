import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { logEntry } from '../src/logs/log-entry';
import type { LogsService } from '../src/logs/logs.service';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
let logs: LogsService;
const clients: MqttClient[] = [];
beforeAll(async () => {
  t = await startTestServer();
  logs = t.server.service('logs');
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
});
afterAll(async () => {
  await t?.close();
});

interface Entry {
  id: number;
  timestamp: string;
  level: string;
  category: string;
  robot_id: string | null;
  source: string | null;
  message: string;
  details: Record<string, unknown> | null;
}

async function list(query: string): Promise<{ items: Entry[]; next_cursor: string | null }> {
  await logs.writer.flush();
  const res = await t.api(`/api/v1/logs?${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

async function robot(id: string): Promise<MqttClient> {
  const c = await connectMqtt(t.mqttUrl, { clientId: id });
  clients.push(c);
  return c;
}

/** Entries written straight to the writer, `ageMs` in the past (for pagination, export, retention). */
async function seed(n: number, make: (i: number) => Partial<Parameters<typeof logEntry>[0]>, ageMs = 0) {
  const now = Date.now() - ageMs;
  for (let i = 0; i < n; i++) {
    logs.writer.add(
      logEntry({ ts: now - i, level: 'INFO', category: 'system', message: `seeded ${i}`, ...make(i) }),
    );
  }
  await logs.writer.flush();
}

describe("a robot's log messages", () => {
  it('are recorded with level, source and robot, and filtered by robot and level or worse', async () => {
    const c = await robot('log_bot_1');
    const ts = Date.now();
    for (const [level, message] of [
      ['debug', 'calibrating'],
      ['info', 'walking to station A'],
      ['warn', 'left knee servo warm'],
      ['error', 'camera not found'],
      ['critical', 'battery cell failed'],
    ] as const) {
      await c.publishAsync('tonypi/log_bot_1/log', JSON.stringify({ ts, level, message, source: 'motion' }), {
        qos: 1,
      });
    }
    // The legacy client's topic and shape, too.
    await c.publishAsync(
      'tonypi/logs/log_bot_1',
      JSON.stringify({
        robot_id: 'log_bot_1',
        level: 'WARNING',
        message: 'legacy warning',
        source: 'client',
      }),
      { qos: 1 },
    );
    const all = await waitFor(
      async () => {
        const page = await list('robot_id=log_bot_1&category=robot');
        return page.items.length === 6 ? page : undefined;
      },
      5000,
      'six robot log entries',
    );
    expect(all.items.map((e) => e.level).sort()).toEqual(
      ['CRITICAL', 'DEBUG', 'ERROR', 'INFO', 'WARNING', 'WARNING'].sort(),
    );
    expect(all.items.find((e) => e.message === 'camera not found')).toMatchObject({
      category: 'robot',
      robot_id: 'log_bot_1',
      source: 'motion',
      level: 'ERROR',
    });

    const warnings = await list('robot_id=log_bot_1&category=robot&level=WARNING');
    expect(warnings.items.map((e) => e.message).sort()).toEqual(
      ['battery cell failed', 'camera not found', 'left knee servo warm', 'legacy warning'].sort(),
    );
    const errors = await list('robot_id=log_bot_1&category=robot&level=ERROR');
    expect(errors.items.map((e) => e.level).sort()).toEqual(['CRITICAL', 'ERROR']);
    // The robot's error logs also raised a robot_error alert (the alert engine), logged under `alert`.
    const alerts = await waitFor(
      async () => {
        const page = await list('robot_id=log_bot_1&category=alert');
        return page.items.length > 0 ? page : undefined;
      },
      5000,
      'the robot_error alert logged',
    );
    expect(alerts.items[0]!.level).toBe('CRITICAL');
  });
});

describe("the server's own events", () => {
  it("records a robot's status change (it came online) under mqtt", async () => {
    const c = await robot('log_bot_2');
    await c.publishAsync('tonypi/log_bot_2/status', JSON.stringify({ ts: Date.now(), status: 'online' }), {
      qos: 1,
    });
    const page = await waitFor(
      async () => {
        const p = await list('robot_id=log_bot_2&category=mqtt');
        return p.items.some((e) => e.message.includes('online')) ? p : undefined;
      },
      5000,
      'status change logged',
    );
    expect(page.items[0]).toMatchObject({ category: 'mqtt', level: 'INFO', robot_id: 'log_bot_2' });
  });

  it('records audited actions: a user created (audit) and a failed sign-in (auth, WARNING)', async () => {
    const created = await t.api('/api/v1/users', {
      method: 'POST',
      json: {
        username: 'log_watcher',
        email: 'watcher@example.com',
        role: 'viewer',
        password: 'a-long-password-1',
      },
    });
    expect(created.status).toBe(201);
    const failed = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      json: { username: 'log_watcher', password: 'wrong-password-123' },
    });
    expect(failed.status).toBe(401);
    const audit = await waitFor(
      async () => {
        const p = await list('category=audit&q=user.create');
        return p.items.length > 0 ? p : undefined;
      },
      5000,
      'user.create logged',
    );
    expect(audit.items[0]).toMatchObject({ level: 'INFO', source: 'audit' });
    expect(audit.items[0]!.message).toContain('admin: user.create');
    const auth = await list('category=auth&level=WARNING');
    expect(auth.items.some((e) => e.message.includes('auth.login'))).toBe(true);
    // Never the password, in the message or the details.
    expect(JSON.stringify(auth.items)).not.toContain('wrong-password-123');
    expect(JSON.stringify(audit.items)).not.toContain('a-long-password-1');
  });
});

describe('GET /api/v1/logs', () => {
  it('searches text literally: % and _ and quotes match only themselves', async () => {
    const messages = [
      '100% charged',
      '100 charged',
      'servo_1 hot',
      'servo 1 hot',
      `it's "quoted"`,
      'its quoted',
    ];
    await seed(messages.length, (i) => ({ message: messages[i]!, source: 'search-test' }));
    const search = async (q: string) =>
      (await list(`q=${encodeURIComponent(q)}&category=system`)).items.map((e) => e.message);
    expect(await search('%')).toEqual(['100% charged']);
    expect(await search('o_1')).toEqual(['servo_1 hot']);
    expect(await search(`'s "quo`)).toEqual([`it's "quoted"`]);
    expect(await search('SERVO')).toEqual(['servo_1 hot', 'servo 1 hot']);
    expect(await search('\\')).toEqual([]);
  });

  it('pages newest first with a cursor: every entry once, in order', async () => {
    await seed(25, (i) => ({ message: `page entry ${i}`, source: 'paging' }), 3600_000);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`q=page%20entry&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((e) => e.message));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `page entry ${i}`));
  });

  it('refuses a bad cursor, an unknown level, an inverted range and a NUL in the search with 400 naming the field', async () => {
    for (const [query, field] of [
      ['q=a%00b', 'querystring.q'],
      ['cursor=bm90LWEtY3Vyc29y', 'querystring.cursor'],
      ['level=LOUD', 'querystring.level'],
      ['category=robot,nonsense', 'querystring.category.1'],
      ['from=2026-01-02&to=2026-01-01', 'querystring.from'],
    ] as const) {
      // The export takes the list's filters (not its cursor).
      for (const path of query.startsWith('cursor')
        ? ['/api/v1/logs']
        : ['/api/v1/logs', '/api/v1/logs/export']) {
        const res = await t.api(`${path}?${query}`);
        expect(res.status, `${path}?${query}`).toBe(400);
        const body = await res.json();
        expect(body.error.code).toBe('validation_error');
        expect(body.error.details.fields.map((f: { field: string }) => f.field)).toContain(field);
      }
    }
  });
});

describe('GET /api/v1/logs/stats', () => {
  it('counts by level, category and robot over the range', async () => {
    const from = new Date(Date.now() - 10 * 86_400_000 - 60_000).toISOString();
    const to = new Date(Date.now() - 10 * 86_400_000 + 60_000).toISOString();
    await seed(
      6,
      (i) => ({
        level: i < 4 ? 'INFO' : 'ERROR',
        category: i % 2 ? 'command' : 'alert',
        robot_id: i < 3 ? 'stats_a' : null,
      }),
      10 * 86_400_000,
    );
    const res = await t.api(`/api/v1/logs/stats?from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      from,
      to,
      total: 6,
      by_level: { INFO: 4, ERROR: 2 },
      by_category: { alert: 3, command: 3 },
      by_robot: [
        { robot_id: null, count: 3 },
        { robot_id: 'stats_a', count: 3 },
      ],
    });
  });
});

describe('GET /api/v1/logs/export', () => {
  const day = 20 * 86_400_000;
  const from = () => new Date(Date.now() - day - 3600_000).toISOString();
  const to = () => new Date(Date.now() - day + 60_000).toISOString();
  const HOSTILE = [
    "=cmd|' /C calc'!A0",
    '+SUM(1)',
    '-2+3',
    '@A1',
    'line one\nline two\r\u0007bell',
    'a, "b"',
  ];
  const ROWS = 3000;

  beforeAll(async () => {
    await seed(
      ROWS,
      (i) => ({
        message: i < HOSTILE.length ? HOSTILE[i]! : `export row ${i}`,
        source: 'export',
        robot_id: 'export_bot',
        details: { i },
      }),
      day,
    );
  });

  it('streams a CSV of thousands of rows with the range in the file name, formulas neutralised', async () => {
    const res = await t.api(`/api/v1/logs/export?format=csv&robot_id=export_bot&from=${from()}&to=${to()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    // Streamed: no length known up front, sent in chunks.
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="tonypi-logs_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.csv"$/,
    );
    const text = await res.text();
    const lines = text.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('id,timestamp,level,category,robot_id,source,message,details');
    expect(lines).toHaveLength(ROWS + 1);
    const messages = lines.slice(1, 1 + HOSTILE.length).map((l) => l.split(',').slice(6).join(','));
    expect(messages[0]).toBe(`'=cmd|' /C calc'!A0,"{""i"": 0}"`);
    expect(messages[1]).toBe(`'+SUM(1),"{""i"": 1}"`);
    expect(messages[2]).toBe(`'-2+3,"{""i"": 2}"`);
    expect(messages[3]).toBe(`'@A1,"{""i"": 3}"`);
    // Line breaks become spaces; other control characters were replaced by U+FFFD when they were written.
    expect(messages[4]).toBe(`line one line two\uFFFD\uFFFDbell,"{""i"": 4}"`);
    expect(messages[5]).toBe(`"a, ""b""","{""i"": 5}"`);
    // No control character but the line ends' CR LF.
    expect([...text].filter((ch) => ch < ' ' && ch !== '\r' && ch !== '\n')).toEqual([]);
  });

  it('streams NDJSON, one entry per line, newest first', async () => {
    const res = await t.api(`/api/v1/logs/export?format=json&robot_id=export_bot&from=${from()}&to=${to()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-disposition')).toMatch(/\.ndjson"$/);
    const lines = (await res.text()).split('\n').filter(Boolean);
    expect(lines).toHaveLength(ROWS);
    const entries = lines.map((l) => JSON.parse(l) as Entry);
    expect(entries[0]).toMatchObject({ message: HOSTILE[0], robot_id: 'export_bot', details: { i: 0 } });
    expect(entries.at(-1)?.message).toBe(`export row ${ROWS - 1}`);
    const times = entries.map((e) => Date.parse(e.timestamp));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(new Set(entries.map((e) => e.id)).size).toBe(ROWS);
  });
});

describe('retention (LOG_RETENTION_DAYS, 30 by default)', () => {
  it('deletes entries older than the retention and keeps the rest', async () => {
    await seed(3, (i) => ({ message: `ancient ${i}`, source: 'retention' }), 31 * 86_400_000);
    await seed(2, (i) => ({ message: `recent ${i}`, source: 'retention' }), 29 * 86_400_000);
    const window = `from=40d&q=${encodeURIComponent('ent ')}`;
    expect((await list(window)).items.map((e) => e.message).sort()).toEqual(
      ['ancient 0', 'ancient 1', 'ancient 2', 'recent 0', 'recent 1'].sort(),
    );
    expect(await logs.prune()).toBeGreaterThanOrEqual(3);
    expect((await list(window)).items.map((e) => e.message).sort()).toEqual(['recent 0', 'recent 1']);
  });
});
