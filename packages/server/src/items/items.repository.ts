import type { ItemFields, ItemQuery, ItemView } from '@tonypi/contracts';
import type { Queryable } from '../db/database';
import { escapeLike } from '../robots/robots.repository';
import type { ItemColumn } from './item-csv';

/** SQL of the item catalogue (`items`, migration 0012). */

interface ItemRow {
  id: number;
  qr_code: string;
  sku: string | null;
  name: string;
  description: string | null;
  weight_kg: number | null;
  location: string | null;
  attributes: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const COLUMN_TYPES: Record<ItemColumn, string> = {
  qr_code: 'text',
  sku: 'text',
  name: 'text',
  description: 'text',
  weight_kg: 'float8',
  location: 'text',
  attributes: 'jsonb',
};

/** PostgreSQL's unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23505';
}

export class ItemsRepository {
  constructor(private readonly db: Queryable) {}

  async findById(id: number, tx: Queryable = this.db): Promise<ItemView | undefined> {
    const { rows } = await tx.query<ItemRow>('SELECT * FROM items WHERE id = $1', [id]);
    return rows[0] && toView(rows[0]);
  }

  async findByCode(qr_code: string): Promise<ItemView | undefined> {
    const { rows } = await this.db.query<ItemRow>('SELECT * FROM items WHERE qr_code = $1', [qr_code]);
    return rows[0] && toView(rows[0]);
  }

  async paginate(q: ItemQuery): Promise<{ items: ItemView[]; total: number }> {
    const params: unknown[] = [];
    const add = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (q.q !== undefined && q.q !== '') {
      const p = add(`%${escapeLike(q.q)}%`);
      where.push(
        `(qr_code ILIKE ${p} ESCAPE '\\' OR sku ILIKE ${p} ESCAPE '\\' OR name ILIKE ${p} ESCAPE '\\' OR description ILIKE ${p} ESCAPE '\\')`,
      );
    }
    if (q.qr_code !== undefined) where.push(`qr_code = ${add(q.qr_code)}`);
    if (q.sku !== undefined) where.push(`sku = ${add(q.sku)}`);
    if (q.location !== undefined) where.push(`location = ${add(q.location)}`);
    const filtered = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.db.query<{ n: number }>(`SELECT count(*) AS n FROM items ${filtered}`, params);
    const { rows } = await this.db.query<ItemRow>(
      `SELECT * FROM items ${filtered} ORDER BY qr_code LIMIT ${add(q.limit)} OFFSET ${add(q.offset)}`,
      params,
    );
    return { items: rows.map(toView), total: total.rows[0]?.n ?? 0 };
  }

  async insert(tx: Queryable, fields: ItemFields): Promise<ItemView> {
    const { rows } = await tx.query<ItemRow>(
      `INSERT INTO items (qr_code, sku, name, description, weight_kg, location, attributes)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING *`,
      [
        fields.qr_code,
        fields.sku ?? null,
        fields.name,
        fields.description ?? null,
        fields.weight_kg ?? null,
        fields.location ?? null,
        JSON.stringify(fields.attributes ?? {}),
      ],
    );
    return toView(rows[0]!);
  }

  async update(tx: Queryable, id: number, fields: Partial<ItemFields>): Promise<ItemView | undefined> {
    const params: unknown[] = [];
    const sets: string[] = [];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      params.push(name === 'attributes' ? JSON.stringify(value) : value);
      sets.push(`${name} = $${params.length}${name === 'attributes' ? '::jsonb' : ''}`);
    }
    params.push(id);
    const { rows } = await tx.query<ItemRow>(
      `UPDATE items SET ${sets.join(', ')}, updated_at = CURRENT_TIMESTAMP WHERE id = $${params.length} RETURNING *`,
      params,
    );
    return rows[0] && toView(rows[0]);
  }

  async delete(tx: Queryable, id: number): Promise<ItemView | undefined> {
    const { rows } = await tx.query<ItemRow>('DELETE FROM items WHERE id = $1 RETURNING *', [id]);
    return rows[0] && toView(rows[0]);
  }

  /**
   * Writes a batch of CSV rows in one statement. Only `columns` are written: on update, the others keep their
   * values; on insert, they get their defaults. Returns, per code written, whether it was new; with `insertOnly`
   * a code already in the catalogue is left alone and missing from the answer.
   */
  async writeBatch(
    tx: Queryable,
    columns: readonly ItemColumn[],
    rows: readonly ItemFields[],
    insertOnly: boolean,
  ): Promise<Map<string, boolean>> {
    const record = columns.map((c) => `${c} ${COLUMN_TYPES[c]}`).join(', ');
    const list = columns.join(', ');
    const updates = columns
      .filter((c) => c !== 'qr_code')
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ');
    const conflict = insertOnly ? 'DO NOTHING' : `DO UPDATE SET ${updates}, updated_at = CURRENT_TIMESTAMP`;
    const payload = rows.map((r) => {
      const out: Record<string, unknown> = {};
      for (const c of columns) out[c] = c === 'attributes' ? (r.attributes ?? {}) : (r[c] ?? null);
      return out;
    });
    const { rows: written } = await tx.query<{ qr_code: string; inserted: boolean }>(
      `INSERT INTO items (${list})
       SELECT ${list} FROM jsonb_to_recordset($1::jsonb) AS r(${record})
       ON CONFLICT (qr_code) ${conflict}
       RETURNING qr_code, (xmax = 0) AS inserted`,
      [JSON.stringify(payload)],
    );
    return new Map(written.map((w) => [w.qr_code, w.inserted]));
  }

  /** Every item by id, a page at a time: for the export, which streams them. */
  async *streamForExport(pageSize = 1000): AsyncGenerator<ItemView> {
    let after = 0;
    for (;;) {
      const { rows } = await this.db.query<ItemRow>(
        'SELECT * FROM items WHERE id > $1 ORDER BY id LIMIT $2',
        [after, pageSize],
      );
      for (const r of rows) yield toView(r);
      if (rows.length < pageSize) return;
      after = rows.at(-1)!.id;
    }
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*) AS n FROM items');
    return rows[0]?.n ?? 0;
  }
}

function toView(r: ItemRow): ItemView {
  return { ...r, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() };
}
