import type { Queryable } from './database';

export interface TouchBufferOptions {
  db: Queryable;
  /** Table and timestamp column written, e.g. sessions.last_seen_at (fixed names, never user input). */
  table: string;
  column: string;
  /** How often held times are written; a row's time is at most this much behind. */
  flushEveryMs: number;
  logger: { error(obj: object, msg: string): void };
}

/**
 * "Last seen" / "last used" times at a bounded write rate: a request only notes the time in memory;
 * every `flushEveryMs` one UPDATE per row touched since is written (and once more on stop). However
 * many requests a session or key makes, its row is written at most once per interval.
 */
export class TouchBuffer {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** UPDATE statements run (a row already newer, or gone, is left as it is) and failed. */
  readonly counters = { updates: 0, write_errors: 0 };

  constructor(private readonly opts: TouchBufferOptions) {}

  touch(id: string, at = Date.now()): void {
    this.pending.set(id, at);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushEveryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what is held; flushes never overlap. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const { table, column } = this.opts;
    for (const [id, at] of batch) {
      try {
        await this.opts.db.query(
          `UPDATE ${table} SET ${column} = $2 WHERE id = $1 AND (${column} IS NULL OR ${column} < $2)`,
          [id, new Date(at)],
        );
        this.counters.updates++;
      } catch (err) {
        this.counters.write_errors++;
        this.opts.logger.error({ err, table }, `${table}.${column} not written`);
      }
    }
  }
}
