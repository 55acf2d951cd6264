/**
 * One timer for the whole fleet. Each member is ticked `rateHz` times a second, and the members'
 * ticks are spread evenly across the period (member i at offset i/N of it) rather than fired in
 * a burst: 100 robots × 100 Hz is a tick every 0.1 ms, handled in small batches per timer wake-up,
 * where a timer per robot would cost 10k timer callbacks a second and bunch the load together.
 */

export interface Tickable {
  tick(nowMs: number, epochMs: number): void;
}

export interface SchedulerClock {
  now(): number;
  epoch(): number;
}

const defaultClock: SchedulerClock = { now: () => performance.now(), epoch: () => Date.now() };

/** Fall further behind than this (a stalled event loop) and the missed ticks are skipped, not burst. */
const MAX_LAG_MS = 250;
/** Yield to I/O (command messages, socket writes) at least after this many ticks in a row. */
const MAX_BATCH = 256;

export class FleetScheduler {
  private readonly slotMs: number;
  private startMs = 0;
  /** Index of the next tick overall; the member is `seq % members.length`. */
  private seq = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private running = false;
  /** Ticks skipped because the process could not keep up. */
  skipped = 0;

  constructor(
    private readonly members: readonly Tickable[],
    rateHz: number,
    private readonly clock: SchedulerClock = defaultClock,
  ) {
    if (!(rateHz > 0)) throw new RangeError('rateHz must be positive');
    this.slotMs = 1000 / rateHz / Math.max(1, members.length);
  }

  start(): void {
    if (this.running || this.members.length === 0) return;
    this.running = true;
    this.startMs = this.clock.now();
    this.seq = 0;
    this.run();
  }

  stop(): void {
    this.running = false;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
  }

  private readonly run = (): void => {
    this.timer = null;
    if (!this.running) return;
    const now = this.clock.now();
    let due = this.startMs + this.seq * this.slotMs;
    if (now - due > MAX_LAG_MS) {
      const behind = Math.floor((now - due) / this.slotMs);
      this.skipped += behind;
      this.seq += behind;
      due = this.startMs + this.seq * this.slotMs;
    }
    const epoch = this.clock.epoch();
    const n = this.members.length;
    let batch = 0;
    while (due <= now && batch < MAX_BATCH) {
      // Stamped and stepped at its due time, so a member's samples stay evenly spaced.
      this.members[this.seq % n]!.tick(due, Math.round(epoch + due - now));
      this.seq++;
      batch++;
      due = this.startMs + this.seq * this.slotMs;
    }
    if (!this.running) return;
    const wait = due - this.clock.now();
    // Behind (batch cap hit): go again right after pending I/O. Ahead: sleep, even when that is
    // less than the 1 ms timer resolution — spinning on setImmediate would burn a core at low rates.
    this.timer = wait <= 0 ? setImmediate(this.run) : setTimeout(this.run, Math.ceil(wait));
  };
}
