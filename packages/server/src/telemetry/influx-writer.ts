/**
 * Writes batches of lines to InfluxDB and decides what each failure means, as the reference's §1.2 policy
 * says: a 4xx partial write is done with (the server kept the good lines; the bad ones are counted, never
 * resent), 5xx / 429 / time-outs / no connection are retried a few times with backoff, and then the store is
 * "down": every write fails at once, without a request, until the backoff is over and one write gets
 * through. Other 4xx (401, 403, 404 no database) are configuration to fix: down too, with the server's words.
 *
 * No buffer of its own: whoever calls keeps what was not written (the ingest has a bounded queue that it puts
 * a failed batch back into, in order, and retries every flush), so points are held in one place only.
 */
import type { InfluxHttp, WriteOutcome } from './influx-http';
import { TelemetryStoreUnavailableError } from './telemetry-store';

/** The most lines in one request: the batch size 2.x documents, well under 3.x's 10 MB request limit. */
export const MAX_LINES_PER_WRITE = 5000;

export interface InfluxWriterOptions {
  /** Waits between the tries of one write while InfluxDB answers 5xx or not at all, ms. Default 100, 400. */
  retryDelaysMs?: readonly number[];
  /** Once down: the wait before the next try, doubled after each failed one up to `max`, ms. Default 1 s … 10 s. */
  backoffMs?: { first: number; max: number };
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface InfluxWriterStats {
  requests: number;
  retries: number;
  lines_written: number;
  /** Lines InfluxDB refused in partial writes (type conflicts, limits) or that could not be encoded. */
  lines_rejected: number;
}

const DEFAULT_RETRY_DELAYS_MS = [100, 400] as const;
const DEFAULT_BACKOFF_MS = { first: 1000, max: 10_000 };

export class InfluxWriter {
  readonly stats: InfluxWriterStats = { requests: 0, retries: 0, lines_written: 0, lines_rejected: 0 };
  /** Why writes fail now, while they do. */
  private down: { reason: string; network: boolean } | undefined;
  private nextTryAt = 0;
  private delayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly http: InfluxHttp,
    private readonly opts: InfluxWriterOptions = {},
  ) {
    this.delayMs = (opts.backoffMs ?? DEFAULT_BACKOFF_MS).first;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = opts.now ?? Date.now;
  }

  /** Why InfluxDB cannot be written now, or null. */
  unavailable(): string | null {
    return this.down?.reason ?? null;
  }

  /** While InfluxDB is unreachable, reads need not wait for their own time-out either. */
  unreachable(): string | null {
    return this.down?.network ? this.down.reason : null;
  }

  /** The next write tries at once, without waiting for the backoff. */
  retryNow(): void {
    this.nextTryAt = 0;
  }

  /** Fails at once while down and the backoff is not over. */
  assertMayTry(): void {
    const wait = this.nextTryAt - this.now();
    if (this.down && wait > 0) {
      throw new TelemetryStoreUnavailableError(
        `${this.down.reason} (next try in ${Math.ceil(wait / 1000)} s)`,
      );
    }
  }

  /**
   * Writes up to MAX_LINES_PER_WRITE lines to `db`. Resolves once InfluxDB has them (or refused some of them
   * for good, counted); rejects when none were written (TelemetryStoreUnavailableError while down).
   */
  async write(db: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    this.assertMayTry();
    // While down, one try per backoff: the retries are for a blip, not for an outage.
    const delays = this.down ? [] : (this.opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS);
    for (let attempt = 0; ; attempt++) {
      this.stats.requests++;
      const outcome = await this.http.write(db, lines);
      const done = await this.settle(db, lines, outcome);
      if (done) return;
      const delay = delays[attempt];
      if (outcome.kind !== 'retry' || delay === undefined) {
        this.markDown(outcome);
        throw new TelemetryStoreUnavailableError(outcomeMessage(outcome));
      }
      this.stats.retries++;
      await this.sleep(delay);
    }
  }

  /** True when the lines are done with (written, or refused for good). */
  private async settle(db: string, lines: readonly string[], outcome: WriteOutcome): Promise<boolean> {
    switch (outcome.kind) {
      case 'ok':
        this.stats.lines_written += lines.length;
        this.up();
        return true;
      case 'partial': {
        // The server kept what it could: resending would store those twice. `rejected` unknown: count none.
        const rejected = Math.min(lines.length, outcome.rejected ?? 0);
        this.stats.lines_rejected += rejected;
        this.stats.lines_written += lines.length - rejected;
        this.up();
        return true;
      }
      case 'too_large': {
        if (lines.length === 1) {
          this.stats.lines_rejected++;
          return true;
        }
        // Halves until they fit; each half is a write of its own (with its own retries).
        const half = Math.ceil(lines.length / 2);
        await this.write(db, lines.slice(0, half));
        await this.write(db, lines.slice(half));
        return true;
      }
      default:
        return false;
    }
  }

  private up(): void {
    this.down = undefined;
    this.delayMs = (this.opts.backoffMs ?? DEFAULT_BACKOFF_MS).first;
    this.nextTryAt = 0;
  }

  private markDown(outcome: WriteOutcome): void {
    const backoff = this.opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    if (this.down) this.delayMs = Math.min(backoff.max, this.delayMs * 2);
    this.down = { reason: outcomeMessage(outcome), network: outcome.kind === 'retry' };
    this.nextTryAt = this.now() + this.delayMs;
  }
}

function outcomeMessage(outcome: WriteOutcome): string {
  return 'message' in outcome ? outcome.message : 'InfluxDB write failed';
}
