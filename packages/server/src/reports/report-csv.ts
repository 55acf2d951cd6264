import type { ReportDocument, ReportStatement, ReportTable } from '@tonypi/contracts';

/**
 * A report's figures as CSV (RFC 4180: comma-separated, CRLF line ends, fields quoted when they hold a comma, a
 * quote, a line break or edge spaces). Each block is one table: a header row `section,table,<the table's column
 * keys>` then its rows, and an empty line before the next block. The statements come first (the summary, then
 * each section's), as a table of their own, so every sentence's figure, unit and period is in the export too.
 *
 * Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) get
 * a leading single quote. Numbers are written as numbers: a negative figure is data, not a formula.
 */

const STATEMENT_COLUMNS: ReportTable['columns'] = [
  { key: 'severity', label: 'Severity', unit: null },
  { key: 'robot_id', label: 'Robot', unit: null },
  { key: 'text', label: 'Statement', unit: null },
  { key: 'figure', label: 'Figure', unit: null },
  { key: 'unit', label: 'Unit', unit: null },
  { key: 'from', label: 'From', unit: null },
  { key: 'to', label: 'To', unit: null },
];

/** One CSV field. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function statementTable(title: string, statements: readonly ReportStatement[]): ReportTable {
  return { title, columns: STATEMENT_COLUMNS, rows: statements.map((s) => ({ ...s })) };
}

function block(section: string, table: ReportTable): string {
  const lines = [['section', 'table', ...table.columns.map((c) => c.key)].map(csvField).join(',')];
  for (const row of table.rows)
    lines.push(
      [section, table.title, ...table.columns.map((c) => row[c.key] ?? null)].map(csvField).join(','),
    );
  return lines.map((l) => `${l}\r\n`).join('');
}

export function reportCsv(doc: ReportDocument): string {
  const blocks = [block('summary', statementTable('Summary', doc.summary))];
  for (const sec of doc.sections) {
    blocks.push(block(sec.key, statementTable('Statements', sec.statements)));
    for (const t of sec.tables) blocks.push(block(sec.key, t));
  }
  return blocks.join('\r\n');
}
