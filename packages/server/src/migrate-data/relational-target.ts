/**
 * Getting the target PostgreSQL ready: the schema brought up to date by the server's own migrations, then a
 * check that it holds no data of another installation. A database the migrations just created (or one only
 * ever migrated) holds what the migrations insert (default thresholds and alert rules); the source has its own
 * copy of those rows, possibly edited, so they are removed before the copy. Anything else is refused.
 */
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { PGliteDatabase } from '../db/pglite-database';
import { countRows, digestTable } from './relational-copy';
import { type CopyPlan, quoteIdent } from './relational-schema';

/** The target holds another installation's data; the message lists the tables. */
export class TargetNotEmptyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetNotEmptyError';
  }
}

/** Runs the migrations; says whether the schema was there before. Refuses a target newer than the source knows. */
export async function migrateTarget(source: Database, target: Database): Promise<{ existed: boolean }> {
  const { rows } = await target.query<{ existed: boolean }>(
    "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS existed",
  );
  const existed = rows[0]?.existed === true;
  await migrate(target);
  const versions = async (db: Database) =>
    new Set(
      (await db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
  const [s, t] = [await versions(source), await versions(target)];
  const missing = [...s].filter((v) => !t.has(v));
  if (missing.length > 0) {
    throw new Error(
      `the data dir was migrated by a newer version of the server (migrations ${missing.join(', ')} are unknown here): run this command from that version`,
    );
  }
  return { existed };
}

/**
 * Empties the rows the migrations inserted, or throws TargetNotEmptyError. `existed`: the schema was there
 * before this run, so its rows are compared with those of a freshly migrated (in-memory) database first.
 */
export async function clearTarget(
  target: Database,
  plan: CopyPlan,
  existed: boolean,
  label: string,
): Promise<void> {
  const filled: { name: string; rows: number }[] = [];
  for (const t of plan.order) {
    const rows = await countRows(target, t.name);
    if (rows > 0) filled.push({ name: t.name, rows });
  }
  if (filled.length === 0) return;
  if (existed) {
    const fresh = await PGliteDatabase.open();
    try {
      await migrate(fresh);
      for (const f of filled) {
        const t = plan.order.find((x) => x.name === f.name)!;
        const [a, b] = [await digestTable(fresh, t), await digestTable(target, t)];
        if (a.rows !== b.rows || a.md5 !== b.md5) {
          throw new TargetNotEmptyError(
            `the target database ${label} already holds data (${filled.map((x) => `${x.name}: ${x.rows} rows`).join(', ')}): ` +
              'copy into an empty database, or rerun with the checkpoint of the run that filled it',
          );
        }
      }
    } finally {
      await fresh.close();
    }
  }
  await target.transaction(async (tx) => {
    for (const t of [...plan.order].reverse()) {
      if (filled.some((f) => f.name === t.name)) await tx.query(`DELETE FROM ${quoteIdent(t.name)}`);
    }
  });
}
