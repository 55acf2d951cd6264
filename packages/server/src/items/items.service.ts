import { Readable } from 'node:stream';
import {
  ITEM_CSV_COLUMNS,
  type ItemFields,
  type ItemImportReport,
  type ItemQuery,
  type ItemView,
  type UpdateItemRequest,
} from '@tonypi/contracts';
import { stringify } from 'csv-stringify';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { Database } from '../db/database';
import { ApiError, notFound } from '../errors';
import { csvCell, parseItemCsv } from './item-csv';
import { type ItemsRepository, isUniqueViolation } from './items.repository';

type Auditor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

/** Rows per INSERT of an import. */
const IMPORT_BATCH = 500;

export const itemNotFound = (id: number) => notFound('item_not_found', `No item with id ${id}`);
const itemExists = (qr_code: string) =>
  new ApiError(
    409,
    'item_exists',
    `An item with qr_code ${qr_code.slice(0, 80)} is in the catalogue already`,
    {
      qr_code,
    },
  );

/** The item catalogue: CRUD, CSV import and export; every change audited (`item.*`). */
export class ItemsService {
  constructor(
    private readonly db: Database,
    private readonly repo: ItemsRepository,
    private readonly audit: AuditTrail,
  ) {}

  list(q: ItemQuery): Promise<{ items: ItemView[]; total: number }> {
    return this.repo.paginate(q);
  }

  async get(id: number): Promise<ItemView> {
    const item = await this.repo.findById(id);
    if (!item) throw itemNotFound(id);
    return item;
  }

  findByCode(code: string): Promise<ItemView | undefined> {
    return this.repo.findByCode(code);
  }

  async create(fields: ItemFields, by: Auditor): Promise<ItemView> {
    try {
      return await this.db.transaction(async (tx) => {
        const item = await this.repo.insert(tx, fields);
        await this.audit.record(
          {
            ...by,
            action: 'item.create',
            target: target(item),
            outcome: 'success',
            details: { qr_code: item.qr_code },
          },
          tx,
        );
        return item;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw itemExists(fields.qr_code);
      throw err;
    }
  }

  async update(id: number, changes: UpdateItemRequest, by: Auditor): Promise<ItemView> {
    try {
      return await this.db.transaction(async (tx) => {
        const item = await this.repo.update(tx, id, changes);
        if (!item) throw itemNotFound(id);
        await this.audit.record(
          {
            ...by,
            action: 'item.update',
            target: target(item),
            outcome: 'success',
            details: { fields: Object.keys(changes) },
          },
          tx,
        );
        return item;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw itemExists(changes.qr_code ?? '');
      throw err;
    }
  }

  async delete(id: number, by: Auditor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const item = await this.repo.delete(tx, id);
      if (!item) throw itemNotFound(id);
      await this.audit.record(
        {
          ...by,
          action: 'item.delete',
          target: target(item),
          outcome: 'success',
          details: { qr_code: item.qr_code },
        },
        tx,
      );
    });
  }

  /**
   * Imports a CSV: the valid records are written (in one transaction), each bad one is reported. `upsert`
   * updates the item of a code already in the catalogue (only the columns the file has); `insert` reports it.
   */
  async importCsv(text: string, mode: 'upsert' | 'insert', by: Auditor): Promise<ItemImportReport> {
    const parsed = await parseItemCsv(text);
    const errors = [...parsed.errors];
    let created = 0;
    let updated = 0;
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < parsed.rows.length; i += IMPORT_BATCH) {
        const batch = parsed.rows.slice(i, i + IMPORT_BATCH);
        const written = await this.repo.writeBatch(
          tx,
          parsed.columns,
          batch.map((r) => r.fields),
          mode === 'insert',
        );
        for (const r of batch) {
          const inserted = written.get(r.fields.qr_code);
          if (inserted === undefined) {
            errors.push({
              row: r.row,
              field: 'qr_code',
              message: 'an item with this code exists (mode=insert)',
            });
          } else if (inserted) created++;
          else updated++;
        }
      }
      await this.audit.record(
        {
          ...by,
          action: 'item.import',
          outcome: 'success',
          details: {
            mode,
            rows: parsed.records,
            created,
            updated,
            rejected: parsed.records - created - updated,
          },
        },
        tx,
      );
    });
    errors.sort((a, b) => a.row - b.row);
    return {
      mode,
      rows: parsed.records,
      created,
      updated,
      rejected: parsed.records - created - updated,
      errors,
    };
  }

  /** The whole catalogue as CSV, streamed a page at a time (the columns import reads, in their order). */
  exportCsv(): Readable {
    const repo = this.repo;
    const records = Readable.from(
      (async function* () {
        for await (const item of repo.streamForExport()) {
          yield ITEM_CSV_COLUMNS.map((c) => csvCell(c, item[c]));
        }
      })(),
    );
    const csv = stringify({ header: true, columns: [...ITEM_CSV_COLUMNS] });
    records.on('error', (err) => csv.destroy(err));
    return records.pipe(csv);
  }

  /**
   * The demo catalogue of `npm start` with simulated robots: every code their packaging jobs scan, so a
   * newcomer sees found items. Only into an empty catalogue.
   */
  async seedDemo(codes: readonly { code: string; station: string }[]): Promise<number> {
    if ((await this.repo.count()) > 0) return 0;
    let n = 0;
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < codes.length; i += IMPORT_BATCH) {
        const batch = codes.slice(i, i + IMPORT_BATCH).map(({ code, station }, k) => ({
          qr_code: code,
          sku: `SKU-${code.slice(3)}`,
          name: `Demo item ${code}`,
          description: 'Demo catalogue of the simulated fleet (SIMULATED_ROBOTS)',
          weight_kg: Math.round((0.1 + ((i + k) % 40) * 0.05) * 100) / 100,
          location: station,
          attributes: { demo: true },
        }));
        n += (await this.repo.writeBatch(tx, ITEM_CSV_COLUMNS, batch, true)).size;
      }
    });
    return n;
  }
}

function target(item: ItemView) {
  return { type: 'item', id: String(item.id) };
}
