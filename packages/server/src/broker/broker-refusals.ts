import type { Logger } from '../logger';
import { ReasonLog } from '../reason-log';

/** What the embedded broker's limits refused; each reason has its own counter. */
export const BROKER_REFUSALS = [
  'connections_per_address',
  'retained_too_large',
  'retained_robot_limit',
  'retained_total_limit',
  'retained_not_owner',
  'malformed_string',
  'takeover_will_dropped',
  /** A CONNECT refused by authentication (bad secret, anonymous not allowed, a deleted robot …). */
  'auth_refused',
  /** A publish outside the client's own topics (dropped), or on a server topic (client disconnected). */
  'acl_denied',
  /** A subscription outside the robot's own command topics and the broadcasts (SUBACK failure). */
  'subscribe_denied',
] as const;
export type BrokerRefusal = (typeof BROKER_REFUSALS)[number];

/**
 * Counts the broker's refusals per reason and logs them at a bounded rate: the first of a reason at once,
 * then at most one line per reason per interval, with how many were not logged since.
 */
export class BrokerRefusals {
  private readonly log: ReasonLog<BrokerRefusal>;

  constructor(
    logger: Logger,
    intervalMs = 10_000,
    now: () => number = Date.now,
    /** Told of every refusal, with its details (a robot's diagnostics keep its ACL denials). */
    private readonly listener?: (reason: BrokerRefusal, details: Record<string, unknown>) => void,
  ) {
    this.log = new ReasonLog<BrokerRefusal>(logger, intervalMs, now);
  }

  note(reason: BrokerRefusal, details: Record<string, unknown>, message: string): void {
    this.log.note(reason, details, message);
    this.listener?.(reason, details);
  }

  /** Every reason, 0 for those that never happened. */
  counts(): Record<BrokerRefusal, number> {
    return Object.fromEntries(BROKER_REFUSALS.map((r) => [r, this.log.count(r)])) as Record<
      BrokerRefusal,
      number
    >;
  }
}
