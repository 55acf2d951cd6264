import type { DuckDBInstance } from '@duckdb/node-api';

/**
 * For tests: DuckDB's own fault injection. The next CHECKPOINT fails fatally and DuckDB invalidates the
 * database, as after a full disk. Throws if it did not.
 */
export async function invalidateDuckDb(instance: DuckDBInstance): Promise<void> {
  const c = await instance.connect();
  try {
    await c.run("SET debug_checkpoint_abort = 'before_header'");
    const failed = await c.run('CHECKPOINT').then(
      () => false,
      (err: Error) => /FATAL/.test(err.message),
    );
    if (!failed) throw new Error('CHECKPOINT did not fail fatally: the database was not invalidated');
  } finally {
    c.closeSync();
  }
}
