import { join } from 'node:path';
import type { Database, DatabaseLogger } from './database';
import { PGliteDatabase } from './pglite-database';
import { PostgresDatabase } from './postgres-database';

export interface OpenDatabaseOptions {
  /** DATABASE_URL: a PostgreSQL server. Unset: the embedded engine in `${dataDir}/pg`. */
  url?: string;
  /** DATA_DIR. */
  dataDir: string;
  logger?: DatabaseLogger;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { url, dataDir, logger } = options;
  if (url) return PostgresDatabase.open({ url, logger });
  return PGliteDatabase.open({ dataDir: join(dataDir, 'pg'), logger });
}
