import type { IngestRejectReason } from '@tonypi/contracts';
import type { Logger } from '../logger';

/**
 * Counts rejected messages (or dropped fields) per reason and logs them at a bounded rate: the
 * first of a reason at once, then at most one line per reason per interval with how many were not
 * logged.
 */
export class RejectionLog<R extends string = IngestRejectReason> {
  private readonly totals = new Map<R, number>();
  private readonly lastLogged = new Map<R, number>();
  private readonly suppressed = new Map<R, number>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    /** The log lines: one per logged rejection, and the summary of those not logged. */
    private readonly lines = {
      each: 'ingest: message rejected',
      summary: 'ingest: rejections not logged individually',
    },
  ) {}

  note(reason: R, robot_id: string | undefined, detail: string, topic: string): void {
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + 1);
    const now = this.now();
    const last = this.lastLogged.get(reason);
    if (last !== undefined && now - last < this.intervalMs) {
      this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
      return;
    }
    const suppressed = this.suppressed.get(reason) ?? 0;
    this.suppressed.set(reason, 0);
    this.lastLogged.set(reason, now);
    this.logger.warn(
      { reason, robot_id, topic: topic.slice(0, 200), detail: detail.slice(0, 500), suppressed },
      this.lines.each,
    );
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.totals);
  }

  flushSummary(): void {
    for (const [reason, n] of this.suppressed) {
      if (n > 0) this.logger.warn({ reason, suppressed: n }, this.lines.summary);
    }
    this.suppressed.clear();
  }
}
