/**
 * Getting the target PostgreSQL ready: the schema brought up to date by the server's own migrations, then a
 * check that it holds no data of another installation. A database the migrations just created (or one only
 * ever migrated) holds what the migrations insert (default thresholds and alert rules); the source has its own
 * copy of those rows, possibly edited, so they are removed before the copy. Anything else is refused.
 */
import type { Database } from '../db/database';
import { loadMigrations, migrate } from '../db/migrate';
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
  // The source first: a data dir this version cannot copy as is must not leave a migrated target behind.
  const applied = new Set(
    (await source.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
      (r) => r.version,
    ),
  );
  const known = (await loadMigrations()).map((m) => m.version);
  const behind = known.filter((v) => !applied.has(v));
  if (behind.length > 0) {
    throw new Error(
      `the data dir was last used by an older version of the server (migrations ${behind.join(', ')} not applied): start this version's server on it once, stop it, then run this again`,
    );
  }
  const newer = [...applied].filter((v) => !known.includes(v));
  if (newer.length > 0) {
    throw new Error(
      `the data dir was migrated by a newer version of the server (migrations ${newer.join(', ')} are unknown here): run this command from that version`,
    );
  }
  const { rows } = await target.query<{ existed: boolean }>(
    "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS existed",
  );
  const existed = rows[0]?.existed === true;
  await migrate(target);
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
        // Times are when each database was migrated; the rest must be what the migrations wrote.
        const columns = t.columns.filter((c) => !t.timeColumns.includes(c));
        const [a, b] = [await digestTable(fresh, t, columns), await digestTable(target, t, columns)];
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
