/**
 * Login throttling: failed sign-ins are counted per client address, per account (username, known
 * or not) and per trusted device, each with exponential backoff. Memory is bounded: every counter
 * is an LRU map of fixed size whose entries expire.
 */

/** A map of at most `maxEntries` keys, least recently used evicted first; entries expire. */
export class LruMap<K, V> {
  private readonly map = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (!entry) return undefined;
    this.map.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.map.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, expiresAt: number): void {
    this.map.delete(key);
    this.map.set(key, { value, expiresAt });
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}

export interface BackoffPolicy {
  /** Failures that cost nothing; the next ones lock the key for baseMs, then twice as long each time. */
  freeFailures: number;
  baseMs: number;
  maxMs: number;
  /** A key without failures for this long (after its lock) starts over. */
  forgetAfterMs: number;
}

interface Failures {
  count: number;
  lockedUntil: number;
}

/**
 * Failures per key. Keys below the lockout threshold and locked keys live in two separate LRU
 * maps, so a spray of new keys (a million made-up usernames) pushes out only other unlocked keys,
 * never a lockout.
 */
export class FailureCounter {
  private readonly probation: LruMap<string, Failures>;
  private readonly locked: LruMap<string, Failures>;

  constructor(
    private readonly policy: BackoffPolicy,
    maxEntries: number,
    private readonly now: () => number,
  ) {
    this.probation = new LruMap(maxEntries, now);
    this.locked = new LruMap(maxEntries, now);
  }

  get size(): number {
    return this.probation.size + this.locked.size;
  }

  /** Milliseconds until the key may try again; 0 = now. */
  retryAfterMs(key: string): number {
    const entry = this.locked.get(key);
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  /** Counts a failure; returns how long the key is now locked (0: not yet). */
  fail(key: string): number {
    const { freeFailures, baseMs, maxMs, forgetAfterMs } = this.policy;
    const now = this.now();
    const entry = this.locked.get(key) ?? this.probation.get(key) ?? { count: 0, lockedUntil: 0 };
    entry.count++;
    if (entry.count < freeFailures) {
      this.probation.set(key, entry, now + forgetAfterMs);
      return 0;
    }
    const exponent = Math.min(entry.count - freeFailures, 30);
    const lockMs = Math.min(maxMs, baseMs * 2 ** exponent);
    entry.lockedUntil = now + lockMs;
    this.probation.delete(key);
    this.locked.set(key, entry, entry.lockedUntil + forgetAfterMs);
    return lockMs;
  }

  reset(key: string): void {
    this.probation.delete(key);
    this.locked.delete(key);
  }

  /** Takes back one failure (an attempt counted up front that turned out right). */
  forgive(key: string): void {
    const entry = this.locked.get(key) ?? this.probation.get(key);
    if (!entry) return;
    entry.count = Math.max(0, entry.count - 1);
    if (entry.count < this.policy.freeFailures) {
      entry.lockedUntil = 0;
      this.locked.delete(key);
      this.probation.set(key, entry, this.now() + this.policy.forgetAfterMs);
    }
  }
}

export interface LoginAttempt {
  address: string;
  username: string;
  /**
   * Set when the client proved it signed in as this user before (a device cookie, or a session
   * of the same user): it is then throttled on its own, not by the account's or address's lockout.
   */
  trustedDevice?: string;
}

export interface LoginThrottleOptions {
  now?: () => number;
  /** Keys per counter tier (there are two tiers in each of three counters). */
  maxEntries?: number;
  account?: Partial<BackoffPolicy>;
  address?: Partial<BackoffPolicy>;
  device?: Partial<BackoffPolicy>;
}

const MINUTE = 60_000;
const DEFAULTS = {
  account: { freeFailures: 5, baseMs: 1000, maxMs: 15 * MINUTE, forgetAfterMs: 15 * MINUTE },
  address: { freeFailures: 10, baseMs: 1000, maxMs: 15 * MINUTE, forgetAfterMs: 15 * MINUTE },
  device: { freeFailures: 5, baseMs: 1000, maxMs: 15 * MINUTE, forgetAfterMs: 15 * MINUTE },
} satisfies Record<string, BackoffPolicy>;

/**
 * OWASP's scheme against online guessing: an untrusted client is held back by both its address's
 * and the account's failures (the account counter does not know whether the user exists, so the
 * throttle answers the same for made-up usernames); a trusted device by its own failures only, so
 * an attacker locking an account out does not lock out its owner.
 */
export class LoginThrottle {
  private readonly accounts: FailureCounter;
  private readonly addresses: FailureCounter;
  private readonly devices: FailureCounter;

  constructor(opts: LoginThrottleOptions = {}) {
    const now = opts.now ?? Date.now;
    const max = opts.maxEntries ?? 10_000;
    this.accounts = new FailureCounter({ ...DEFAULTS.account, ...opts.account }, max, now);
    this.addresses = new FailureCounter({ ...DEFAULTS.address, ...opts.address }, max, now);
    this.devices = new FailureCounter({ ...DEFAULTS.device, ...opts.device }, max, now);
  }

  /** Keys held, for tests and metrics. */
  get size(): number {
    return this.accounts.size + this.addresses.size + this.devices.size;
  }

  /**
   * Call before checking the password: returns how long the client must wait, or 0 and counts the
   * attempt as a failure at once — so guesses sent in parallel, all checked before the first one
   * fails, cannot slip past the limit — until succeeded() takes it back.
   */
  begin(a: LoginAttempt): { waitMs: number; locks: { address: number; account: number; device: number } } {
    const waitMs = this.retryAfterMs(a);
    if (waitMs > 0) return { waitMs, locks: { address: 0, account: 0, device: 0 } };
    return { waitMs: 0, locks: this.failed(a) };
  }

  /** Milliseconds to wait before the next attempt, 0 = go ahead (counts nothing). */
  retryAfterMs(a: LoginAttempt): number {
    if (a.trustedDevice) return this.devices.retryAfterMs(a.trustedDevice);
    return Math.max(
      this.addresses.retryAfterMs(addressKey(a.address)),
      this.accounts.retryAfterMs(accountKey(a)),
    );
  }

  /** Counts a failed sign-in; returns the locks it started (ms, 0 = none), for the log. */
  failed(a: LoginAttempt): { address: number; account: number; device: number } {
    if (a.trustedDevice) return { address: 0, account: 0, device: this.devices.fail(a.trustedDevice) };
    return {
      address: this.addresses.fail(addressKey(a.address)),
      account: this.accounts.fail(accountKey(a)),
      device: 0,
    };
  }

  /**
   * A right password clears the account's (or device's) failures; of the address's it takes back
   * only the one begin() counted: one's own account must not buy fresh guesses at others'.
   */
  succeeded(a: LoginAttempt): void {
    if (a.trustedDevice) {
      this.devices.reset(a.trustedDevice);
      return;
    }
    this.accounts.reset(accountKey(a));
    this.addresses.forgive(addressKey(a.address));
  }
}

/** Usernames differing only in case share a counter (cheap insurance should lookups ever fold case). */
const accountKey = (a: LoginAttempt) => a.username.toLowerCase();

/**
 * IPv6 clients usually hold a whole /64: counting per address would give each of them 2^64
 * fresh counters, so they are counted per /64. IPv4-mapped addresses count as IPv4.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!ip.includes(':')) return ip;
  const [head = '', tail] = ip.toLowerCase().split('%')[0]?.split('::') ?? [''];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
