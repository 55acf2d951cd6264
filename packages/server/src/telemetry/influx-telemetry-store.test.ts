import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { TelemetryPoint } from '@tonypi/contracts';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../core/event-bus';
import { IngestPipeline } from '../ingest/ingest-pipeline';
import { InfluxTelemetryStore, influxOptionsFromUrl } from './influx-telemetry-store';
import { PartialAppendError, TelemetryStoreUnavailableError } from './telemetry-store';

/** What a fake /write answers next: a status and body, or `drop` (the connection is cut, no answer). */
type Answer = { status: number; body?: string } | 'drop';

interface WriteSeen {
  db: string;
  precision: string | null;
  gzip: boolean;
  auth: string | undefined;
  lines: string[];
}

/**
 * An InfluxDB as far as the store's writes need one, on 127.0.0.1: /ping (1.6 by default; `flavour` makes it
 * another), the queries init and maintenance make (no data, but `count(*)` finds some), and /write answering
 * from a script (204 once the script is empty). Every write and query it sees is recorded.
 */
class FakeInflux {
  readonly writes: WriteSeen[] = [];
  readonly queries: { method: string; q: string }[] = [];
  /** Requests that carried an `rp` parameter (the store never sends one). */
  withRp = 0;
  flavour = { status: 204, build: 'OSS', version: '1.6.7~rc0' };
  readonly script: Answer[] = [];
  /** Answers a write the script does not (default: 204). */
  decide: (w: WriteSeen) => Answer = () => ({ status: 204 });
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      void this.answer(req).then((a) => {
        if (a === 'drop') {
          req.socket.destroy();
          return;
        }
        res.writeHead(a.status, {
          'Content-Type': 'application/json',
          'X-Influxdb-Build': this.flavour.build,
          'X-Influxdb-Version': this.flavour.version,
        });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The percents of the battery lines written, in order. */
  percents(): number[] {
    return this.writes.flatMap((w) => w.lines.map((l) => Number(/percent=([\d.]+)/.exec(l)?.[1])));
  }

  private async answer(req: IncomingMessage): Promise<Answer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.has('rp') || new URLSearchParams(body.toString()).has('rp')) this.withRp++;
    if (url.pathname === '/ping')
      return { status: this.flavour.status, body: this.flavour.status === 200 ? '{}' : '' };
    if (url.pathname === '/query') {
      const q = url.searchParams.get('q') ?? new URLSearchParams(body.toString()).get('q') ?? '';
      this.queries.push({ method: req.method ?? '', q: q.replace(/\s+/g, ' ') });
      if (/^SELECT count\(\*\)/.test(q)) {
        const series = [{ name: 'battery', columns: ['time', 'count_percent'], values: [[0, 5]] }];
        return { status: 200, body: JSON.stringify({ results: [{ series }] }) };
      }
      if (/^SHOW DATABASES/.test(q)) {
        const values = ['t_raw', 't_1m', 't_1h'].map((n) => [n]);
        return {
          status: 200,
          body: JSON.stringify({ results: [{ series: [{ name: 'databases', columns: ['name'], values }] }] }),
        };
      }
      return { status: 200, body: '{"results":[{"statement_id":0}]}' };
    }
    const gzip = req.headers['content-encoding'] === 'gzip';
    const text = (gzip ? gunzipSync(body) : body).toString();
    const seen: WriteSeen = {
      db: url.searchParams.get('db') ?? '',
      precision: url.searchParams.get('precision'),
      gzip,
      auth: req.headers.authorization,
      lines: text.split('\n'),
    };
    this.writes.push(seen);
    return this.script.shift() ?? this.decide(seen);
  }
}

function battery(percent: number, robot_id = 'r1'): TelemetryPoint {
  return { measurement: 'battery', robot_id, ts: 1_700_000_000_000 + percent, fields: { percent } };
}

const fakes: FakeInflux[] = [];
const stores: InfluxTelemetryStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const f of fakes.splice(0)) await f.stop();
});

async function setup(
  flavour?: FakeInflux['flavour'],
): Promise<{ fake: FakeInflux; store: InfluxTelemetryStore }> {
  const fake = new FakeInflux();
  if (flavour) fake.flavour = flavour;
  await fake.start();
  fakes.push(fake);
  const store = new InfluxTelemetryStore({
    ...influxOptionsFromUrl(`influx://fleet:s3cret@127.0.0.1:${fake.port}/?db=t`),
    writer: { retryDelaysMs: [10, 20], backoffMs: { first: 50, max: 200 } },
  });
  await store.init();
  stores.push(store);
  return { fake, store };
}

describe('influxOptionsFromUrl', () => {
  it('reads credentials, the https form and the database prefix', () => {
    expect(influxOptionsFromUrl('influx://u:p%40ss@db.example:8086/?db=plant')).toMatchObject({
      baseUrl: 'http://db.example:8086',
      username: 'u',
      password: 'p@ss',
      db: 'plant',
    });
    expect(influxOptionsFromUrl('influxs://:token@h/influx/')).toMatchObject({
      baseUrl: 'https://h/influx',
      password: 'token',
      db: 'fleet',
    });
    expect(() => influxOptionsFromUrl('influx://h/?db=a;b')).toThrow(/db=/);
  });
});

describe('InfluxTelemetryStore writes (against a fake InfluxDB)', () => {
  it('writes gzipped lines to <db>_raw at precision=ms with Basic auth', async () => {
    const { fake, store } = await setup();
    await store.append([battery(1), battery(2)]);
    expect(fake.writes).toEqual([
      {
        db: 't_raw',
        precision: 'ms',
        gzip: true,
        auth: `Basic ${Buffer.from('fleet:s3cret').toString('base64')}`,
        lines: ['battery,robot_id=r1 percent=1 1700000000001', 'battery,robot_id=r1 percent=2 1700000000002'],
      },
    ]);
    expect(store.stats()).toMatchObject({ points_written: 2, flushes: 1 });
  });

  it('sends at most 5,000 lines per request, in order', async () => {
    const { fake, store } = await setup();
    await store.append(Array.from({ length: 12_000 }, (_, i) => battery(i)));
    // Two requests are in flight at once, so they may arrive in either order: each holds a run of the
    // batch in order, and together they hold all of it once.
    const first = (w: (typeof fake.writes)[number]) => Number(/percent=([\d.]+)/.exec(w.lines[0] ?? '')?.[1]);
    const runs = [...fake.writes].sort((a, b) => first(a) - first(b));
    expect(runs.map((w) => w.lines.length)).toEqual([5000, 5000, 2000]);
    expect(runs.flatMap((w) => w.lines.map((l) => Number(/percent=([\d.]+)/.exec(l)?.[1])))).toEqual(
      Array.from({ length: 12_000 }, (_, i) => i),
    );
  });

  it('keeps a partial write (1.x 400) as done: not resent, the rejected lines counted', async () => {
    const { fake, store } = await setup();
    fake.script.push({
      status: 400,
      body: '{"error":"partial write: field type conflict: input field \\"percent\\" on measurement \\"battery\\" is type string, already exists as type float dropped=1"}',
    });
    await store.append([battery(1), battery(2)]);
    expect(fake.writes).toHaveLength(1);
    expect(store.writerStats()).toMatchObject({ requests: 1, lines_rejected: 1, lines_written: 1 });
    expect(store.unavailable()).toBeNull();
  });

  it('reads the rejected count of 2.x (422) and 3.x (400 with data) partial writes', async () => {
    const { fake, store } = await setup();
    fake.script.push(
      { status: 422, body: '{"code":"unprocessable entity","message":"partial write: dropped=2"}' },
      {
        status: 400,
        body: '{"error":"partial write of line protocol occurred","data":[{"line_number":1},{"line_number":2},{"line_number":3}]}',
      },
    );
    await store.append([battery(1), battery(2), battery(3)]);
    await store.append([battery(4), battery(5), battery(6)]);
    expect(fake.writes).toHaveLength(2);
    expect(store.writerStats().lines_rejected).toBe(5);
  });

  it('retries a 5xx and succeeds, writing the batch once', async () => {
    const { fake, store } = await setup();
    fake.script.push({ status: 503, body: '{"error":"engine busy"}' });
    await store.append([battery(1), battery(2)]);
    expect(fake.writes).toHaveLength(2);
    expect(store.writerStats()).toMatchObject({ requests: 2, retries: 1, lines_written: 2 });
    expect(store.unavailable()).toBeNull();
  });

  it('does not retry a 4xx that is not a partial write, and says why until a write gets through', async () => {
    const { fake, store } = await setup();
    fake.script.push({ status: 401, body: '{"error":"authorization failed"}' });
    await expect(store.append([battery(1)])).rejects.toBeInstanceOf(TelemetryStoreUnavailableError);
    expect(fake.writes).toHaveLength(1);
    expect(store.unavailable()).toMatch(/401.*authorization failed/);
    // Within the backoff: refused at once, without a request.
    await expect(store.append([battery(1)])).rejects.toThrow(/next try/);
    expect(fake.writes).toHaveLength(1);
    store.retryNow();
    await store.append([battery(1)]);
    expect(store.unavailable()).toBeNull();
  });

  it('tells which points are stored when a later chunk fails (PartialAppendError)', async () => {
    const { fake, store } = await setup();
    // The chunk from point 5000 on never gets an answer; the first one does (the two are in flight at once).
    fake.decide = (w) => (w.lines[0]?.includes('percent=5000 ') ? 'drop' : { status: 204 });
    const points = Array.from({ length: 7000 }, (_, i) => battery(i));
    const err = await store.append(points).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialAppendError);
    expect((err as PartialAppendError).stored).toBe(5000);
    expect(store.unavailable()).toMatch(/InfluxDB write failed/);
  });

  it('counts nothing as stored when the first chunk fails, even if a later one got through', async () => {
    const { fake, store } = await setup();
    fake.decide = (w) => (w.lines[0]?.includes('percent=0 ') ? 'drop' : { status: 204 });
    const points = Array.from({ length: 7000 }, (_, i) => battery(i));
    const err = await store.append(points).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelemetryStoreUnavailableError);
    expect(err).not.toBeInstanceOf(PartialAppendError);
    expect(store.stats().points_written).toBe(0);
    fake.decide = () => ({ status: 204 });
    store.retryNow();
    await store.append(points);
    expect(store.stats().points_written).toBe(7000);
  });

  it('halves a batch the server finds too large (413)', async () => {
    const { fake, store } = await setup();
    fake.script.push({ status: 413, body: '{"error":"Request Entity Too Large"}' });
    await store.append([battery(1), battery(2), battery(3)]);
    expect(fake.writes.map((w) => w.lines.length)).toEqual([3, 2, 1]);
    expect(fake.percents().slice(3)).toEqual([1, 2, 3]);
  });

  it('refuses points whose robot id cannot be written, storing the rest', async () => {
    const { fake, store } = await setup();
    await store.append([battery(1, 'bad\\id'), battery(2)]);
    expect(fake.percents()).toEqual([2]);
    expect(store.stats()).toMatchObject({ points_rejected: 1 });
  });

  it('fails reads at once while InfluxDB is unreachable', async () => {
    const { fake, store } = await setup();
    await fake.stop();
    await expect(store.append([battery(1)])).rejects.toBeInstanceOf(TelemetryStoreUnavailableError);
    const started = Date.now();
    await expect(store.latest('r1')).rejects.toBeInstanceOf(TelemetryStoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(50);
  });
});

describe('InfluxTelemetryStore on each flavour (told apart by /ping)', () => {
  const DAY = 24 * 3_600_000;
  const policy = { raw_ms: DAY, minute_ms: 2 * DAY, hour_ms: 3 * DAY };
  const now = Date.UTC(2024, 0, 10);
  const statements = (fake: FakeInflux, re: RegExp) => fake.queries.filter((x) => re.test(x.q));

  it('1.x: creates the databases at init and deletes by time, by POST', async () => {
    const { fake, store } = await setup();
    expect(store.describe()).toBe('1.x 1.6.7~rc0');
    expect(statements(fake, /^CREATE DATABASE/).map((x) => [x.method, x.q])).toEqual([
      ['POST', 'CREATE DATABASE "t_raw"'],
      ['POST', 'CREATE DATABASE "t_1m"'],
      ['POST', 'CREATE DATABASE "t_1h"'],
    ]);
    await store.maintain(now, policy);
    const deletes = statements(fake, /^DELETE/);
    expect(deletes.map((x) => x.method)).toEqual(['POST', 'POST', 'POST']);
    expect(deletes[0]?.q).toMatch(/^DELETE WHERE time < \d+ms$/);
  });

  it('2.x: leaves the buckets to the operator, still deletes by time', async () => {
    const { fake, store } = await setup({ status: 204, build: 'OSS', version: 'v2.7.11' });
    expect(store.describe()).toBe('2.x v2.7.11');
    expect(statements(fake, /^CREATE/)).toEqual([]);
    await store.maintain(now, policy);
    expect(statements(fake, /^DELETE/)).toHaveLength(3);
  });

  it("3.x: creates nothing and deletes nothing (the databases' retention periods do)", async () => {
    const { fake, store } = await setup({ status: 200, build: 'Core', version: '3.6.0' });
    expect(store.describe()).toBe('3.x 3.6.0');
    await store.maintain(now, policy);
    expect(statements(fake, /^(CREATE|DELETE|DROP)/)).toEqual([]);
    // Every statement the store sent is one statement with no `rp=` and no qualified FROM.
    expect(fake.withRp).toBe(0);
    for (const { q } of fake.queries) {
      expect(q).not.toMatch(/;/);
      expect(q).not.toMatch(/FROM "[^"]+"\."/);
    }
  });
});

describe('InfluxTelemetryStore behind the ingest: InfluxDB down, then back', () => {
  it('keeps the points in the ingest queue, says why in health, and drains them in order', async () => {
    const { fake, store } = await setup();
    const logger = pino({ level: 'silent' });
    const pipeline = new IngestPipeline({
      store,
      admission: { admit: () => undefined },
      events: new EventBus({ logger }),
      logger,
      queueLimit: 10_000,
      clockSkewMaxMs: 1e15,
      flushIntervalMs: 10,
    });
    pipeline.start();
    const send = (percent: number) =>
      pipeline.handle('tonypi/r1/battery', Buffer.from(JSON.stringify({ ts: Date.now(), percent })));
    try {
      send(0);
      await waitUntil(() => fake.percents().length === 1);
      const port = fake.port;
      await fake.stop();
      for (let i = 1; i <= 50; i++) send(i);
      await waitUntil(() => pipeline.stats().store_ok === false);
      expect(pipeline.stats().store_error).toMatch(/InfluxDB/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(pipeline.stats().queue_points).toBe(50);
      for (let i = 51; i <= 100; i++) send(i);

      await fake.start(port);
      await waitUntil(() => fake.percents().length === 101, 5000);
      expect(fake.percents()).toEqual(Array.from({ length: 101 }, (_, i) => i));
      await waitUntil(() => pipeline.stats().store_ok);
      expect(pipeline.stats()).toMatchObject({ points_stored: 101, points_shed: 0, queue_points: 0 });
    } finally {
      await pipeline.stop();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
