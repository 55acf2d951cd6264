declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A heavy read: while the ingest is under pressure it is refused with 503 and Retry-After
     * instead of run. Telemetry itself never comes through HTTP, so nothing a robot sends is refused.
     */
    shedUnderPressure?: boolean;
    /**
     * A heavy read that takes the event loop for a while (a 24 h range answer: ~1 MB to fold, join and
     * write): at most READER_SLOTS run at once, the others wait in line (READER_WAIT_LIMIT, then 503). Ten
     * of them at once kept the robot list, the live stream and the ingest waiting behind each other.
     */
    paced?: boolean;
  }
}

export interface PacedTurn {
  /** True when the read may run; false when its reader left the line first. */
  ready: Promise<boolean>;
  /** The answer has gone, or its reader has: call once either way (more calls do nothing). */
  done: () => void;
}

export interface IngestPressureOptions {
  /** Points waiting for the telemetry store, and the most that may wait. */
  queue: () => { points: number; limit: number };
  /** Heavy reads are refused while the event loop was held up longer than this, ms; 0 = never for that. */
  maxEventLoopDelayMs: number;
  /** ... or while the store queue is fuller than this share of its limit. */
  maxQueueFill?: number;
  sampleIntervalMs?: number;
  /** Paced reads (routes with `paced`) answered at once; the others wait their turn. 0 = no limit. */
  pacedSlots?: number;
  /** Paced reads that may wait for a slot (100 by default); beyond, they are refused. */
  pacedMaxWaiting?: number;
}

const PROBE_INTERVAL_MS = 10;

/** Seconds a refused reader is asked to wait. */
export const PRESSURE_RETRY_AFTER_S = 1;

/**
 * Whether the ingest is under pressure, sampled a few times a second: the longest event-loop delay
 * since the last sample (the ingest, the broker and every HTTP answer share that loop) and how full
 * the store queue is (beyond INGEST_QUEUE_LIMIT telemetry is shed). Readers back off first.
 */
export class IngestPressure {
  private timer: NodeJS.Timeout | undefined;
  private probe: NodeJS.Timeout | undefined;
  /** The longest wait of the probe timer beyond its interval since the last sample, ms. */
  private maxDelayMs = 0;
  private current: string | undefined;
  readonly counters = { readers_refused: 0, readers_waited: 0 };
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly opts: IngestPressureOptions) {}

  start(): void {
    // A 10 ms timer that fires late says how long the loop was held up (perf_hooks'
    // monitorEventLoopDelay missed a 350 ms synchronous block in a test on Node 20).
    let last = performance.now();
    this.probe ??= setInterval(() => {
      const now = performance.now();
      this.maxDelayMs = Math.max(this.maxDelayMs, now - last - PROBE_INTERVAL_MS);
      last = now;
    }, PROBE_INTERVAL_MS);
    this.probe.unref();
    this.timer ??= setInterval(() => this.sample(), this.opts.sampleIntervalMs ?? 250);
    this.timer.unref();
  }

  /**
   * A turn for a paced read: `ready` resolves once one of `pacedSlots` is free (at once when one is), and
   * `done` gives the slot back when the answer has gone — or leaves the line, for a reader that went away
   * while it waited (`ready` then resolves `false`). Undefined when the line of waiting reads is full.
   */
  turn(): PacedTurn | undefined {
    const slots = this.opts.pacedSlots ?? 0;
    if (slots <= 0) return { ready: Promise.resolve(true), done: () => undefined };
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    let go: (run: boolean) => void = () => undefined;
    const ready = new Promise<boolean>((resolve) => {
      go = resolve;
    });
    const start = () => {
      state = 'running';
      go(true);
    };
    const done = () => {
      if (state === 'done') return;
      if (state === 'waiting') {
        const i = this.waiting.indexOf(start);
        if (i >= 0) this.waiting.splice(i, 1);
        go(false);
      } else {
        const next = this.waiting.shift();
        if (next) next();
        else this.active--;
      }
      state = 'done';
    };
    if (this.active < slots) {
      this.active++;
      start();
    } else if (this.waiting.length >= (this.opts.pacedMaxWaiting ?? 100)) {
      return undefined;
    } else {
      this.counters.readers_waited++;
      this.waiting.push(start);
    }
    return { ready, done };
  }

  /** Paced reads running and waiting now. */
  paced(): { running: number; waiting: number } {
    return { running: this.active, waiting: this.waiting.length };
  }

  stop(): void {
    for (const t of [this.timer, this.probe]) if (t) clearInterval(t);
    this.timer = undefined;
    this.probe = undefined;
    // Whoever waits runs now: the server is closing and answers what it holds.
    for (const start of this.waiting.splice(0)) {
      this.active++;
      start();
    }
  }

  /** Why heavy reads are refused now, or undefined. */
  reason(): string | undefined {
    return this.current;
  }

  sample(): void {
    const delayMs = this.maxDelayMs;
    this.maxDelayMs = 0;
    const { points, limit } = this.opts.queue();
    const fill = limit > 0 ? points / limit : 0;
    const maxFill = this.opts.maxQueueFill ?? 0.5;
    const maxDelay = this.opts.maxEventLoopDelayMs;
    if (fill > maxFill) {
      this.current = `the telemetry store queue is ${Math.round(fill * 100)} % full`;
    } else if (maxDelay > 0 && delayMs > maxDelay) {
      this.current = `the event loop was held up ${Math.round(delayMs)} ms`;
    } else this.current = undefined;
  }
}
