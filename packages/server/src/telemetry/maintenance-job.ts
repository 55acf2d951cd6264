import type { Logger } from '../logger';
import type { RetentionPolicy, TelemetryStore } from './telemetry-store';

/**
 * Rolls raw telemetry up into minute/hour buckets and enforces retention, every interval. Runs
 * outside request handling; one run at a time; a failure is logged and retried next time. On a shared store,
 * only the instance holding the `telemetry-maintenance` lease runs it.
 */
export class MaintenanceJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  lastRun: { at: number; ms: number; error?: string } | undefined;

  /** Runs this instance left to the holder of the lease (a store shared by several instances). */
  skipped = 0;

  constructor(
    private readonly store: TelemetryStore,
    private readonly policy: RetentionPolicy,
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
    /**
     * A store several instances share (InfluxDB) is maintained by one of them per period: the one holding this
     * lease. A store of this instance's own (DuckDB in its data dir) needs none.
     */
    private readonly lease?: { acquire: (name: string, ttlMs: number) => Promise<boolean> },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  runOnce(): Promise<void> {
    this.running ??= (async () => {
      const at = Date.now();
      try {
        // Held across three intervals: renewed by each run, lapsing if its holder stops.
        if (this.lease && !(await this.lease.acquire('telemetry-maintenance', this.intervalMs * 3))) {
          this.skipped++;
          return;
        }
        const result = await this.store.maintain(at, this.policy);
        this.lastRun = { at, ms: Date.now() - at };
        this.logger.debug({ ...result, ms: this.lastRun.ms }, 'telemetry maintenance done');
      } catch (err) {
        this.lastRun = { at, ms: Date.now() - at, error: (err as Error).message };
        this.logger.error({ err }, 'telemetry maintenance failed');
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
