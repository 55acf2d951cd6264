import type { ReportDocument } from '@tonypi/contracts';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvField, reportCsv } from './report-csv';
import { generatedInput } from './report-fixtures';
import { buildReport } from './sections';

/** The CSV's blocks, each parsed on its own (blocks have their own columns). */
function blocks(csv: string): string[][][] {
  return csv.split('\r\n\r\n').map((b) => parse(b, { relax_column_count: false }) as string[][]);
}

describe('csvField', () => {
  it('quotes per RFC 4180', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField(null)).toBe('');
    expect(csvField(42.5)).toBe('42.5');
    expect(csvField(-3)).toBe('-3');
    expect(csvField(Number.NaN)).toBe('');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tcmd')).toBe("'\tcmd");
  });
});

describe('reportCsv', () => {
  const doc = buildReport(
    generatedInput([
      { robot_id: 'tonypi_01', hotServos: ['3'] },
      { robot_id: 'tonypi_02', offline: [[600, 720]] },
    ]),
  );
  const csv = reportCsv(doc);

  it('has every table of every section, each with its section,table prefix and header row', () => {
    const parsed = blocks(csv);
    // The summary, then per section its statements and its tables, in order.
    const expected = [
      { section: 'summary', title: 'Summary', keys: null as string[] | null, rows: doc.summary.length },
      ...doc.sections.flatMap((s) => [
        { section: s.key, title: 'Statements', keys: null, rows: s.statements.length },
        ...s.tables.map((t) => ({
          section: s.key,
          title: t.title,
          keys: t.columns.map((c) => c.key),
          rows: t.rows.length,
        })),
      ]),
    ];
    expect(parsed).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      const b = parsed[i]!;
      if (e.keys) expect(b[0]).toEqual(['section', 'table', ...e.keys]);
      expect(b.length - 1, `${e.section} / ${e.title}`).toBe(e.rows);
      for (const row of b.slice(1)) expect(row.slice(0, 2)).toEqual([e.section, e.title]);
    });
    expect(expected.filter((e) => e.keys).length).toBe(doc.sections.flatMap((s) => s.tables).length);
    const av = parsed.find((p) => p[1]?.[1] === 'Availability per robot')!;
    expect(av[0]).toEqual([
      'section',
      'table',
      'robot_id',
      'availability_percent',
      'missing_h',
      'gaps',
      'longest_gap_min',
      'counted_from',
    ]);
    expect(av[2]!.slice(0, 6)).toEqual([
      'availability',
      'Availability per robot',
      'tonypi_02',
      '91.7',
      '2',
      '1',
    ]);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv).not.toMatch(/[^\r]\n/);
  });

  it('carries every statement with its figure, unit and period', () => {
    const summary = blocks(csv)[0]!;
    expect(summary[0]).toEqual([
      'section',
      'table',
      'severity',
      'robot_id',
      'text',
      'figure',
      'unit',
      'from',
      'to',
    ]);
    expect(summary.length - 1).toBe(doc.summary.length);
    const first = doc.summary[0]!;
    expect(summary[1]).toEqual([
      'summary',
      'Summary',
      first.severity,
      first.robot_id ?? '',
      first.text,
      String(first.figure ?? ''),
      first.unit ?? '',
      first.from,
      first.to,
    ]);
  });

  it('defuses formulas in table cells and keeps commas and quotes intact', () => {
    const evil: ReportDocument = {
      ...doc,
      summary: [],
      sections: [
        {
          key: 'alerts',
          title: 'Alerts',
          statements: [],
          charts: [],
          tables: [
            {
              title: 'The alerts that cost the most time',
              columns: [
                { key: 'title', label: 'Title', unit: null },
                { key: 'open_h', label: 'Open', unit: 'h' },
              ],
              rows: [
                { title: '=cmd|"/c calc"!A1', open_h: -1.5 },
                { title: 'Servo 3, "hot"', open_h: null },
              ],
            },
          ],
        },
      ],
    };
    const parsed = blocks(reportCsv(evil));
    const t = parsed[2]!;
    expect(t[1]).toEqual(['alerts', 'The alerts that cost the most time', `'=cmd|"/c calc"!A1`, '-1.5']);
    expect(t[2]).toEqual(['alerts', 'The alerts that cost the most time', 'Servo 3, "hot"', '']);
  });
});
