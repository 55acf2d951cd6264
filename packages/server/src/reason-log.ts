import type { Logger } from './logger';

/**
 * Counts events per reason and logs them at a bounded rate: the first of a reason at once, then at most one
 * line per reason per interval, with how many were not logged since (`suppressed`). Shared by the ingest's
 * rejections and dropped fields and the broker's refusals, so a flood of bad input costs a few log lines.
 */
export class ReasonLog<R extends string> {
  private readonly totals = new Map<R, number>();
  private readonly lastLogged = new Map<R, number>();
  private readonly suppressed = new Map<R, number>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  note(reason: R, fields: Record<string, unknown>, message: string): void {
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
    this.logger.warn({ reason, ...fields, suppressed }, message);
  }

  count(reason: R): number {
    return this.totals.get(reason) ?? 0;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.totals);
  }

  /** One line per reason with occurrences not logged since its last line (at shutdown). */
  flushSummary(message: string): void {
    for (const [reason, n] of this.suppressed) {
      if (n > 0) this.logger.warn({ reason, suppressed: n }, message);
    }
    this.suppressed.clear();
  }
}
