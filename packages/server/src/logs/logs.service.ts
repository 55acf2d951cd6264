import type { Readable } from 'node:stream';
import type { LogFilter, LogList, LogStats } from '@tonypi/contracts';
import type { z } from 'zod';
import { validationError } from '../errors';
import type { Logger } from '../logger';
import { exportFileName, exportStream } from './log-export';
import type { LogWriter } from './log-writer';
import type { LogPosition, LogsRepository } from './logs.repository';

const DAY_MS = 86_400_000;
/** Retention deletes this many rows per statement, so one run never holds the database for long. */
const PRUNE_BATCH = 10_000;
/**
 * Rows written since the last ANALYZE after which the embedded engine, which runs no autovacuum, analyses
 * again: without statistics a burst of logs makes the reads sort whole ranges (an export 5× slower).
 */
export const ANALYZE_AFTER_ROWS = 50_000;

/** The cursor is the last row's time and id, opaque to clients. */
export function encodeCursor(p: LogPosition): string {
  return Buffer.from(`${p.ts}.${p.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): LogPosition | undefined {
  const m = /^(\d{1,16})\.(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) return undefined;
  return { ts: Number(m[1]), id: Number(m[2]) };
}

export interface LogsServiceOptions {
  repo: LogsRepository;
  writer: LogWriter;
  logger: Logger;
  retentionMs: number;
  now?: () => number;
  /** Default ANALYZE_AFTER_ROWS. */
  analyzeAfterRows?: number;
}

/** Reads of the log (list, stats, export) and its retention. */
export class LogsService {
  readonly counters = { pruned: 0, prune_errors: 0, analyses: 0 };
  private readonly now: () => number;
  /** The writer's `written` count at the last ANALYZE. */
  private analyzedAtWritten = 0;

  constructor(private readonly opts: LogsServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  get writer(): LogWriter {
    return this.opts.writer;
  }

  async list(q: LogFilter & { limit: number; cursor?: string }): Promise<z.infer<typeof LogList>> {
    let after: LogPosition | undefined;
    if (q.cursor !== undefined) {
      after = decodeCursor(q.cursor);
      if (!after)
        throw validationError([{ field: 'querystring.cursor', message: 'not a cursor this API returned' }]);
    }
    // One more than asked says whether there is a next page.
    const rows = await this.opts.repo.paginate(q, q.limit + 1, after);
    const more = rows.length > q.limit;
    const items = more ? rows.slice(0, q.limit) : rows;
    const last = items.at(-1);
    return {
      items,
      next_cursor: more && last ? encodeCursor({ ts: Date.parse(last.timestamp), id: last.id }) : null,
    };
  }

  async stats(q: LogFilter): Promise<z.infer<typeof LogStats>> {
    const s = await this.opts.repo.stats(q);
    return { from: new Date(q.window.from).toISOString(), to: new Date(q.window.to).toISOString(), ...s };
  }

  export(q: LogFilter, format: 'csv' | 'json'): { stream: Readable; fileName: string } {
    return { stream: exportStream(this.opts.repo, q, format), fileName: exportFileName(q.window, format) };
  }

  /** The periodic job: retention, then fresh planner statistics for the reads. */
  async maintain(): Promise<void> {
    await this.prune();
    await this.analyze();
  }

  /**
   * Fresh planner statistics once the writer has written `analyzeAfterRows` rows since the last ANALYZE (the
   * embedded engine's stand-in for autovacuum, checked every minute). Returns whether it analysed.
   */
  async analyzeIfGrown(): Promise<boolean> {
    const grown = this.opts.writer.counters.written - this.analyzedAtWritten;
    if (grown < (this.opts.analyzeAfterRows ?? ANALYZE_AFTER_ROWS)) return false;
    await this.analyze();
    return true;
  }

  private async analyze(): Promise<void> {
    this.analyzedAtWritten = this.opts.writer.counters.written;
    try {
      await this.opts.repo.analyze();
      this.counters.analyses++;
    } catch (err) {
      this.opts.logger.warn({ err }, 'logs: ANALYZE failed, tried again at the next run');
    }
  }

  /** Deletes entries older than the retention (LOG_RETENTION_DAYS); returns how many went. */
  async prune(): Promise<number> {
    const before = this.now() - this.opts.retentionMs;
    let total = 0;
    try {
      for (;;) {
        const n = await this.opts.repo.deleteOlderThan(before, PRUNE_BATCH);
        total += n;
        if (n < PRUNE_BATCH) break;
      }
    } catch (err) {
      this.counters.prune_errors++;
      this.opts.logger.error({ err }, 'logs: retention failed, tried again at the next run');
    }
    this.counters.pruned += total;
    if (total > 0)
      this.opts.logger.info(
        { deleted: total, retention_days: this.opts.retentionMs / DAY_MS },
        'logs: retention',
      );
    return total;
  }
}
