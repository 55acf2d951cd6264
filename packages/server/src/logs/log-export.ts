import { Readable } from 'node:stream';
import { LOG_EXPORT_COLUMNS, type LogFilter } from '@tonypi/contracts';
import type { LogPosition, LogsRepository } from './logs.repository';

/** Rows read per query: big enough that the per-query cost vanishes, small enough to bound memory. */
export const EXPORT_CHUNK_ROWS = 10_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
const CONTROL = /[\u0000-\u001f\u007f]/g;
/** What a spreadsheet reads as a formula at the start of a cell (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** Whether a cell needs any of csvCell's treatments: most do not, and are written as they are. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
const NEEDS_CARE = /^[=+\-@]|[\u0000-\u001f\u007f",]/;

/**
 * One CSV cell, safe to open in a spreadsheet: control characters (line breaks too) become spaces, a value
 * that a spreadsheet would run as a formula (`=cmd|…`, `+`, `-`, `@`) is prefixed with `'`, and the cell is
 * quoted when it holds a comma or a quote (RFC 4180). The export's cells are built by the database
 * (logs.repository.ts, csvCellSql); this is their specification, and the export's tests hold the two to it.
 */
export function csvCell(value: string | null): string {
  if (value === null) return '';
  if (!NEEDS_CARE.test(value)) return value;
  let s = value;
  if (FORMULA_START.test(s)) s = `'${s}`;
  s = s.replace(CONTROL, ' ');
  return /[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The export as a stream read from the database chunk by chunk (keyset pagination, newest first), each chunk
 * formatted by the database (logs.repository.ts: the cells csvCell describes, the lines JSON.stringify would
 * write). A chunk is read only when the client has taken the previous one (Readable.from pulls), so a slow
 * download holds one chunk in memory, never the whole result.
 */
export function exportStream(
  repo: Pick<LogsRepository, 'exportChunk'>,
  filter: LogFilter,
  format: 'csv' | 'json',
  chunkRows = EXPORT_CHUNK_ROWS,
): Readable {
  async function* chunks(): AsyncGenerator<string> {
    if (format === 'csv') yield `${LOG_EXPORT_COLUMNS.join(',')}\r\n`;
    let after: LogPosition | undefined;
    for (;;) {
      const chunk = await repo.exportChunk(filter, format, chunkRows, after);
      if (chunk.rows === 0) return;
      yield chunk.text;
      if (chunk.rows < chunkRows || !chunk.last) return;
      after = chunk.last;
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
}

/** `tonypi-logs_20261201T050000Z_20261202T050000Z.csv`: the range in the name, safe in any file system. */
export function exportFileName(window: { from: number; to: number }, format: 'csv' | 'json'): string {
  const stamp = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replaceAll(/[-:]/g, '');
  return `tonypi-logs_${stamp(window.from)}_${stamp(window.to)}.${format === 'csv' ? 'csv' : 'ndjson'}`;
}
