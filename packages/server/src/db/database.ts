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
  /** Round-trip check for health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
