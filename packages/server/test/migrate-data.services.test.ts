import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TelemetryPoint } from '@tonypi/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate';
import { PostgresDatabase } from '../src/db/postgres-database';
import { checkpointPath } from '../src/migrate-data/checkpoint';
import { migrateData } from '../src/migrate-data/migrate-data';
import { silentProgress } from '../src/migrate-data/progress';
import { InfluxHttp } from '../src/telemetry/influx-http';
import { tierDatabases } from '../src/telemetry/influx-schema';
import { insertAlerts } from './helpers/alert-rows';
import { startTestServer, type TestServer } from './helpers/test-server';

/**
 * `migrate-data` on a data dir a real embedded server filled (robots, users, alerts, telemetry of several
 * measurements with tags and an extra field, roll-ups past raw retention), into the services suite's
 * PostgreSQL (TEST_DATABASE_URL) and InfluxDB (TEST_INFLUX_URL; skipped when unset, like the InfluxDB store's
 * suite). Then a server on the targets must show the same robots, alerts and history.
 */
const databaseUrl = process.env.TEST_DATABASE_URL;
const influxUrl = process.env.TEST_INFLUX_URL;
const ROOT = path.resolve(import.meta.dirname, '../../..');
const HOUR = 3_600_000;
const ROBOTS = ['tonypi_01', 'tonypi_02'];

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface Targets {
  database: string;
  telemetry: string;
  influxDb: string;
  drop(): Promise<void>;
}

/** A new empty PostgreSQL database and InfluxDB prefix; `drop` removes both. */
async function freshTargets(): Promise<Targets> {
  const name = `tonypi_mig_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl!);
  url.pathname = `/${name}`;
  const influx = new URL(influxUrl!);
  return {
    database: url.toString(),
    telemetry: `influx://${influx.host}/?db=${name}`,
    influxDb: name,
    drop: async () => {
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      const http = new InfluxHttp({ baseUrl: influxUrl! });
      for (const db of Object.values(tierDatabases(name))) await http.query(db, `DROP DATABASE "${db}"`);
    },
  };
}

/** Battery and servos (3 servos, with an unknown field) every 30 s for `hours` from `from`, for both robots. */
function points(from: number, hours: number): TelemetryPoint[] {
  const out: TelemetryPoint[] = [];
  for (let ts = from; ts < from + hours * HOUR; ts += 30_000) {
    for (const [r, robot_id] of ROBOTS.entries()) {
      const i = (ts - from) / 30_000;
      out.push({
        measurement: 'battery',
        robot_id,
        ts,
        fields: { percent: 90 - (i % 50), voltage_v: 11 + r + (i % 7) / 10 },
      });
      for (const servo of ['1', '2', '3']) {
        out.push({
          measurement: 'servos',
          robot_id,
          tags: { servo_id: servo },
          ts,
          fields: { position: 500 + (i % 100), temperature_c: 40 + (i % 9), wobble_index: i % 3 },
        });
      }
    }
  }
  return out;
}

interface Snapshot {
  robots: unknown;
  alerts: unknown;
  history: Record<string, number>;
}

/** What a user sees: robots, alerts, and per robot and series the number of points over the whole period. */
async function snapshot(t: TestServer, from: number, to: number): Promise<Snapshot> {
  const json = async (p: string) => {
    const res = await t.api(p);
    expect(res.status, p).toBe(200);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const robots = ((await json('/api/v1/robots')).items as { robot_id: string; name: string }[]).map((r) => [
    r.robot_id,
    r.name,
  ]);
  const alerts = ((await json('/api/v1/alerts?limit=100')).items as { id: number; title: string }[]).map(
    (a) => [a.id, a.title],
  );
  const history: Record<string, number> = {};
  for (const robot of ROBOTS) {
    for (const [m, f] of [
      ['battery', 'voltage_v'],
      ['servos', 'temperature_c'],
      ['servos', 'wobble_index'],
    ]) {
      for (const points of [50, 2000]) {
        const body = await json(
          `/api/v1/robots/${robot}/telemetry?measurement=${m}&field=${f}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&points=${points}`,
        );
        for (const s of body.series as {
          field: string;
          tags: Record<string, string>;
          points: { count: number }[];
        }[]) {
          const key = `${robot} ${m}.${s.field} ${JSON.stringify(s.tags)} ${body.resolution}`;
          history[key] = s.points.reduce((a, b) => a + b.count, 0);
        }
      }
    }
  }
  return { robots, alerts, history };
}

/** A loopback port nothing listens on (fetch refuses port 1 itself, before connecting). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'migrate-data', '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe.skipIf(!influxUrl)('migrate-data: embedded → PostgreSQL + InfluxDB', () => {
  if (!databaseUrl) throw new Error('Set TEST_DATABASE_URL (see .ci/run) to run the services suite');
  let dataDir: string;
  let before: Snapshot;
  const now = Date.now();
  const from = Math.floor((now - 3 * 24 * HOUR) / HOUR) * HOUR;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-migrate-'));
    const t = await startTestServer({}, { keepDataDir: dataDir });
    try {
      for (const robot_id of ROBOTS) {
        const res = await t.api('/api/v1/robots', {
          method: 'POST',
          json: { robot_id, name: `Robot ${robot_id}` },
        });
        expect(res.status).toBe(201);
      }
      const user = await t.api('/api/v1/users', {
        method: 'POST',
        json: { username: 'olga', email: 'olga@example.com', role: 'operator' },
      });
      expect(user.status).toBe(201);
      await insertAlerts(t, [
        { robot_id: 'tonypi_01', title: 'Battery low' },
        { robot_id: 'tonypi_02', title: 'Servo hot', severity: 'critical' },
        { robot_id: 'tonypi_01', title: 'Gone', state: 'resolved' },
      ]);
      // The foreign-key cycle (a schedule's last report, a report's schedule) and a bytea column.
      const db = t.server.db;
      const schedule = await db.query<{ id: number }>(
        "INSERT INTO report_schedules (name, report_type, frequency, at_minute) VALUES ('nightly', 'fleet', 'daily', 60) RETURNING id",
      );
      const report = await db.query<{ id: number }>(
        `INSERT INTO reports (title, report_type, from_at, to_at, schedule_id, data)
         VALUES ('Night', 'fleet', now() - interval '1 day', now(), $1, '{"values": [1.5, 2.25]}') RETURNING id`,
        [schedule.rows[0]!.id],
      );
      await db.query('UPDATE report_schedules SET last_report_id = $1', [report.rows[0]!.id]);
      await db.query("INSERT INTO camera_snapshots (robot_id, bytes, size) VALUES ('tonypi_01', $1, 4)", [
        Buffer.from([0xff, 0xd8, 0x00, 0x01]),
      ]);
      // Two old hours (rolled up, then raw deleted by a 2-day raw retention) and one recent hour (raw kept).
      await t.server.store.append(points(from, 2));
      await t.server.store.append(points(now - 2 * HOUR, 1));
      await t.server.store.maintain(now, {
        raw_ms: 2 * 24 * HOUR,
        minute_ms: 90 * 24 * HOUR,
        hour_ms: 730 * 24 * HOUR,
      });
      before = await snapshot(t, from, now);
    } finally {
      await t.close();
    }
  }, 180_000);

  afterAll(async () => {
    for (const c of cleanups) await c();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('copies, resumes after an interruption without duplicates, verifies, and a server on the targets shows the same', async () => {
    const targets = await freshTargets();
    cleanups.push(targets.drop);
    // A target an operator already migrated holds only what the migrations insert: accepted.
    const premigrated = await PostgresDatabase.open({ url: targets.database });
    await migrate(premigrated);
    await premigrated.close();
    // Interrupted twice: inside a table (2 rows a batch), then inside the telemetry.
    const interrupted = (batchSize: number, after: number) => {
      let batches = 0;
      return migrateData({
        dataDir,
        toDatabase: targets.database,
        toTelemetry: targets.telemetry,
        batchSize,
        progress: silentProgress,
        afterBatch: () => {
          if (++batches === after) throw new Error('interrupted');
        },
      });
    };
    await expect(interrupted(2, 5)).rejects.toThrow('interrupted');
    let saved = JSON.parse(await readFile(checkpointPath(dataDir), 'utf8'));
    expect(Object.values(saved.tables).some((s) => !(s as { done: boolean }).done)).toBe(true);
    expect(saved.telemetry).toEqual({});
    await expect(interrupted(200, 20)).rejects.toThrow('interrupted');
    saved = JSON.parse(await readFile(checkpointPath(dataDir), 'utf8'));
    expect(Object.values(saved.tables).every((s) => (s as { done: boolean }).done)).toBe(true);
    expect(Object.values(saved.telemetry).some((s) => !(s as { done: boolean }).done)).toBe(true);
    // As if the last saves were lost (killed between a batch's commit and its checkpoint): a table and a
    // measurement are copied again from the start, and nothing is doubled.
    saved.tables.alerts = { lastKey: null, done: false, rows: 0 };
    saved.telemetry.raw_battery = { lastTs: null, done: false, rows: 0 };
    await writeFile(checkpointPath(dataDir), JSON.stringify(saved));

    const result = await migrateData({
      dataDir,
      toDatabase: targets.database,
      toTelemetry: targets.telemetry,
      batchSize: 200,
      progress: silentProgress,
    });
    expect(result.resumed).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.tables.robots).toBe(2);
    expect(result.tables.alerts).toBe(3);
    expect(result.telemetry.raw_servos).toBeGreaterThan(0);
    expect(result.telemetry.rollup_1m).toBeGreaterThan(0);
    expect(result.secrets.join('\n')).toContain('JWT_SECRET');
    const jwt = (await readFile(path.join(dataDir, 'secrets', 'jwt-secret'), 'utf8')).trim();
    expect(result.secrets.join('\n')).not.toContain(jwt);

    // A second run finds everything done and verifies again.
    const again = await migrateData({
      dataDir,
      toDatabase: targets.database,
      toTelemetry: targets.telemetry,
      progress: silentProgress,
    });
    expect(again.problems).toEqual([]);

    const serverDir = await mkdtemp(path.join(tmpdir(), 'tonypi-migrated-'));
    const t = await startTestServer(
      { DATABASE_URL: targets.database, TELEMETRY_URL: targets.telemetry },
      { keepDataDir: serverDir },
    );
    try {
      const after = await snapshot(t, from, now);
      expect(after.robots).toEqual(before.robots);
      expect(after.alerts).toEqual(before.alerts);
      expect(Object.keys(after.history).length).toBeGreaterThan(0);
      expect(after.history).toEqual(before.history);
      const links = await t.server.db.query<{ last_report_id: number; schedule_id: number; hex: string }>(
        `SELECT s.last_report_id, r.schedule_id, (SELECT encode(bytes, 'hex') FROM camera_snapshots) AS hex
         FROM report_schedules s JOIN reports r ON r.id = s.last_report_id`,
      );
      expect(links.rows).toEqual([{ last_report_id: 1, schedule_id: 1, hex: 'ffd80001' }]);
      // Ids go on from the source's sequences.
      const { rows } = await t.server.db.query<{ id: number }>(
        "INSERT INTO alerts (robot_id, alert_type, severity, title, message) VALUES ('tonypi_01', 'x', 'info', 'new', 'new') RETURNING id",
      );
      expect(rows[0]!.id).toBe(4);
    } finally {
      await t.close();
      await rm(serverDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('runs as `npm run migrate-data`, with progress on stderr and the secrets to set on stdout', async () => {
    const targets = await freshTargets();
    cleanups.push(targets.drop);
    const r = await run([
      '--data-dir',
      dataDir,
      '--to-database',
      targets.database,
      '--to-telemetry',
      targets.telemetry,
      '--restart',
    ]);
    expect(r.stderr).toMatch(/robots: 2 \/ 2 rows \(100 %\), \d[\d,]* rows\/s, done/);
    expect(r.stderr).toMatch(/raw_servos: [\d,]+ \/ [\d,]+ points/);
    expect(r.stdout).toContain('Copied and verified');
    expect(r.stdout).toMatch(/JWT_SECRET="\$\(cat .*jwt-secret\)"/);
    expect(r.code, r.stderr).toBe(0);
    for (const file of ['jwt-secret', 'robot-secret-key', 'notification-key', 'secrets-key']) {
      const secret = (await readFile(path.join(dataDir, 'secrets', file), 'utf8')).trim();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(r.stdout + r.stderr).not.toContain(secret);
    }

    // Something changed on the target: the next run (resumed, nothing left to copy) says what differs.
    const target = new pg.Client({ connectionString: targets.database });
    await target.connect();
    await target.query('DELETE FROM alerts WHERE id = 3');
    await target.query("UPDATE robots SET name = 'renamed' WHERE robot_id = 'tonypi_02'");
    await target.end();
    await new InfluxHttp({ baseUrl: influxUrl! }).query(
      tierDatabases(targets.influxDb).raw,
      `DELETE FROM "battery" WHERE time >= ${now - 2 * HOUR}ms AND time < ${now - HOUR - 30 * 60_000}ms`,
    );
    const differs = await run([
      '--data-dir',
      dataDir,
      '--to-database',
      targets.database,
      '--to-telemetry',
      targets.telemetry,
    ]);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toContain('table alerts: 3 rows in the source, 2 in the target');
    expect(differs.stdout).toMatch(/table robots: same 2 rows but different contents/);
    expect(differs.stdout).toMatch(/raw battery\.voltage_v: 240 values in DuckDB, 1\d\d in InfluxDB/);

    // Telemetry already in the InfluxDB: refused before anything is copied.
    const other = await freshTargets();
    cleanups.push(other.drop);
    const filled = await run([
      '--data-dir',
      dataDir,
      '--to-database',
      other.database,
      '--to-telemetry',
      targets.telemetry,
      '--restart',
    ]);
    expect(filled.code).toBe(1);
    expect(filled.stderr).toMatch(
      /^migrate-data: the target InfluxDB .* already holds telemetry in tonypi_mig_\w+_raw/m,
    );
    const untouched = new pg.Client({ connectionString: other.database });
    await untouched.connect();
    const tables = await untouched.query(
      "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
    );
    await untouched.end();
    expect(tables.rows[0].n).toBe(0);

    // A database that holds this data, without its checkpoint: refused (into an empty InfluxDB prefix).
    const refused = await run([
      '--data-dir',
      dataDir,
      '--to-database',
      targets.database,
      '--to-telemetry',
      other.telemetry,
      '--restart',
    ]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/already holds data \(.*robots: 2 rows/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(2);
  }, 240_000);

  it('fails in one line on bad input: usage (2), no installation, unreachable targets, a running server (1)', async () => {
    const usage = await run(['--to-database', 'mysql://x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--to-telemetry influx://… is required');
    const unknown = await run(['--frobnicate']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      2,
      'migrate-data: unknown flag --frobnicate (--help for usage)',
    ]);

    const port = await closedPort();
    const deadInflux = `influx://127.0.0.1:${port}/`;
    const empty = await mkdtemp(path.join(tmpdir(), 'tonypi-empty-'));
    cleanups.push(() => rm(empty, { recursive: true, force: true }));
    const none = await run([
      '--data-dir',
      empty,
      '--to-database',
      databaseUrl!,
      '--to-telemetry',
      deadInflux,
    ]);
    expect([none.code, none.stderr.trim()]).toEqual([
      1,
      `migrate-data: ${empty} holds no installation: ${empty}/pg is not an embedded database`,
    ]);

    const noPg = await run([
      '--data-dir',
      dataDir,
      '--to-database',
      `postgres://u:secretpw@127.0.0.1:${port}/x`,
      '--to-telemetry',
      deadInflux,
    ]);
    expect(noPg.code).toBe(1);
    expect(noPg.stderr).toMatch(
      /^migrate-data: --to-database: Could not connect to PostgreSQL at .*ECONNREFUSED/,
    );
    expect(noPg.stderr).not.toContain('secretpw');
    const noInflux = await run([
      '--data-dir',
      dataDir,
      '--to-database',
      databaseUrl!,
      '--to-telemetry',
      deadInflux,
    ]);
    expect(noInflux.code).toBe(1);
    expect(noInflux.stderr.trim()).toBe('migrate-data: --to-telemetry: InfluxDB unreachable: ECONNREFUSED');

    const t = await startTestServer({}, { keepDataDir: dataDir });
    try {
      const locked = await run([
        '--data-dir',
        dataDir,
        '--to-database',
        databaseUrl!,
        '--to-telemetry',
        deadInflux,
      ]);
      expect(locked.code).toBe(1);
      expect(locked.stderr.trim()).toMatch(
        /^migrate-data: the data dir is in use by process \d+ on host .* \(a server running on it\?\): stop it first\. If you are sure none runs, delete .*pg\.lock$/,
      );
    } finally {
      await t.server.stop();
    }
  }, 120_000);
});
