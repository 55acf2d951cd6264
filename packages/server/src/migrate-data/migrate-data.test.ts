import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from './args';
import { chooseCheckpoint, newCheckpoint } from './checkpoint';
import { stderrProgress } from './progress';
import { planCopy, type TableInfo } from './relational-schema';
import { secretsAdvice } from './secrets-advice';
import { compareTotals, type FieldTotals } from './telemetry-verify';

const PG = 'postgres://u:p@db:5432/fleet';
const INFLUX = 'influx://u:p@influx:8086/?db=fleet';

describe('parseArgs', () => {
  it('reads the flags, in both spellings, with defaults', () => {
    expect(parseArgs(['--data-dir', '/d', '--to-database', PG, `--to-telemetry=${INFLUX}`])).toEqual({
      dataDir: '/d',
      toDatabase: PG,
      toTelemetry: INFLUX,
      restart: false,
      batchSize: 5000,
      help: false,
    });
    const a = parseArgs(['--to-database', PG, '--to-telemetry', INFLUX, '--restart', '--batch-size', '10'], {
      DATA_DIR: '/env',
    });
    expect([a.dataDir, a.restart, a.batchSize]).toEqual(['/env', true, 10]);
    expect(parseArgs(['--to-database', PG, '--to-telemetry', INFLUX]).dataDir).toBe('./data');
    expect(parseArgs(['--help']).help).toBe(true);
  });

  it.each([
    [[], '--to-database postgres://… is required'],
    [['--to-database', PG], '--to-telemetry influx://… is required'],
    [['--to-database'], '--to-database needs a value'],
    [['--to-database', '--restart'], '--to-database needs a value'],
    [['--frobnicate'], 'unknown flag --frobnicate'],
    [['stray'], 'unexpected argument "stray"'],
    [['--restart=yes'], '--restart takes no value'],
    [['--to-database', PG, '--to-database', PG], '--to-database is given twice'],
    [
      ['--to-database', 'mysql://x', '--to-telemetry', INFLUX],
      '--to-database must start with postgres:// or postgresql://, not mysql://',
    ],
    [
      ['--to-database', PG, '--to-telemetry', 'http://influx:8086'],
      '--to-telemetry must start with influx:// or influxs://, not http://',
    ],
    [
      ['--to-database', 'not a url', '--to-telemetry', INFLUX],
      '--to-database is not a URL (expected postgres://…)',
    ],
    [
      ['--to-database', PG, '--to-telemetry', INFLUX, '--batch-size', '0'],
      '--batch-size must be a whole number from 1 to 100000, not 0',
    ],
    [['--to-database', PG, '--to-telemetry', INFLUX, '--data-dir='], '--data-dir must not be empty'],
  ])('%j: %s', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new UsageError(message));
  });
});

describe('chooseCheckpoint', () => {
  const target = { database: 'postgres://u:***@db/fleet', telemetry: 'influx://u:***@influx/?db=fleet' };
  const now = new Date('2026-12-01T00:00:00Z');

  it('resumes a checkpoint of the same targets, and starts over otherwise', () => {
    const saved = { ...newCheckpoint(target), tables: { robots: { lastKey: [3], done: false, rows: 3 } } };
    expect(chooseCheckpoint(saved, target, false, now)).toEqual({ checkpoint: saved, resumed: true });
    expect(chooseCheckpoint(undefined, target, false, now)).toEqual({
      checkpoint: newCheckpoint(target, now),
      resumed: false,
    });
    expect(chooseCheckpoint(saved, target, true, now).ignored).toBe('--restart');
    expect(chooseCheckpoint(null, target, false, now).ignored).toBe('unreadable checkpoint');
    expect(chooseCheckpoint({ ...saved, version: 99 }, target, false, now).resumed).toBe(false);
    const other = chooseCheckpoint(saved, { ...target, database: 'postgres://other/db' }, false, now);
    expect(other.resumed).toBe(false);
    expect(other.ignored).toContain('it was for postgres://u:***@db/fleet');
  });
});

describe('planCopy', () => {
  const table = (name: string, fks: [string, string, boolean][] = []): TableInfo => ({
    name,
    columns: ['id'],
    primaryKey: ['id'],
    timeColumns: [],
    hasBytes: false,
    foreignKeys: fks.map(([column, references, nullable]) => ({ columns: [column], references, nullable })),
    sequences: [],
  });

  it('puts parents first and breaks a cycle at a nullable foreign key', () => {
    const plan = planCopy([
      table('alerts', [['robot_id', 'robots', false]]),
      table('robots'),
      table('reports', [['schedule_id', 'report_schedules', true]]),
      table('report_schedules', [['last_report_id', 'reports', true]]),
      table('tree', [['parent_id', 'tree', true]]),
    ]);
    const order = plan.order.map((t) => t.name);
    expect(order.indexOf('robots')).toBeLessThan(order.indexOf('alerts'));
    expect(order).toHaveLength(5);
    expect(Object.fromEntries(plan.deferred)).toEqual({
      report_schedules: ['last_report_id'],
      tree: ['parent_id'],
    });
  });

  it('refuses a cycle of NOT NULL foreign keys', () => {
    expect(() => planCopy([table('a', [['b_id', 'b', false]]), table('b', [['a_id', 'a', false]])])).toThrow(
      /Cannot order a: its NOT NULL foreign key into b is part of a cycle/,
    );
  });
});

describe('compareTotals', () => {
  const totals = (entries: [string, string, number, number][]): FieldTotals => {
    const t: FieldTotals = new Map();
    for (const [m, f, count, sum] of entries) {
      if (!t.has(m)) t.set(m, new Map());
      t.get(m)!.set(f, { count, sum });
    }
    return t;
  };

  it('names every field whose count or sum differs, tolerating float rounding', () => {
    const a = totals([
      ['battery', 'voltage_v', 10, 110.1],
      ['servos', 'position', 5, 2500],
      ['servos', 'load_percent', 2, 3],
    ]);
    const b = totals([
      ['battery', 'voltage_v', 10, 110.10000000000001],
      ['servos', 'position', 4, 2000],
      ['servos', 'wobble', 1, 1],
    ]);
    expect(compareTotals('raw', a, b)).toEqual([
      'raw servos.position: 5 values in DuckDB, 4 in InfluxDB',
      'raw servos.load_percent: 2 values in DuckDB, 0 in InfluxDB',
      'raw servos.wobble: 1 values in InfluxDB, none in DuckDB',
    ]);
    expect(compareTotals('raw', a, a)).toEqual([]);
    // Values that shared a series and millisecond are one point in InfluxDB: counted once, sum not compared.
    const dup = new Map([['battery', new Map([['percent', { count: 4, sum: 300, duplicates: 1 }]])]]);
    expect(compareTotals('raw', dup, totals([['battery', 'percent', 4, 280]]))).toEqual([]);
  });
});

describe('stderrProgress', () => {
  it('prints at most once a second while running, always when done, with the rate since the start', () => {
    const out: string[] = [];
    let t = 0;
    const p = stderrProgress(
      (line) => out.push(line),
      () => t,
    );
    p.start('alerts', 1000);
    t = 500;
    p.update('alerts', 2000, 10_000, 'rows');
    t = 1500;
    p.update('alerts', 3000, 10_000, 'rows');
    t = 1600;
    p.update('alerts', 4000, 10_000, 'rows');
    t = 2000;
    p.finish('alerts', 10_000, 10_000, 'rows');
    p.finish('robots', 0, 0, 'rows');
    expect(out).toEqual([
      'alerts: 3,000 / 10,000 rows (30 %), 1,333 rows/s\n',
      'alerts: 10,000 / 10,000 rows (100 %), 4,500 rows/s, done\n',
      'robots: 0 / 0 rows, done\n',
    ]);
  });
});

describe('secretsAdvice', () => {
  it('names the variable of every secret, reads files by path, and never shows a value', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tonypi-secrets-'));
    try {
      await mkdir(path.join(dir, 'secrets'));
      await writeFile(path.join(dir, 'secrets', 'jwt-secret'), 'super-secret-value-that-is-long-enough\n');
      const lines = secretsAdvice(dir).join('\n');
      expect(lines).toContain(`JWT_SECRET="$(cat ${path.join(dir, 'secrets', 'jwt-secret')})"`);
      expect(lines).toMatch(/ROBOT_SECRET_KEY: no robot-secret-key in .*given it in its environment/);
      expect(lines).toContain('NOTIFICATION_SECRET_KEY: no notification-key');
      expect(lines).toContain('SECRETS_KEY: no secrets-key');
      expect(lines).not.toContain('super-secret-value');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
