import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import { StartupError } from '../startup-error';
import type { Database, DatabaseLogger, Queryable, QueryResult, Transaction } from './database';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock';
import { loadTemplate } from './pglite-template';
import { textParsers } from './type-parsers';

/**
 * PGlite holds Postgres' shared buffers in its WebAssembly heap, which never shrinks. The
 * monitor's relational data is small and hot; 128 MB of buffers (Postgres' default) only cost RSS.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'work_mem=4MB'];

export interface PGliteDatabaseOptions {
  /** Directory of the database files; in memory when undefined (tests). */
  dataDir?: string;
  logger?: DatabaseLogger;
  /**
   * In memory only: start from a `dumpDataDir()` of another database (tests clone a migrated template).
   * Default: the shipped template (pglite-template.ts), else initdb.
   */
  loadDataDir?: Blob;
}

/**
 * A run of statements is given back to the event loop after this long: PGlite executes each one
 * synchronously, and statements awaited one after another continue in microtasks, so without a turn the
 * broker's and HTTP's I/O (a robot's answer to an emergency stop) waited for the whole run.
 */
const SLICE_MS = 4;

type Lane = 'urgent' | 'normal';

/** The embedded engine: PostgreSQL compiled to WebAssembly, in this process, files in `dataDir`. */
export class PGliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  private closed = false;
  /** Work waiting for the engine (it runs one statement or transaction at a time); urgent work goes first. */
  private readonly lanes: Record<Lane, Array<() => Promise<void>>> = { urgent: [], normal: [] };
  private draining = false;
  readonly counters = { yields: 0 };

  readonly urgent: Queryable = {
    query: <T>(sql: string, params?: readonly unknown[]) => this.run<T>(sql, params, 'urgent'),
  };

  private constructor(
    private readonly pg: PGlite,
    private readonly lock: DirectoryLock | undefined,
  ) {}

  static async open(options: PGliteDatabaseOptions = {}): Promise<PGliteDatabase> {
    const { dataDir, logger, loadDataDir } = options;
    if (dataDir === undefined) {
      const t = loadDataDir ? undefined : loadTemplate();
      const from = loadDataDir ?? (t && 'blob' in t ? t.blob : undefined);
      const pg = new PGlite({
        parsers: textParsers,
        startParams: START_PARAMS,
        ...(from ? { loadDataDir: from } : {}),
      });
      await pg.waitReady;
      return new PGliteDatabase(pg, undefined);
    }

    const directory = resolve(dataDir);
    mkdirSync(dirname(directory), { recursive: true });
    // PGlite takes no lock of its own and two processes writing one directory corrupt it.
    const lock = acquireDirectoryLock(directory, `${directory}.lock`, (stale) =>
      logger?.warn(
        { lock: stale.lockPath, stale_pid: stale.pid },
        `Took over the embedded database's lock left by process ${stale.pid}, which exited without a clean ` +
          'shutdown (killed or crashed)',
      ),
    );
    const firstStart = !existsSync(join(directory, 'PG_VERSION'));
    let template: Blob | undefined;
    if (firstStart) {
      const t = loadTemplate();
      if ('blob' in t) template = t.blob;
      logger?.info(
        { directory, ...('unusable' in t ? { initdb: t.unusable } : {}) },
        template
          ? 'Creating the embedded database from its template (the first start takes a few seconds)'
          : 'Creating the embedded database with initdb (the first start takes a few seconds)',
      );
    }
    let pg: PGlite | undefined;
    try {
      pg = new PGlite({
        dataDir: directory,
        parsers: textParsers,
        startParams: START_PARAMS,
        // Instead of initdb (a second PostgreSQL instance, ~750 MB at its peak): see pglite-template.ts.
        ...(template ? { loadDataDir: template } : {}),
      });
      await pg.waitReady;
      return new PGliteDatabase(pg, lock);
    } catch (cause) {
      await pg?.close().catch(() => undefined);
      lock.release();
      throw new StartupError(
        `Could not open the embedded database in ${directory}: ${describe(cause)}. ` +
          'The directory is damaged (for example the server was killed during its first start) or was ' +
          `written by an incompatible version. Stop the server, move the directory away ` +
          `(mv ${directory} ${directory}.broken) and start again to create an empty database, ` +
          'or set DATABASE_URL to use a PostgreSQL server.',
        { cause },
      );
    }
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    return this.run<T>(sql, params, 'normal');
  }

  private run<T>(sql: string, params: readonly unknown[] | undefined, lane: Lane): Promise<QueryResult<T>> {
    return this.schedule(
      async () => toQueryResult(await this.pg.query<T>(sql, params as unknown[] | undefined)),
      lane,
    );
  }

  exec(sql: string): Promise<void> {
    return this.schedule(async () => {
      await this.pg.exec(sql);
    });
  }

  /** One piece of work for the engine: a transaction's statements run together, as PGlite runs them. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.schedule(() => this.pg.transaction((tx) => fn(wrapTransaction(tx))));
  }

  ping(): Promise<void> {
    return this.schedule(async () => {
      await this.pg.query('select 1');
    });
  }

  /**
   * Runs `work` when the engine is free, urgent work before the rest, each lane in order. A statement issued
   * from inside a transaction must use the transaction's `query` (it waits for the transaction otherwise,
   * as in PGlite itself).
   */
  private schedule<T>(work: () => Promise<T>, lane: Lane = 'normal'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.lanes[lane].push(() => work().then(resolve, reject));
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      let sliceStart = performance.now();
      for (;;) {
        const next = this.lanes.urgent.shift() ?? this.lanes.normal.shift();
        if (!next) return;
        await next();
        if (performance.now() - sliceStart >= SLICE_MS) {
          this.counters.yields++;
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** A tarball of the whole database, for `open({ loadDataDir })`. */
  dumpDataDir(): Promise<Blob> {
    return this.schedule(() => this.pg.dumpDataDir('none'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.pg.close();
    } finally {
      this.lock?.release();
    }
  }
}

function wrapTransaction(tx: PGliteTransaction): Transaction {
  return {
    query: async <T>(sql: string, params?: readonly unknown[]) =>
      toQueryResult(await tx.query<T>(sql, params as unknown[] | undefined)),
    exec: async (sql: string) => {
      await tx.exec(sql);
    },
  };
}

function toQueryResult<T>(result: { rows: T[]; affectedRows?: number }): QueryResult<T> {
  // PGlite counts rows only for INSERT/UPDATE/DELETE; for a SELECT the count is the rows returned (as in pg).
  return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
