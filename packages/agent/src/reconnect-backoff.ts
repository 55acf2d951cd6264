/**
 * Exponential reconnect backoff with jitter: 1 s, 2 s, 4 s … capped at 30 s, each ±20 %. The
 * jitter matters for a fleet: after a broker restart, a hundred robots would otherwise reconnect
 * in lock-step and hit it in the same millisecond, every round.
 */
export class ReconnectBackoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
    private readonly jitter = 0.2,
  ) {}

  /** The delay before the next attempt; each call doubles the one after. */
  next(): number {
    const raw = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const factor = 1 + this.jitter * (2 * this.random() - 1);
    return Math.round(Math.min(this.maxMs, raw * factor));
  }

  reset(): void {
    this.attempt = 0;
  }
}
