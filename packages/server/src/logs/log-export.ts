import { Readable } from 'node:stream';
import { LOG_EXPORT_COLUMNS, type LogFilter } from '@tonypi/contracts';
import type { LogExportRow, LogPosition, LogsRepository } from './logs.repository';

/** Rows read per query: big enough that the per-query cost vanishes, small enough to bound memory. */
export const EXPORT_CHUNK_ROWS = 5000;

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
 * quoted when it holds a comma or a quote (RFC 4180).
 */
export function csvCell(value: string | null): string {
  if (value === null) return '';
  if (!NEEDS_CARE.test(value)) return value;
  let s = value;
  if (FORMULA_START.test(s)) s = `'${s}`;
  s = s.replace(CONTROL, ' ');
  return /[",]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvLine(r: LogExportRow): string {
  return `${r.id},${r.timestamp.toISOString()},${csvCell(r.level)},${csvCell(r.category)},${csvCell(
    r.robot_id,
  )},${csvCell(r.source)},${csvCell(r.message)},${csvCell(r.details)}\r\n`;
}

/** One NDJSON line; details are the database's JSON text as they are. */
function jsonLine(r: LogExportRow): string {
  return `{"id":${r.id},"timestamp":"${r.timestamp.toISOString()}","level":${JSON.stringify(r.level)},"category":${JSON.stringify(
    r.category,
  )},"robot_id":${JSON.stringify(r.robot_id)},"source":${JSON.stringify(r.source)},"message":${JSON.stringify(
    r.message,
  )},"details":${r.details ?? 'null'}}\n`;
}

/**
 * The export as a stream read from the database chunk by chunk (keyset pagination, newest first): a chunk
 * is read only when the client has taken the previous one (Readable.from pulls), so a slow download holds
 * one chunk in memory, never the whole result.
 */
export function exportStream(
  repo: Pick<LogsRepository, 'exportChunk'>,
  filter: LogFilter,
  format: 'csv' | 'json',
  chunkRows = EXPORT_CHUNK_ROWS,
): Readable {
  const line = format === 'csv' ? csvLine : jsonLine;
  async function* chunks(): AsyncGenerator<string> {
    if (format === 'csv') yield `${LOG_EXPORT_COLUMNS.join(',')}\r\n`;
    let after: LogPosition | undefined;
    for (;;) {
      const rows = await repo.exportChunk(filter, chunkRows, after);
      if (rows.length === 0) return;
      let out = '';
      for (const r of rows) out += line(r);
      yield out;
      if (rows.length < chunkRows) return;
      const last = rows[rows.length - 1]!;
      after = { ts: last.timestamp.getTime(), id: last.id };
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
