/**
 * Commands a user may send: a token bucket per user, `burst` deep, refilled at `perS` a second. A person
 * clicking fast, or a script retrying in a loop, gets 429 with the seconds until the next token; emergency
 * stops never pass through here.
 */
export class CommandRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly opts: { perS: number; burst: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token: 0 when allowed, else the seconds to wait (at least 1, for Retry-After). */
  take(user: string): number {
    const now = this.now();
    const { perS, burst } = this.opts;
    const b = this.buckets.get(user) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perS);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.buckets.set(user, b);
      return 0;
    }
    this.buckets.set(user, b);
    // Full buckets carry no information: forget them so idle users cost nothing.
    if (this.buckets.size > 10_000) this.prune(now);
    return Math.max(1, Math.ceil((1 - b.tokens) / perS));
  }

  private prune(now: number): void {
    for (const [user, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.opts.perS >= this.opts.burst) this.buckets.delete(user);
    }
  }
}
