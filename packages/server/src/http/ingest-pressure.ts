declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A heavy read: while the ingest is under pressure it is refused with 503 and Retry-After
     * instead of run. Telemetry itself never comes through HTTP, so nothing a robot sends is refused.
     */
    shedUnderPressure?: boolean;
  }
}

export interface IngestPressureOptions {
  /** Points waiting for the telemetry store, and the most that may wait. */
  queue: () => { points: number; limit: number };
  /** Heavy reads are refused while the event loop was held up longer than this, ms; 0 = never for that. */
  maxEventLoopDelayMs: number;
  /** ... or while the store queue is fuller than this share of its limit. */
  maxQueueFill?: number;
  sampleIntervalMs?: number;
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
  readonly counters = { readers_refused: 0 };

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

  stop(): void {
    for (const t of [this.timer, this.probe]) if (t) clearInterval(t);
    this.timer = undefined;
    this.probe = undefined;
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
