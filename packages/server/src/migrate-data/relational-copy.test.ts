import { describe, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { loadMigrations, migrate } from '../db/migrate';
import { openTestPGlite } from '../db/test-databases';
import { type Checkpoint, newCheckpoint } from './checkpoint';
import { silentProgress } from './progress';
import { copySequences, copyTables, fillDeferred, verifyTables } from './relational-copy';
import { planCopy, readTables } from './relational-schema';
import { clearTarget, migrateTarget, TargetNotEmptyError } from './relational-target';

/** The relational copy between two embedded databases (the same SQL as PGlite → PostgreSQL, without services). */
async function fill(db: Database): Promise<void> {
  await db.query("INSERT INTO robots (robot_id, name) VALUES ('r1', 'One'), ('r2', 'Two')");
  await db.query("DELETE FROM robots WHERE robot_id = 'r2'");
  await db.query("INSERT INTO robots (robot_id, name) VALUES ('r3', 'Three')");
  const s = await db.query<{ id: number }>(
    "INSERT INTO report_schedules (name, report_type, frequency, at_minute) VALUES ('n', 'fleet', 'daily', 1) RETURNING id",
  );
  const r = await db.query<{ id: number }>(
    `INSERT INTO reports (title, report_type, from_at, to_at, schedule_id, data)
     VALUES ('Night', 'fleet', '2026-01-01T00:00:00.123456Z', now(), $1, '{"v": [1.5, null, "x"]}') RETURNING id`,
    [s.rows[0]!.id],
  );
  await db.query('UPDATE report_schedules SET last_report_id = $1', [r.rows[0]!.id]);
  await db.query("UPDATE alert_thresholds SET warning_threshold = 42 WHERE metric_type = 'cpu'");
}

async function copy(source: Database, target: Database, checkpoint: Checkpoint, afterBatch?: () => void) {
  const { existed } = await migrateTarget(source, target);
  const plan = planCopy(await readTables(source));
  if (!checkpoint.targetPrepared) {
    await clearTarget(target, plan, existed, 'target');
    checkpoint.targetPrepared = true;
  }
  const o = {
    source,
    target,
    plan,
    checkpoint,
    save: async () => undefined,
    progress: silentProgress,
    batchSize: 2,
    afterBatch,
  };
  await copyTables(o);
  await fillDeferred(o);
  await copySequences(o);
  return verifyTables(source, target, plan.order, silentProgress);
}

describe('relational copy', () => {
  it('copies every table with its ids, the foreign-key cycle and the sequences, and resumes', async () => {
    const source = await openTestPGlite();
    await fill(source);
    const target = await openTestPGlite({ migrated: false });
    const checkpoint = newCheckpoint({ database: 'd', telemetry: 't' });
    let batches = 0;
    await expect(
      copy(source, target, checkpoint, () => {
        if (++batches === 4) throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await copy(source, target, checkpoint)).toEqual([]);
    const robots = await target.query('SELECT id, robot_id FROM robots ORDER BY id');
    expect(robots.rows).toEqual([
      { id: 1, robot_id: 'r1' },
      { id: 3, robot_id: 'r3' },
    ]);
    const next = await target.query<{ id: number }>(
      "INSERT INTO robots (robot_id) VALUES ('r4') RETURNING id",
    );
    expect(next.rows[0]!.id).toBe(4);
    const links = await target.query('SELECT last_report_id FROM report_schedules');
    expect(links.rows).toEqual([{ last_report_id: 1 }]);
  });

  it('accepts a target that is only migrated, and refuses one with data of its own', async () => {
    const source = await openTestPGlite();
    await fill(source);
    const migratedOnly = await openTestPGlite();
    expect(await copy(source, migratedOnly, newCheckpoint({ database: 'd', telemetry: 't' }))).toEqual([]);

    const used = await openTestPGlite();
    await used.query("INSERT INTO robots (robot_id) VALUES ('theirs')");
    await expect(copy(source, used, newCheckpoint({ database: 'd', telemetry: 't' }))).rejects.toThrow(
      new TargetNotEmptyError(
        'the target database target already holds data (alert_thresholds: 5 rows, robots: 1 rows): ' +
          'copy into an empty database, or rerun with the checkpoint of the run that filled it',
      ),
    );
  });

  it('refuses a data dir an older version left (migrations missing), before touching the target', async () => {
    const source = await openTestPGlite({ migrated: false });
    const all = await loadMigrations();
    await migrate(source, { migrations: all.slice(0, -1) });
    const target = await openTestPGlite({ migrated: false });
    await expect(migrateTarget(source, target)).rejects.toThrow(
      `the data dir was last used by an older version of the server (migrations ${all.at(-1)!.version} not applied)`,
    );
    const tables = await target.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.rows).toEqual([{ n: 0 }]);
  });
});
