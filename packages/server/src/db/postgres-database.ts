import pg from 'pg';
import { redactUrl } from '../logger';
import { StartupError } from '../startup-error';
import type { Database, DatabaseLogger, Queryable, QueryResult, Transaction } from './database';
import { PgOid, parseInt8, textParsers } from './type-parsers';

export interface PostgresDatabaseOptions {
  /** `postgres://user:password@host:port/database` (DATABASE_URL). */
  url: string;
  logger?: DatabaseLogger;
}

const POOL_MAX = 10;
const CONNECTION_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 30_000;
/** A lost LISTEN connection is opened again after this long, doubling up to the maximum. */
const LISTEN_RETRY_MIN_MS = 250;
const LISTEN_RETRY_MAX_MS = 10_000;

/** A PostgreSQL server through a node-postgres pool. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  /** The pool runs statements side by side: nothing waits behind another in this process. */
  readonly urgent: Queryable = this;
  private closed = false;

  private readonly listeners = new Set<{ stop: () => Promise<void> }>();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly logger?: DatabaseLogger,
  ) {}

  /** Connects once before returning, so a wrong URL fails the start-up instead of the first request. */
  static async open(options: PostgresDatabaseOptions): Promise<PostgresDatabase> {
    const { url, logger } = options;
    const pool = new pg.Pool({
      connectionString: url,
      max: POOL_MAX,
      connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      application_name: 'tonypi-fleet-monitor',
      types: { getTypeParser: getTypeParser as pg.CustomTypesConfig['getTypeParser'] },
    });
    // An idle client losing its connection emits here; without a listener it would crash the process.
    pool.on('error', (error) =>
      logger?.warn({ err: error }, 'PostgreSQL connection lost (the pool reconnects)'),
    );
    const db = new PostgresDatabase(pool, url, logger);
    try {
      await db.ping();
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw new StartupError(`Could not connect to PostgreSQL at ${redactUrl(url)}: ${describe(cause)}`, {
        cause,
      });
    }
    return db;
  }

  async query<T = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<T>> {
    return toQueryResult(await this.pool.query(sql, params as unknown[] | undefined));
  }

  async exec(sql: string): Promise<void> {
    // Without parameters node-postgres uses the simple protocol, which runs a script of several statements.
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(sql: string, params?: readonly unknown[]) =>
          toQueryResult<R>(await client.query(sql, params as unknown[] | undefined)),
        exec: async (sql: string) => {
          await client.query(sql);
        },
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable: drop it from the pool instead of handing it to the next caller.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('select 1');
  }

  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`Not a channel name: ${channel}`);
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    let delay = LISTEN_RETRY_MIN_MS;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({
        connectionString: this.url,
        connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
        application_name: 'tonypi-fleet-monitor (listen)',
      });
      const lost = (err?: Error) => {
        if (client !== c) return;
        client = undefined;
        c.removeAllListeners();
        c.end().catch(() => undefined);
        if (stopped) return;
        this.logger?.warn(
          { err, channel, retry_ms: delay },
          'PostgreSQL LISTEN connection lost, reconnecting',
        );
        schedule();
      };
      c.on('error', lost);
      c.on('end', () => lost());
      c.on('notification', (n) => {
        if (n.channel === channel && n.payload !== undefined) onPayload(n.payload);
      });
      client = c;
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
        delay = LISTEN_RETRY_MIN_MS;
      } catch (err) {
        lost(err as Error);
      }
    };
    const schedule = () => {
      retry = setTimeout(() => void connect(), delay);
      retry.unref();
      delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS);
    };
    await connect();
    const listener = {
      stop: async () => {
        stopped = true;
        if (retry) clearTimeout(retry);
        const c = client;
        client = undefined;
        if (c) {
          c.removeAllListeners();
          c.on('error', () => undefined);
          await c.end().catch(() => undefined);
        }
        this.listeners.delete(listener);
      },
    };
    this.listeners.add(listener);
    return listener.stop;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of [...this.listeners]) await l.stop();
    await this.pool.end();
  }
}

function getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
  if (format === undefined || format === 'text') {
    const override = textParsers[oid];
    if (override) return override;
    if (oid === PgOid.INT8_ARRAY) return parseInt8Array;
  }
  return pg.types.getTypeParser(oid, format);
}

const defaultInt8ArrayParser = pg.types.getTypeParser(PgOid.INT8_ARRAY as number, 'text') as (
  value: string,
) => unknown;

function parseInt8Array(value: string): unknown {
  const parsed = defaultInt8ArrayParser(value);
  return Array.isArray(parsed) ? parsed.map((v) => (typeof v === 'string' ? parseInt8(v) : v)) : parsed;
}

function toQueryResult<T>(result: pg.QueryResult): QueryResult<T> {
  return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}
