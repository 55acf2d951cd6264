/** The relational database as the rest of the server sees it: PostgreSQL SQL, two engines. */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  /** Runs one parameterised statement ($1, $2 …). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

export interface Database extends Queryable {
  /** `pglite` (embedded, file in DATA_DIR) or `postgres` (DATABASE_URL). */
  readonly kind: 'pglite' | 'postgres';
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * The same database, for the few statements that must not wait behind others (an emergency stop's rows
   * and the robots' answers to it). The embedded engine runs one statement at a time on the event loop's
   * thread: these go ahead of the ones waiting. A server's pool runs them side by side anyway.
   */
  readonly urgent: Queryable;
  /** Round-trip check for health. */
  ping(): Promise<void>;
  /**
   * PostgreSQL's LISTEN on a connection of its own, kept open (reconnected after a loss; notifications sent
   * meanwhile are missed): `onPayload` gets each NOTIFY's payload. Resolves to the unlisten. Only the server
   * engine has it: one embedded database is one instance.
   */
  listen?(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * What both engines hand to a `transaction` callback: besides `query`, it can run a script of several
 * statements (a migration file) inside that transaction.
 */
export interface Transaction extends Queryable {
  exec(sql: string): Promise<void>;
}

/** True when `tx` (from `Database.transaction`) can run scripts; both engines' transactions can. */
export function isScriptable(tx: Queryable): tx is Transaction {
  return typeof (tx as Partial<Transaction>).exec === 'function';
}

/** The subset of a pino logger the database layer uses; pino's `Logger` satisfies it. */
export interface DatabaseLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
