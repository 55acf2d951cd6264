import { LOG_EXPORT_COLUMNS, type LogFilter } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { openTestPGlite } from '../db/test-databases';
import { csvCell, exportStream } from './log-export';
import { LogsRepository } from './logs.repository';

/** Values a spreadsheet or a JSON reader could trip on; raw control characters as an old row may hold them. */
const HOSTILE = [
  "=cmd|' /C calc'!A0",
  '+SUM(1)',
  '-2+3',
  '@A1',
  '\tTab first',
  '\rCR first',
  'line one\nline two\r\u0007bell\u001b[0m\u007fdel',
  'a, "b"',
  '"quoted"',
  'comma, only',
  'ünïcødé — “quotes” \u2028 ✓ 🤖',
  'back\\slash and /slash',
  '',
  'plain',
];

interface Row {
  id: number;
  timestamp: Date;
  level: string;
  category: string;
  robot_id: string | null;
  source: string | null;
  message: string;
  details: string | null;
}

/** What the export wrote when JavaScript formatted each row (the format the API documents). */
function expected(rows: Row[], format: 'csv' | 'json'): string {
  if (format === 'csv') {
    const cells = (r: Row) =>
      [r.level, r.category, r.robot_id, r.source, r.message, r.details].map(csvCell).join(',');
    return `${LOG_EXPORT_COLUMNS.join(',')}\r\n${rows.map((r) => `${r.id},${r.timestamp.toISOString()},${cells(r)}\r\n`).join('')}`;
  }
  return rows
    .map(
      (r) =>
        `{"id":${r.id},"timestamp":"${r.timestamp.toISOString()}","level":${JSON.stringify(r.level)},"category":${JSON.stringify(
          r.category,
        )},"robot_id":${JSON.stringify(r.robot_id)},"source":${JSON.stringify(r.source)},"message":${JSON.stringify(
          r.message,
        )},"details":${r.details ?? 'null'}}\n`,
    )
    .join('');
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.toString();
  return out;
}

describe('the log export', () => {
  it('writes exactly the CSV cells and NDJSON lines of the documented format, across chunks, newest first', async () => {
    const db = await openTestPGlite();
    const t0 = Date.parse('2026-11-30T12:00:00.123Z');
    // Three rows per millisecond: the keyset (timestamp, id) has to break ties across chunk boundaries.
    await db.query(
      `INSERT INTO system_logs (timestamp, level, level_rank, category, robot_id, source, message, details)
       SELECT to_timestamp(($1::bigint - (g / 3)) / 1000.0), 'WARNING', 30, 'robot',
              CASE WHEN g % 4 = 0 THEN NULL ELSE 'bot_' || g % 2 END,
              CASE WHEN g % 5 = 0 THEN NULL ELSE ($2::text[])[g % array_length($2::text[], 1) + 1] END,
              ($2::text[])[g % array_length($2::text[], 1) + 1],
              CASE WHEN g % 3 = 0 THEN NULL ELSE jsonb_build_object('i', g, 's', ($2::text[])[g % 3 + 1]) END
       FROM generate_series(0, 59) g`,
      [t0, HOSTILE],
    );
    const repo = new LogsRepository(db);
    const { rows } = await db.query<Row>(
      `SELECT id, timestamp, level, category, robot_id, source, message, details::text AS details
       FROM system_logs ORDER BY timestamp DESC, id DESC`,
    );
    expect(rows).toHaveLength(60);
    const filter: LogFilter = { window: { from: t0 - 60_000, to: t0 + 1000 } };
    for (const format of ['csv', 'json'] as const) {
      for (const chunkRows of [7, 60, 5000]) {
        expect(await text(exportStream(repo, filter, format, chunkRows)), `${format} ${chunkRows}`).toBe(
          expected(rows, format),
        );
      }
    }
    // Filters apply as to the list: one robot's rows only, some categories, a level, a text search with
    // a quote, a backslash and a LIKE wildcard in it (plain characters).
    const one = await text(exportStream(repo, { ...filter, robot_id: 'bot_1' }, 'json', 4));
    expect(one).toBe(
      expected(
        rows.filter((r) => r.robot_id === 'bot_1'),
        'json',
      ),
    );
    for (const q of ["' /C calc'", 'back\\slash', '"b"', "'); DROP TABLE system_logs; --", '%']) {
      const found = await text(
        exportStream(repo, { ...filter, q, category: ['robot', 'mqtt'], level: 'WARNING' }, 'json', 5),
      );
      expect(found, `q=${q}`).toBe(
        expected(
          rows.filter((r) => r.message.toLowerCase().includes(q.toLowerCase())),
          'json',
        ),
      );
    }
    expect(await text(exportStream(repo, { ...filter, level: 'ERROR' }, 'csv', 5))).toBe(expected([], 'csv'));
    expect((await db.query('SELECT count(*)::int AS n FROM system_logs')).rows).toEqual([{ n: 60 }]);
  });
});
