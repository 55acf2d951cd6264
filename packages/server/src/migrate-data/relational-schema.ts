/**
 * What the relational copy needs to know about the source's tables, read from PostgreSQL's catalogue (the
 * same on PGlite and PostgreSQL): columns (generated ones are computed again by the target, never copied),
 * primary key, foreign keys, SERIAL sequences — and the order to copy them in.
 *
 * Why dependency order and not "one transaction with constraints deferred": our foreign keys are not
 * DEFERRABLE (a migration would have to change every one of them), and switching the checks off
 * (`session_replication_role = replica`) needs a superuser, which a managed PostgreSQL does not give. So
 * parents are copied before children; a cycle (reports.schedule_id ↔ report_schedules.last_report_id) is
 * broken by copying one side's foreign-key columns as NULL and setting them once every table is in.
 */
import type { Queryable } from '../db/database';

export interface TableInfo {
  name: string;
  /** Columns that are copied (not generated), in table order. */
  columns: string[];
  primaryKey: string[];
  /** Columns of a date/time type (what migrations fill with the time they ran). */
  timeColumns: string[];
  /** Columns with a `bytea` type: their rows are big (camera snapshots), so batches are small. */
  hasBytes: boolean;
  /** Foreign keys: this table's columns and the table they point to. */
  foreignKeys: { columns: string[]; references: string; nullable: boolean }[];
  /** SERIAL columns' sequences (`public.robots_id_seq`). */
  sequences: string[];
}

export interface CopyPlan {
  /** Tables in the order to copy them: every table after the tables it references (except deferred edges). */
  order: TableInfo[];
  /** Per table, the columns copied as NULL first and set after every table is in. */
  deferred: Map<string, string[]>;
}

/** Tables kept by migrate() itself, not copied. */
const NOT_COPIED = new Set(['schema_migrations']);

export async function readTables(db: Queryable): Promise<TableInfo[]> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
  );
  const out: TableInfo[] = [];
  for (const { name } of tables) {
    if (NOT_COPIED.has(name)) continue;
    const reg = `public.${quoteIdent(name)}`;
    const { rows: cols } = await db.query<{
      name: string;
      generated: string;
      type: string;
      seq: string | null;
    }>(
      `SELECT attname AS name, attgenerated::text AS generated, format_type(atttypid, atttypmod) AS type,
              pg_get_serial_sequence($1, attname) AS seq
       FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [reg],
    );
    const { rows: pk } = await db.query<{ cols: string | null }>(
      `SELECT string_agg(a.attname, ',' ORDER BY k.ord) AS cols
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [reg],
    );
    const { rows: fks } = await db.query<{ cols: string; ref: string; nullable: boolean }>(
      `SELECT (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS cols,
              r.relname AS ref,
              NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                          AND a.attnotnull) AS nullable
       FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid
       WHERE c.contype = 'f' AND c.conrelid = $1::regclass ORDER BY c.conname`,
      [reg],
    );
    const primaryKey = pk[0]?.cols?.split(',') ?? [];
    if (primaryKey.length === 0)
      throw new Error(`Table ${name} has no primary key: it cannot be copied in order`);
    out.push({
      name,
      columns: cols.filter((c) => c.generated === '').map((c) => c.name),
      primaryKey,
      timeColumns: cols.filter((c) => /^(timestamp|date|time)/.test(c.type)).map((c) => c.name),
      hasBytes: cols.some((c) => c.type === 'bytea'),
      foreignKeys: fks.map((f) => ({ columns: f.cols.split(','), references: f.ref, nullable: f.nullable })),
      sequences: cols.flatMap((c) => (c.seq ? [c.seq] : [])),
    });
  }
  return out;
}

/**
 * Parents before children (Kahn's algorithm, ties by name so every run copies in the same order). When only
 * tables in a cycle are left, the first of them by name has its nullable foreign keys into the rest deferred.
 */
export function planCopy(tables: readonly TableInfo[]): CopyPlan {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const deferred = new Map<string, string[]>();
  const waitsFor = new Map<string, Set<string>>();
  for (const t of tables) {
    const parents = new Set<string>();
    for (const fk of t.foreignKeys) if (byName.has(fk.references)) parents.add(fk.references);
    waitsFor.set(t.name, parents);
  }
  const order: TableInfo[] = [];
  const left = new Set(tables.map((t) => t.name));
  const defer = (t: TableInfo, parent: string) => {
    for (const fk of t.foreignKeys) {
      if (fk.references !== parent) continue;
      if (!fk.nullable) {
        throw new Error(`Cannot order ${t.name}: its NOT NULL foreign key into ${parent} is part of a cycle`);
      }
      deferred.set(t.name, [...new Set([...(deferred.get(t.name) ?? []), ...fk.columns])]);
    }
    waitsFor.get(t.name)!.delete(parent);
  };
  for (const t of tables) if (waitsFor.get(t.name)!.has(t.name)) defer(t, t.name);
  while (left.size > 0) {
    const ready = [...left].sort().find((n) => [...waitsFor.get(n)!].every((p) => !left.has(p)));
    if (ready !== undefined) {
      order.push(byName.get(ready)!);
      left.delete(ready);
      continue;
    }
    const first = byName.get([...left].sort()[0]!)!;
    for (const p of [...waitsFor.get(first.name)!]) if (left.has(p)) defer(first, p);
  }
  return { order, deferred };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
