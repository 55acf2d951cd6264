import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeDatabaseContract } from './database.contract';
import { openDatabase } from './open-database';
import { PGliteDatabase } from './pglite-database';
import { openTestPGlite } from './test-databases';

describeDatabaseContract(openTestPGlite);

describe('PGliteDatabase on disk', () => {
  const dirs: string[] = [];
  const open: PGliteDatabase[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((db) => db.close()));
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'tonypi-pglite-'));
    dirs.push(dir);
    return dir;
  }

  it('keeps data across a close and reopen, releasing its lock in between', async () => {
    const dir = join(await tempDir(), 'pg');
    const first = await PGliteDatabase.open({ dataDir: dir });
    await first.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept');");
    await first.close();
    await expect(readFile(`${dir}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
    const second = await PGliteDatabase.open({ dataDir: dir });
    open.push(second);
    expect((await second.query('SELECT v FROM t')).rows).toEqual([{ v: 'kept' }]);
  });

  it('creates a first database from the shipped template, not with initdb, and it keeps what is written', async () => {
    const dir = join(await tempDir(), 'pg');
    const infos: string[] = [];
    const logger = { info: (_obj: object, msg: string) => infos.push(msg), warn: () => undefined };
    const first = await PGliteDatabase.open({ dataDir: dir, logger });
    await first.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept');");
    expect((await first.query<{ v: string }>("SELECT current_setting('shared_buffers') v")).rows).toEqual([
      { v: '16MB' },
    ]);
    await first.close();
    expect(infos).toEqual([
      'Creating the embedded database from its template (the first start takes a few seconds)',
    ]);
    const second = await PGliteDatabase.open({ dataDir: dir, logger });
    open.push(second);
    expect((await second.query('SELECT v FROM t')).rows).toEqual([{ v: 'kept' }]);
    expect(infos).toHaveLength(1);
  });

  it('refuses a directory another open database holds, naming it and the way out', async () => {
    const dir = join(await tempDir(), 'pg');
    open.push(await PGliteDatabase.open({ dataDir: dir }));
    const second = PGliteDatabase.open({ dataDir: dir });
    await expect(second).rejects.toThrow(
      `The embedded database in ${dir} is in use by process ${process.pid}`,
    );
    await expect(second).rejects.toThrow(`delete ${dir}.lock`);
  });

  it('takes over the lock of a server that was killed, with a warning naming its process', async () => {
    const dir = join(await tempDir(), 'pg');
    const killed = 2 ** 22 + 54321;
    await writeFile(`${dir}.lock`, JSON.stringify({ pid: killed, hostname: hostname() }));
    const warnings: Array<{ obj: object; msg: string }> = [];
    const logger = { info: () => undefined, warn: (obj: object, msg: string) => warnings.push({ obj, msg }) };
    const db = await PGliteDatabase.open({ dataDir: dir, logger });
    open.push(db);
    await db.ping();
    expect(warnings).toEqual([
      {
        obj: { lock: `${dir}.lock`, stale_pid: killed },
        msg: expect.stringContaining(`lock left by process ${killed}, which exited without a clean shutdown`),
      },
    ]);
    expect(JSON.parse(await readFile(`${dir}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('explains a damaged directory: which one and what to do', async () => {
    const dir = join(await tempDir(), 'pg');
    const db = await PGliteDatabase.open({ dataDir: dir });
    await db.close();
    await writeFile(join(dir, 'global', 'pg_control'), 'garbage');
    const reopened = PGliteDatabase.open({ dataDir: dir });
    await expect(reopened).rejects.toThrow(`Could not open the embedded database in ${dir}`);
    await expect(reopened).rejects.toThrow(`mv ${dir} ${dir}.broken`);
    await expect(readFile(`${dir}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('openDatabase', () => {
  it('opens the embedded engine in DATA_DIR/pg when no URL is set', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tonypi-data-'));
    try {
      const db = await openDatabase({ dataDir });
      try {
        expect(db.kind).toBe('pglite');
        await db.ping();
        await expect(readFile(join(dataDir, 'pg', 'PG_VERSION'), 'utf8')).resolves.toMatch(/^\d+/);
      } finally {
        await db.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('PGliteDatabase.urgent (statements that must not wait behind others)', () => {
  it('runs an urgent statement before the statements already waiting, and every one of them after', async () => {
    const db = await openTestPGlite();
    const order: string[] = [];
    const normal = Array.from({ length: 5 }, (_, i) =>
      db.query<{ v: number }>('SELECT $1::int AS v', [i]).then((r) => order.push(`normal ${r.rows[0]!.v}`)),
    );
    const urgent = db.urgent
      .query<{ v: string }>("SELECT 'stop' AS v")
      .then((r) => order.push(`urgent ${r.rows[0]!.v}`));
    await Promise.all([...normal, urgent]);
    // The first normal statement was already running; the urgent one goes next, the rest keep their order.
    expect(order).toEqual(['normal 0', 'urgent stop', 'normal 1', 'normal 2', 'normal 3', 'normal 4']);
    await db.close();
  });

  it('gives the event loop a turn during a long run of statements', async () => {
    const db = await openTestPGlite();
    if (!(db instanceof PGliteDatabase)) throw new Error('openTestPGlite opens the embedded engine');
    let timerRan = false;
    let timerRanBeforeEnd = false;
    setImmediate(() => {
      timerRan = true;
    });
    const run = Array.from({ length: 200 }, () => db.query('SELECT pg_sleep(0.0002)'));
    void Promise.all(run).then(() => {
      timerRanBeforeEnd = timerRan;
    });
    await Promise.all(run);
    expect(timerRanBeforeEnd).toBe(true);
    expect(db.counters.yields).toBeGreaterThan(0);
    await db.close();
  });

  it('reports an urgent statement that fails to its caller and goes on with the others', async () => {
    const db = await openTestPGlite();
    const bad = db.urgent.query('SELECT * FROM no_such_table');
    const good = db.query<{ v: number }>('SELECT 1 AS v');
    await expect(bad).rejects.toThrow('no_such_table');
    expect((await good).rows).toEqual([{ v: 1 }]);
    await db.close();
  });
});
