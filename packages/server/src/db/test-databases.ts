import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import type { Database } from './database';
import { migrate } from './migrate';
import { PGliteDatabase } from './pglite-database';
import { PostgresDatabase } from './postgres-database';

/**
 * Test helpers: each call gives the calling test its own empty database, closed (and dropped) when the test
 * ends. `migrated: false` gives one without the schema.
 */
export type OpenTestDatabase = (options?: { migrated?: boolean }) => Promise<Database>;

const templates = new Map<boolean, Promise<Blob>>();

/** Creating (and migrating) a database once and cloning it takes ~1 s per test instead of ~3 s. */
function loadTemplate(migrated: boolean): Promise<Blob> {
  let template = templates.get(migrated);
  if (!template) {
    template = (async () => {
      const db = await PGliteDatabase.open();
      try {
        if (migrated) await migrate(db);
        return await db.dumpDataDir();
      } finally {
        await db.close();
      }
    })();
    templates.set(migrated, template);
  }
  return template;
}

/** PGlite in memory. */
export const openTestPGlite: OpenTestDatabase = async ({ migrated = true } = {}) => {
  const db = await PGliteDatabase.open({ loadDataDir: await loadTemplate(migrated) });
  onTestFinished(() => db.close());
  return db;
};

/**
 * A new database on the PostgreSQL server at `adminUrl` (TEST_DATABASE_URL) per test, dropped afterwards.
 * Throws when the URL is missing: the services tests must not pass by running nothing.
 */
export function postgresTestDatabases(adminUrl: string | undefined): OpenTestDatabase {
  if (!adminUrl) {
    throw new Error(
      'TEST_DATABASE_URL is not set. The services tests need a PostgreSQL server whose user may create ' +
        'databases, e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:54329/postgres',
    );
  }
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return async ({ migrated = true } = {}) => {
    const name = `tonypi_test_${randomUUID().replaceAll('-', '')}`;
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    let db: Database | undefined;
    onTestFinished(async () => {
      await db?.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
    db = await PostgresDatabase.open({ url: url.toString() });
    if (migrated) await migrate(db);
    return db;
  };
}
