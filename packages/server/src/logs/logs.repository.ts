import {
  type LogCategory,
  type LogEntry,
  type LogFilter,
  logLevelRank,
  type SystemLogLevel,
} from '@tonypi/contracts';
import type { Queryable } from '../db/database';

/** One entry as the recorder hands it to the writer: already bounded and cleaned (log-entry.ts). */
export interface NewLogEntry {
  /** Epoch ms. */
  ts: number;
  level: SystemLogLevel;
  category: LogCategory;
  robot_id: string | null;
  source: string | null;
  message: string;
  /** Serialised JSON object, or null. */
  details: string | null;
}

/** Where a page or an export chunk ended: the last row's time and id (keyset pagination, newest first). */
export interface LogPosition {
  ts: number;
  id: number;
}

interface LogRow {
  id: number;
  timestamp: Date;
  level: string;
  category: string;
  robot_id: string | null;
  source: string | null;
  message: string;
  details: Record<string, unknown> | null;
}

/** A chunk of an export, formatted by the database: its lines, how many, and where it ended. */
export interface LogExportChunk {
  /** The chunk's lines, each with its line end (CSV: CR LF; NDJSON: LF). */
  text: string;
  rows: number;
  /** The last (oldest) row's position: where the next chunk starts. Undefined when the chunk is empty. */
  last?: LogPosition;
}

/**
 * log-export.ts' csvCell in SQL for a text column, but for its control characters: a formula's first
 * character (=, +, -, @, tab, CR) gets a `'` prefix, a cell with a quote or a comma is quoted. The control
 * characters (U+0001–U+001F, DEL) become spaces once per line (CSV_LINE): a space neither adds nor removes a
 * quote or a comma, so the cells come out as csvCell writes them.
 */
function csvCellSql(v: string): string {
  const prefixed = `CASE WHEN left(${v}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || ${v} ELSE ${v} END`;
  return `CASE WHEN ${v} IS NULL THEN ''
    WHEN strpos(${v}, '"') > 0 OR strpos(${v}, ',') > 0 THEN '"' || replace(${prefixed}, '"', '""') || '"'
    ELSE ${prefixed} END`;
}

/** A JSON value of a text column, `null` for NULL: what JSON.stringify writes. */
const jsonSql = (v: string) => `COALESCE(to_json(${v})::text, 'null')`;

/** The time as Date.prototype.toISOString writes it (UTC, milliseconds). */
const ISO_TIME = `to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * One export line per row, built by the database (columns of `c` in exportChunk; details as JSON text): a
 * chunk comes back as one text value instead of thousands of rows for PGlite to parse into objects and for
 * JavaScript to format again, which was most of the export's time.
 */
const EXPORT_LINE = {
  csv: `regexp_replace(id::text || ',' || ${ISO_TIME} || ',' || ${[
    'level',
    'category',
    'robot_id',
    'source',
    'message',
    'details',
  ]
    .map(csvCellSql)
    .join(` || ',' || `)}, '[\\x01-\\x1f\\x7f]', ' ', 'g') || E'\\r\\n'`,
  json: `'{"id":' || id::text || ',"timestamp":"' || ${ISO_TIME} || '","level":' || ${jsonSql('level')}
    || ',"category":' || ${jsonSql('category')} || ',"robot_id":' || ${jsonSql('robot_id')}
    || ',"source":' || ${jsonSql('source')} || ',"message":' || ${jsonSql('message')}
    || ',"details":' || COALESCE(details, 'null') || E'}\\n'`,
} as const;

const COLUMNS = 8;

/** `%`, `_` and the escape character itself are plain characters in a search. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The WHERE clause of a filter, its parameters numbered from 1. */
function where(f: LogFilter, after?: LogPosition): { sql: string; params: unknown[] } {
  const params: unknown[] = [new Date(f.window.from).toISOString(), new Date(f.window.to).toISOString()];
  const parts = ['timestamp >= $1::timestamptz', 'timestamp < $2::timestamptz'];
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value);
    parts.push(clause(`$${params.length}`));
  };
  if (f.level) add((n) => `level_rank >= ${n}`, logLevelRank(f.level));
  if (f.category?.length) add((n) => `category = ANY(${n}::text[])`, f.category);
  if (f.robot_id) add((n) => `robot_id = ${n}`, f.robot_id);
  if (f.q) add((n) => `message ILIKE ${n} ESCAPE '\\'`, likePattern(f.q));
  if (after) {
    params.push(new Date(after.ts).toISOString(), after.id);
    parts.push(`(timestamp, id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  return { sql: parts.join(' AND '), params };
}

/** SQL of `system_logs` (issue #7 §5). */
export class LogsRepository {
  constructor(private readonly db: Queryable) {}

  /** One multi-row INSERT. */
  async insertMany(entries: readonly NewLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const params: unknown[] = [];
    const values: string[] = [];
    for (const e of entries) {
      const n = params.length;
      values.push(
        `($${n + 1}::timestamptz, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8}::jsonb)`,
      );
      params.push(
        new Date(e.ts).toISOString(),
        e.level,
        logLevelRank(e.level),
        e.category,
        e.robot_id,
        e.source,
        e.message,
        e.details,
      );
    }
    if (params.length !== entries.length * COLUMNS) throw new Error('log insert: column count mismatch');
    await this.db.query(
      `INSERT INTO system_logs (timestamp, level, level_rank, category, robot_id, source, message, details)
       VALUES ${values.join(', ')}`,
      params,
    );
  }

  /** A page, newest first, after `cursor` (exclusive). */
  async paginate(f: LogFilter, limit: number, after?: LogPosition): Promise<LogEntry[]> {
    const w = where(f, after);
    const { rows } = await this.db.query<LogRow>(
      `SELECT id, timestamp, level, category, robot_id, source, message, details
       FROM system_logs WHERE ${w.sql} ORDER BY timestamp DESC, id DESC LIMIT ${Math.trunc(limit)}`,
      w.params,
    );
    return rows.map(toEntry);
  }

  /**
   * The next chunk of an export, newest first, formatted as CSV or NDJSON lines by the database (the same
   * text as log-export.ts' csvCell and JSON.stringify write) and joined into one value.
   */
  async exportChunk(
    f: LogFilter,
    format: 'csv' | 'json',
    size: number,
    after?: LogPosition,
  ): Promise<LogExportChunk> {
    const w = where(f, after);
    const { rows } = await this.db.query<{
      text: string | null;
      rows: number;
      last_ms: number | null;
      last_id: number | null;
    }>(
      `WITH c AS (
         SELECT id, timestamp, level, category, robot_id, source, message, details::text AS details
         FROM system_logs WHERE ${w.sql} ORDER BY timestamp DESC, id DESC LIMIT ${Math.trunc(size)})
       SELECT string_agg(${EXPORT_LINE[format]}, '' ORDER BY timestamp DESC, id DESC) AS text,
         count(*)::int AS rows,
         floor(extract(epoch FROM min(timestamp)) * 1000)::float8 AS last_ms,
         (array_agg(id ORDER BY timestamp, id))[1] AS last_id
       FROM c`,
      w.params,
    );
    const r = rows[0];
    if (!r || r.rows === 0 || r.text === null || r.last_ms === null || r.last_id === null) {
      return { text: '', rows: 0 };
    }
    return { text: r.text, rows: r.rows, last: { ts: r.last_ms, id: Number(r.last_id) } };
  }

  /** Counts by level, by category and by robot (the 100 busiest) in one pass. */
  async stats(f: LogFilter): Promise<{
    total: number;
    by_level: Record<string, number>;
    by_category: Record<string, number>;
    by_robot: Array<{ robot_id: string | null; count: number }>;
  }> {
    const w = where(f);
    const { rows } = await this.db.query<{
      level: string | null;
      category: string | null;
      robot_id: string | null;
      g_level: number;
      g_category: number;
      g_robot: number;
      n: number;
    }>(
      `SELECT level, category, robot_id, GROUPING(level) AS g_level, GROUPING(category) AS g_category,
              GROUPING(robot_id) AS g_robot, count(*)::int AS n
       FROM system_logs WHERE ${w.sql}
       GROUP BY GROUPING SETS ((level), (category), (robot_id), ())`,
      w.params,
    );
    const out = {
      total: 0,
      by_level: {} as Record<string, number>,
      by_category: {} as Record<string, number>,
      by_robot: [] as Array<{ robot_id: string | null; count: number }>,
    };
    for (const r of rows) {
      if (r.g_level === 0) out.by_level[r.level ?? ''] = r.n;
      else if (r.g_category === 0) out.by_category[r.category ?? ''] = r.n;
      else if (r.g_robot === 0) out.by_robot.push({ robot_id: r.robot_id, count: r.n });
      else out.total = r.n;
    }
    out.by_robot.sort((a, b) => b.count - a.count || String(a.robot_id).localeCompare(String(b.robot_id)));
    out.by_robot.splice(100);
    return out;
  }

  /**
   * Fresh planner statistics. PGlite runs no autovacuum: without them, after a burst of inserts the planner
   * takes the table for empty and sorts a whole range instead of walking the (timestamp, id) index.
   */
  async analyze(): Promise<void> {
    await this.db.query('ANALYZE system_logs');
  }

  /** Deletes entries older than `before` (epoch ms), at most `batch` at a time; returns how many. */
  async deleteOlderThan(before: number, batch: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM system_logs WHERE id IN (
         SELECT id FROM system_logs WHERE timestamp < $1::timestamptz LIMIT ${Math.trunc(batch)})`,
      [new Date(before).toISOString()],
    );
    return rowCount;
  }
}

function toEntry(r: LogRow): LogEntry {
  return {
    id: r.id,
    timestamp: r.timestamp.toISOString(),
    level: r.level as LogEntry['level'],
    category: r.category as LogEntry['category'],
    robot_id: r.robot_id,
    source: r.source,
    message: r.message,
    details: r.details,
  };
}
