import type { Logger } from '../logger';

/** What the embedded broker's limits refused; each reason has its own counter. */
export const BROKER_REFUSALS = [
  'connections_per_address',
  'retained_too_large',
  'retained_robot_limit',
  'retained_total_limit',
  'retained_not_owner',
  'malformed_string',
  'takeover_will_dropped',
] as const;
export type BrokerRefusal = (typeof BROKER_REFUSALS)[number];

/**
 * Counts the broker's refusals per reason and logs them at a bounded rate: the first of a reason at once,
 * then at most one line per reason per interval, with how many were not logged since.
 */
export class BrokerRefusals {
  private readonly totals: Record<BrokerRefusal, number> = Object.fromEntries(
    BROKER_REFUSALS.map((r) => [r, 0]),
  ) as Record<BrokerRefusal, number>;
  private readonly lastLogged = new Map<BrokerRefusal, number>();
  private readonly suppressed = new Map<BrokerRefusal, number>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  note(reason: BrokerRefusal, details: Record<string, unknown>, message: string): void {
    this.totals[reason]++;
    const now = this.now();
    const last = this.lastLogged.get(reason);
    if (last !== undefined && now - last < this.intervalMs) {
      this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
      return;
    }
    const suppressed = this.suppressed.get(reason) ?? 0;
    this.suppressed.set(reason, 0);
    this.lastLogged.set(reason, now);
    this.logger.warn({ reason, ...details, suppressed }, message);
  }

  counts(): Record<BrokerRefusal, number> {
    return { ...this.totals };
  }
}
