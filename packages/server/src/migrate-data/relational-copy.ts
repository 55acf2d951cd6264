/**
 * The relational half: rows from the embedded PGlite into PostgreSQL, table by table in dependency order
 * (relational-schema.ts says why), each in primary-key order in batches, ids preserved.
 *
 * Rows travel as JSON text: `row_to_json` on the source and `json_populate_recordset` on the target use each
 * type's own text form, so timestamps keep their microseconds, numerics their digits, bytea its bytes, arrays
 * and jsonb their structure, without a JS type in between. Each batch is one INSERT … ON CONFLICT (primary
 * key) DO NOTHING in its own transaction: a batch written just before an interruption, whose checkpoint was not
 * saved, is skipped row by row on the next run instead of failing or doubling.
 */
import type { Database, Queryable } from '../db/database';
import type { Checkpoint } from './checkpoint';
import type { Progress } from './progress';
import { type CopyPlan, quoteIdent, type TableInfo } from './relational-schema';

export interface RelationalCopyOptions {
  source: Database;
  target: Database;
  plan: CopyPlan;
  checkpoint: Checkpoint;
  save: () => Promise<void>;
  progress: Progress;
  batchSize: number;
  /** Called after each batch is saved; throwing stops the copy there (tests interrupt a run with it). */
  afterBatch?: () => void;
}

/** Rows of tables with bytea columns (camera snapshots, up to 2 MB each) go a few at a time. */
const BYTES_BATCH = 20;

const cols = (names: readonly string[], prefix = '') => names.map((c) => prefix + quoteIdent(c)).join(', ');

export async function copyTables(o: RelationalCopyOptions): Promise<void> {
  for (const table of o.plan.order) {
    const state = o.checkpoint.tables[table.name] ?? { lastKey: null, done: false, rows: 0 };
    o.checkpoint.tables[table.name] = state;
    const total = await countRows(o.source, table.name);
    if (state.done) {
      o.progress.finish(table.name, state.rows, total, 'rows');
      continue;
    }
    o.progress.start(table.name, state.rows);
    const deferred = new Set(o.plan.deferred.get(table.name) ?? []);
    const limit = table.hasBytes ? Math.min(BYTES_BATCH, o.batchSize) : o.batchSize;
    const pk = cols(table.primaryKey);
    const selectList = table.columns.map((c) => (deferred.has(c) ? 'NULL' : quoteIdent(c))).join(', ');
    const insert = `INSERT INTO ${quoteIdent(table.name)} (${cols(table.columns)})
      SELECT ${selectList} FROM json_populate_recordset(NULL::${quoteIdent(table.name)}, $1::json)
      ON CONFLICT (${pk}) DO NOTHING`;
    for (;;) {
      const after = state.lastKey;
      const where = after
        ? `WHERE (${pk}) > (${table.primaryKey.map((_, i) => `$${i + 1}`).join(', ')})`
        : '';
      const { rows } = await o.source.query<{ j: string; k: string }>(
        `SELECT row_to_json(t)::text AS j, json_build_array(${cols(table.primaryKey, 't.')})::text AS k
         FROM ${quoteIdent(table.name)} t ${where} ORDER BY ${cols(table.primaryKey, 't.')} LIMIT ${limit}`,
        after ?? [],
      );
      if (rows.length === 0) break;
      await o.target.transaction((tx) => tx.query(insert, [`[${rows.map((r) => r.j).join(',')}]`]));
      state.lastKey = JSON.parse(rows.at(-1)!.k) as unknown[];
      state.rows += rows.length;
      await o.save();
      o.progress.update(table.name, state.rows, total, 'rows');
      o.afterBatch?.();
      if (rows.length < limit) break;
    }
    state.done = true;
    await o.save();
    o.progress.finish(table.name, state.rows, total, 'rows');
  }
}

/** The foreign-key columns copied as NULL (a cycle), now set from the source, in batches by primary key. */
export async function fillDeferred(o: RelationalCopyOptions): Promise<void> {
  if (o.checkpoint.deferredDone) return;
  for (const table of o.plan.order) {
    const columns = o.plan.deferred.get(table.name);
    if (!columns) continue;
    const pk = cols(table.primaryKey, 't.');
    const anySet = columns.map((c) => `t.${quoteIdent(c)} IS NOT NULL`).join(' OR ');
    const keyAndCols = [...table.primaryKey, ...columns];
    let offset: unknown[] | null = null;
    for (;;) {
      const where = offset ? `AND (${pk}) > (${table.primaryKey.map((_, i) => `$${i + 1}`).join(', ')})` : '';
      const { rows } = await o.source.query<{ j: string; k: string }>(
        `SELECT json_build_object(${keyAndCols.map((c) => `'${c}', t.${quoteIdent(c)}`).join(', ')})::text AS j,
                json_build_array(${pk})::text AS k
         FROM ${quoteIdent(table.name)} t WHERE (${anySet}) ${where} ORDER BY ${pk} LIMIT ${o.batchSize}`,
        offset ?? [],
      );
      if (rows.length === 0) break;
      await o.target.query(
        `UPDATE ${quoteIdent(table.name)} t SET ${columns.map((c) => `${quoteIdent(c)} = v.${quoteIdent(c)}`).join(', ')}
         FROM json_populate_recordset(NULL::${quoteIdent(table.name)}, $1::json) v
         WHERE ${table.primaryKey.map((c) => `t.${quoteIdent(c)} = v.${quoteIdent(c)}`).join(' AND ')}`,
        [`[${rows.map((r) => r.j).join(',')}]`],
      );
      offset = JSON.parse(rows.at(-1)!.k) as unknown[];
      if (rows.length < o.batchSize) break;
    }
  }
  o.checkpoint.deferredDone = true;
  await o.save();
}

/**
 * Each SERIAL's sequence set to where the source's stands (not just max(id)): ids the source handed out and
 * whose rows were deleted are not handed out again.
 */
export async function copySequences(o: RelationalCopyOptions): Promise<void> {
  if (o.checkpoint.sequencesDone) return;
  for (const table of o.plan.order) {
    for (const seq of table.sequences) {
      const { rows } = await o.source.query<{ last_value: number; is_called: boolean }>(
        `SELECT last_value, is_called FROM ${seq}`,
      );
      const s = rows[0];
      if (s) await o.target.query('SELECT setval($1::regclass, $2, $3)', [seq, s.last_value, s.is_called]);
    }
  }
  o.checkpoint.sequencesDone = true;
  await o.save();
}

export async function countRows(db: Queryable, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(table)}`);
  return rows[0]?.n ?? 0;
}

export interface TableDigest {
  rows: number;
  md5: string;
}

/**
 * Row count and md5 of every row's text form in primary-key order, computed by SQL on either side. The text
 * form depends on session settings, so they are pinned (UTC, ISO dates, shortest exact floats, hex bytea).
 */
export async function digestTable(
  db: Database,
  table: TableInfo,
  columns?: readonly string[],
): Promise<TableDigest> {
  const text = columns ? `ROW(${cols(columns, 't.')})::text` : 't::text';
  return db.transaction(async (tx) => {
    // A big table's digest may take longer than the server's 30 s statement limit (postgres-database.ts).
    await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query("SET LOCAL TimeZone = 'UTC'");
    await tx.query("SET LOCAL DateStyle = 'ISO, MDY'");
    await tx.query("SET LOCAL IntervalStyle = 'postgres'");
    await tx.query('SET LOCAL extra_float_digits = 1');
    await tx.query("SET LOCAL bytea_output = 'hex'");
    const { rows } = await tx.query<{ n: number; md5: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(${text}, E'\\n' ORDER BY ${cols(table.primaryKey, 't.')}), '')) AS md5
       FROM ${quoteIdent(table.name)} t`,
    );
    return { rows: rows[0]?.n ?? 0, md5: rows[0]?.md5 ?? '' };
  });
}

/** Each table's differences between source and target, as lines for the operator; empty when all match. */
export async function verifyTables(
  source: Database,
  target: Database,
  tables: readonly TableInfo[],
  progress: Progress,
): Promise<string[]> {
  const problems: string[] = [];
  for (const t of tables) {
    const [a, b] = [await digestTable(source, t), await digestTable(target, t)];
    if (a.rows !== b.rows)
      problems.push(`table ${t.name}: ${a.rows} rows in the source, ${b.rows} in the target`);
    else if (a.md5 !== b.md5)
      problems.push(`table ${t.name}: same ${a.rows} rows but different contents (md5 ${a.md5} ≠ ${b.md5})`);
    else if (a.rows > 0) progress.line(`verified ${t.name}: ${a.rows} rows, md5 ${a.md5}`);
  }
  if (problems.length === 0) progress.line(`verified ${tables.length} tables (the others are empty)`);
  return problems;
}
