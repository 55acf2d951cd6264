import type { Logger } from '../logger';
import type { LogsRepository, NewLogEntry } from './logs.repository';

export interface LogWriterOptions {
  repo: Pick<LogsRepository, 'insertMany'>;
  logger: Logger;
  /** Most entries waiting; beyond it new ones are dropped, counted. */
  queueLimit: number;
  /**
   * Rows per INSERT (100). On the embedded engine each statement holds the event loop (~0.25 ms a row):
   * 500 rows were one stall of up to 150 ms, in which an emergency stop's publishes and answers waited.
   */
  batchSize?: number;
  flushIntervalMs?: number;
}

/**
 * The log's write path, off everyone's hot path: `add` only pushes onto a bounded queue (a flood of robot
 * logs costs an array push each, then counted drops once the queue is full); a timer writes the queue in
 * multi-row INSERTs, one statement at a time.
 */
export class LogWriter {
  private queue: NewLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  readonly counters = {
    queued: 0,
    written: 0,
    dropped_queue_full: 0,
    write_errors: 0,
    dropped_write_error: 0,
  };
  private readonly batchSize: number;
  private errorLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: LogWriterOptions) {
    this.batchSize = opts.batchSize ?? 100;
  }

  add(entry: NewLogEntry | (() => NewLogEntry)): void {
    if (this.queue.length >= this.opts.queueLimit) {
      this.counters.dropped_queue_full++;
      return;
    }
    // Built only when there is room: a flood beyond the limit costs a compare and an increment.
    this.queue.push(typeof entry === 'function' ? entry() : entry);
    this.counters.queued++;
  }

  get depth(): number {
    return this.queue.length;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.opts.flushIntervalMs ?? 250);
    this.timer.unref();
  }

  /** Writes everything queued so far (tests and shutdown wait for it). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.queue.length === 0) return;
    this.writing = this.writeAll().finally(() => {
      this.writing = undefined;
    });
    await this.writing;
  }

  private async writeAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      try {
        await this.opts.repo.insertMany(batch);
        this.counters.written += batch.length;
      } catch (err) {
        // Not retried: a batch the database refuses would be refused again, and the queue must drain.
        this.counters.write_errors++;
        this.counters.dropped_write_error += batch.length;
        const now = Date.now();
        if (now - this.errorLoggedAt > 10_000) {
          this.errorLoggedAt = now;
          this.opts.logger.error({ err, entries: batch.length }, 'logs: entries not written');
        }
        return;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
