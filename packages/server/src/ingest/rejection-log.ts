import type { IngestRejectReason } from '@tonypi/contracts';
import type { Logger } from '../logger';
import { ReasonLog } from '../reason-log';

/**
 * Counts rejected messages (or dropped fields) per reason and logs them at a bounded rate: the
 * first of a reason at once, then at most one line per reason per interval with how many were not
 * logged.
 */
export class RejectionLog<R extends string = IngestRejectReason> {
  private readonly log: ReasonLog<R>;

  constructor(
    logger: Logger,
    intervalMs: number,
    now: () => number = Date.now,
    /** The log lines: one per logged rejection, and the summary of those not logged. */
    private readonly lines = {
      each: 'ingest: message rejected',
      summary: 'ingest: rejections not logged individually',
    },
  ) {
    this.log = new ReasonLog<R>(logger, intervalMs, now);
  }

  note(reason: R, robot_id: string | undefined, detail: string, topic: string): void {
    this.log.note(
      reason,
      { robot_id, topic: topic.slice(0, 200), detail: detail.slice(0, 500) },
      this.lines.each,
    );
  }

  counts(): Record<string, number> {
    return this.log.counts();
  }

  flushSummary(): void {
    this.log.flushSummary(this.lines.summary);
  }
}
