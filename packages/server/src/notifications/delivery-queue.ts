import type { AttemptOutcome } from './attempt';

/** The longest wait between two attempts, whatever the backoff or a Retry-After says. */
export const MAX_RETRY_DELAY_MS = 10 * 60_000;

/**
 * The wait before attempt `next` (2, 3, …): `baseMs` doubled per attempt made, capped, with jitter (between
 * half and all of it) so the retries of many deliveries that failed together do not come back together.
 */
export function backoffMs(next: number, baseMs: number, random: () => number = Math.random): number {
  const full = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, next - 2));
  return Math.round(full * (0.5 + random() / 2));
}

export interface DeliveryWork<T> {
  /** One attempt (1, 2, …); `signal` aborts when the server stops and the grace period is over. */
  attempt(item: T, attempt: number, signal: AbortSignal): Promise<AttemptOutcome>;
  /** After each attempt; `retryInMs` is set when another attempt is scheduled. */
  settled(item: T, attempt: number, outcome: AttemptOutcome, retryInMs: number | undefined): Promise<void>;
}

export interface DeliveryQueueOptions<T> {
  work: DeliveryWork<T>;
  /** Deliveries held at once, waiting, in flight or between attempts, over every lane. */
  limit: number;
  /** Attempts in flight at once per lane (a channel). */
  concurrency: number;
  /** Attempts per delivery, the first included. */
  attempts: number;
  retryBaseMs: number;
  random?: () => number;
  onError?: (err: unknown) => void;
}

interface Job<T> {
  lane: number;
  item: T;
  /** Attempts made so far. */
  made: number;
}

interface Lane<T> {
  waiting: Job<T>[];
  active: number;
}

export type EnqueueResult = 'queued' | 'full' | 'stopped';

/**
 * Deliveries by lane (one per channel), each lane with its own concurrency: a channel whose endpoint hangs or
 * fails holds only its own slots and its own retries, never another channel's. Bounded as a whole: past
 * `limit` a new delivery is refused (the caller counts the drop). `enqueue` only queues (no await, no I/O):
 * it is called on the alert publisher's path.
 */
export class DeliveryQueue<T> {
  private readonly lanes = new Map<number, Lane<T>>();
  private readonly retryTimers = new Map<ReturnType<typeof setTimeout>, Job<T>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly lateRetries: T[] = [];
  private held = 0;
  private stopping = false;
  private readonly random: () => number;

  constructor(private readonly opts: DeliveryQueueOptions<T>) {
    this.random = opts.random ?? Math.random;
  }

  /** Deliveries held: waiting, in flight, or between attempts. */
  get size(): number {
    return this.held;
  }

  /** Attempts in flight now. */
  get active(): number {
    return this.inFlight.size;
  }

  /** Deliveries between two attempts. */
  get waitingRetry(): number {
    return this.retryTimers.size;
  }

  enqueue(lane: number, item: T): EnqueueResult {
    if (this.stopping) return 'stopped';
    if (this.held >= this.opts.limit) return 'full';
    this.held++;
    this.laneOf(lane).waiting.push({ lane, item, made: 0 });
    this.pump(lane);
    return 'queued';
  }

  /** Drops what a lane still waits to send (its channel was deleted); attempts in flight finish. */
  dropLane(lane: number): number {
    const l = this.lanes.get(lane);
    let dropped = 0;
    if (l) {
      dropped += l.waiting.length;
      this.held -= l.waiting.length;
      l.waiting = [];
    }
    for (const [timer, job] of this.retryTimers) {
      if (job.lane !== lane) continue;
      clearTimeout(timer);
      this.retryTimers.delete(timer);
      this.held--;
      dropped++;
    }
    return dropped;
  }

  /**
   * Stops taking deliveries; attempts in flight get `graceMs` to finish, then are aborted (and settle as
   * failed). Returns what was never attempted and what was waiting for a retry, for the caller to report.
   */
  async stop(graceMs: number): Promise<{ unsent: T[]; waitingRetry: T[] }> {
    this.stopping = true;
    const unsent: T[] = [];
    for (const lane of this.lanes.values()) {
      for (const job of lane.waiting) unsent.push(job.item);
      lane.waiting = [];
    }
    const waitingRetry: T[] = [];
    for (const [timer, job] of this.retryTimers) {
      clearTimeout(timer);
      waitingRetry.push(job.item);
    }
    this.retryTimers.clear();
    if (this.inFlight.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
      clearTimeout(timer);
      if (this.inFlight.size > 0) {
        this.abort.abort(new Error('stopping'));
        await Promise.allSettled([...this.inFlight]);
      }
    }
    this.held = 0;
    waitingRetry.push(...this.lateRetries.splice(0));
    return { unsent, waitingRetry };
  }

  private laneOf(lane: number): Lane<T> {
    let l = this.lanes.get(lane);
    if (!l) {
      l = { waiting: [], active: 0 };
      this.lanes.set(lane, l);
    }
    return l;
  }

  private pump(laneId: number): void {
    const lane = this.lanes.get(laneId);
    if (!lane) return;
    while (!this.stopping && lane.active < this.opts.concurrency && lane.waiting.length > 0) {
      const job = lane.waiting.shift() as Job<T>;
      lane.active++;
      const run = this.run(job).finally(() => {
        this.inFlight.delete(run);
        lane.active--;
        this.pump(laneId);
      });
      this.inFlight.add(run);
    }
  }

  private async run(job: Job<T>): Promise<void> {
    job.made++;
    let outcome: AttemptOutcome;
    try {
      outcome = await this.opts.work.attempt(job.item, job.made, this.abort.signal);
    } catch (err) {
      outcome = {
        ok: false,
        retryable: true,
        code: null,
        response: null,
        error: err instanceof Error ? err.message : String(err),
        durationMs: 0,
      };
    }
    let retryInMs: number | undefined;
    if (!outcome.ok && outcome.retryable && job.made < this.opts.attempts && !this.stopping) {
      retryInMs = Math.min(
        MAX_RETRY_DELAY_MS,
        Math.max(backoffMs(job.made + 1, this.opts.retryBaseMs, this.random), outcome.retryAfterMs ?? 0),
      );
    }
    try {
      await this.opts.work.settled(job.item, job.made, outcome, retryInMs);
    } catch (err) {
      this.opts.onError?.(err);
    }
    if (retryInMs === undefined || this.stopping) {
      // Settled as retrying while the server began to stop: reported with those waiting for a retry.
      if (retryInMs !== undefined) this.lateRetries.push(job.item);
      this.held = Math.max(0, this.held - 1);
      return;
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.stopping) return;
      this.laneOf(job.lane).waiting.push(job);
      this.pump(job.lane);
    }, retryInMs);
    this.retryTimers.set(timer, job);
  }
}
