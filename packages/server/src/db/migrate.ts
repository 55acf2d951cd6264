import { readdir, readFile } from 'node:fs/promises';
import {
  type Database,
  type DatabaseLogger,
  isScriptable,
  type Queryable,
  type Transaction,
} from './database';

/** One file of `migrations/`: `NNNN_what_it_does.sql`, applied in version order, each in its own transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrateOptions {
  logger?: DatabaseLogger;
  /** Defaults to the files in ./migrations next to this module. */
  migrations?: readonly Migration[];
}

export interface MigrateResult {
  /** What this call applied, in order; empty when the schema was already current. */
  applied: { version: number; name: string }[];
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Every transaction here first takes this advisory lock, so server instances starting together against one
 * PostgreSQL apply each migration once: the second waits, then finds it recorded. (PGlite has one process;
 * the lock is harmless there.)
 */
const LOCK_SQL = 'SELECT pg_advisory_xact_lock(7381010001)';

export async function loadMigrations(directory: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) {
      throw new Error(`Migration file ${file} is not named NNNN_lowercase_words.sql`);
    }
    const version = Number(match[1]);
    const previous = migrations.at(-1);
    if (previous?.version === version) {
      throw new Error(`Migrations ${previous.name}.sql and ${file} share version ${version}`);
    }
    migrations.push({
      version,
      name: file.slice(0, -'.sql'.length),
      sql: await readFile(new URL(file, directory), 'utf8'),
    });
  }
  return migrations;
}

/** Brings the schema up to date. Safe to run at every start and from several instances at once. */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const { logger } = options;
  const migrations = options.migrations ?? (await loadMigrations());

  const recorded = await db.transaction(async (tx) => {
    await tx.query(LOCK_SQL);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INTEGER PRIMARY KEY,
         name VARCHAR(200) NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
       )`,
    );
    return appliedVersions(tx);
  });

  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...recorded].filter((version) => !known.has(version));
  if (unknown.length > 0) {
    logger?.warn(
      { versions: unknown },
      'The database has migrations this server does not know: it was migrated by a newer version',
    );
  }

  const applied: MigrateResult['applied'] = [];
  for (const migration of migrations) {
    if (recorded.has(migration.version)) continue;
    const done = await db.transaction(async (tx) => {
      await tx.query(LOCK_SQL);
      // Another instance may have applied it while we waited for the lock.
      if ((await appliedVersions(tx)).has(migration.version)) return false;
      try {
        await scriptable(tx).exec(migration.sql);
      } catch (cause) {
        throw new Error(
          `Migration ${migration.name} failed: ${cause instanceof Error ? cause.message : cause}`,
          {
            cause,
          },
        );
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (done) {
      applied.push({ version: migration.version, name: migration.name });
      logger?.info({ migration: migration.name }, 'Applied database migration');
    }
  }
  return { applied };
}

async function appliedVersions(tx: Queryable): Promise<Set<number>> {
  const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.map((row) => row.version));
}

function scriptable(tx: Queryable): Transaction {
  if (!isScriptable(tx)) throw new Error('This Database cannot run scripts inside a transaction');
  return tx;
}
