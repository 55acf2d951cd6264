import { Readable } from 'node:stream';
import { ITEM_CSV_COLUMNS, ITEM_IMPORT_MAX_ROWS, ItemFields } from '@tonypi/contracts';
import { CsvError, parse } from 'csv-parse';
import { ApiError } from '../errors';

/**
 * Reads an item catalogue CSV: a header naming the columns (`qr_code` and `name` required, the others of
 * ITEM_CSV_COLUMNS optional, any order), then one item per record. Each record is checked on its own: a
 * bad one is reported (record number, column, what is wrong) and the others go through. What makes the
 * whole file unreadable (broken quoting, no header, an unknown column) is a 400 `invalid_csv`.
 */

export type ItemColumn = (typeof ITEM_CSV_COLUMNS)[number];

export interface CsvItemRow {
  /** The record's number, counting the header as 1. */
  row: number;
  fields: ItemFields;
}

export interface CsvRowError {
  row: number;
  field: string | null;
  message: string;
}

export interface ParsedItemCsv {
  /** The columns of the header: on update, only these change. */
  columns: ItemColumn[];
  rows: CsvItemRow[];
  errors: CsvRowError[];
  /** Data records read. */
  records: number;
}

const invalidCsv = (message: string, details?: unknown) => new ApiError(400, 'invalid_csv', message, details);

/** The text is fed to the parser in pieces of this many characters, so a large file does not hold up the event loop. */
const PARSE_CHUNK_CHARS = 64 * 1024;

export async function parseItemCsv(text: string): Promise<ParsedItemCsv> {
  const records: string[][] = [];
  try {
    const parser = Readable.from(chunks(text)).pipe(
      parse({
        bom: true,
        skip_empty_lines: true,
        relax_column_count: true,
        trim: true,
        max_record_size: 64 * 1024,
      }),
    );
    for await (const record of parser) {
      records.push(record as string[]);
      // One more than allowed (and the header), to tell "too many" from "exactly the limit".
      if (records.length > ITEM_IMPORT_MAX_ROWS + 1) {
        parser.destroy();
        break;
      }
    }
  } catch (err) {
    if (err instanceof CsvError)
      throw invalidCsv(`Not readable as CSV: ${err.message}`, { csv_error: err.code });
    throw err;
  }
  const header = records[0];
  if (!header || header.every((h) => h === '')) throw invalidCsv('The CSV is empty: it needs a header line');
  const columns: ItemColumn[] = [];
  for (const [i, raw] of header.entries()) {
    const name = raw.toLowerCase();
    if (!(ITEM_CSV_COLUMNS as readonly string[]).includes(name)) {
      throw invalidCsv(
        `Unknown column "${raw.slice(0, 64)}" (column ${i + 1}); the columns are ${ITEM_CSV_COLUMNS.join(', ')}`,
      );
    }
    if (columns.includes(name as ItemColumn))
      throw invalidCsv(`Column "${name}" appears twice in the header`);
    columns.push(name as ItemColumn);
  }
  for (const needed of ['qr_code', 'name'] as const) {
    if (!columns.includes(needed)) throw invalidCsv(`The header needs a "${needed}" column`);
  }
  const data = records.slice(1);
  if (data.length > ITEM_IMPORT_MAX_ROWS) {
    throw invalidCsv(`At most ${ITEM_IMPORT_MAX_ROWS} items per import; split the file`);
  }

  const rows: CsvItemRow[] = [];
  const errors: CsvRowError[] = [];
  const seen = new Map<string, number>();
  for (const [i, record] of data.entries()) {
    const row = i + 2;
    if (record.length !== columns.length) {
      errors.push({
        row,
        field: null,
        message: `has ${record.length} values, the header ${columns.length} columns`,
      });
      continue;
    }
    const rowErrors: CsvRowError[] = [];
    const candidate: Record<string, unknown> = {};
    for (const [c, column] of columns.entries()) {
      const cell = record[c]!;
      const value = cellValue(column, cell);
      if (value instanceof Error) rowErrors.push({ row, field: column, message: value.message });
      else candidate[column] = value;
    }
    if (rowErrors.length === 0) {
      const parsed = ItemFields.safeParse(candidate);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const field = String(issue.path[0] ?? '') || null;
          rowErrors.push({ row, field, message: issue.message });
        }
      } else {
        const earlier = seen.get(parsed.data.qr_code);
        if (earlier !== undefined) {
          rowErrors.push({ row, field: 'qr_code', message: `repeats the code of row ${earlier}` });
        } else {
          seen.set(parsed.data.qr_code, row);
          rows.push({ row, fields: parsed.data });
        }
      }
    }
    errors.push(...rowErrors);
  }
  return { columns, rows, errors, records: data.length };
}

function* chunks(text: string): Generator<string> {
  for (let i = 0; i < text.length; i += PARSE_CHUNK_CHARS) yield text.slice(i, i + PARSE_CHUNK_CHARS);
}

/** A cell as its field's value: empty is null (cleared), or missing for the required text columns. */
function cellValue(column: ItemColumn, cell: string): unknown {
  switch (column) {
    case 'qr_code':
    case 'name':
      if (cell === '') return new Error('required');
      return cell;
    case 'weight_kg': {
      if (cell === '') return null;
      const n = Number(cell);
      if (!Number.isFinite(n)) return new Error(`not a number: ${cell.slice(0, 40)}`);
      return n;
    }
    case 'attributes': {
      if (cell === '') return {};
      let value: unknown;
      try {
        value = JSON.parse(cell);
      } catch {
        return new Error('not JSON: write the attributes as a JSON object, e.g. {"colour":"red"}');
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return new Error('must be a JSON object, e.g. {"colour":"red"}');
      }
      return value;
    }
    default:
      return cell === '' ? null : cell;
  }
}

/** A value of an item as a CSV cell (attributes as JSON, an empty object as an empty cell). */
export function csvCell(column: ItemColumn, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (column === 'attributes') {
    return Object.keys(value as object).length === 0 ? '' : JSON.stringify(value);
  }
  return String(value);
}
