import type { Logger } from '../logger';
import type { ActivityRow, RobotActivityRepository } from './robot-activity.repository';

const HOUR_MS = 3600_000;
/** Online time is counted, and the counts written, this often. */
export const ACTIVITY_FLUSH_INTERVAL_MS = 10_000;
/** While writes fail, at most this many robot-hour-channel rows wait (the oldest are dropped, counted). */
const MAX_WAITING_ROWS = 200_000;

interface Counter {
  hour: number;
  messages: number;
  last_seen: number | null;
  online_ms: number;
}

export interface RobotActivityOptions {
  repo: RobotActivityRepository;
  logger: Logger;
  /** The robots online now (asked at each flush: their online time since the last one is counted). */
  online: () => Iterable<string>;
  flushIntervalMs?: number;
  now?: () => number;
}

/**
 * Per-robot statistics, cheap on the ingest path: a message costs two map lookups and an increment; the counts
 * are written by the hour (messages and last message per channel, time online) in one statement per interval,
 * like the registry's state.
 */
export class RobotActivity {
  /** robot → channel ('' = online time) → the current hour's counter. */
  private readonly current = new Map<string, Map<string, Counter>>();
  /** Counters of hours that ended (or of a failed write), waiting to be written. */
  private waiting: ActivityRow[] = [];
  private lastTick: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly now: () => number;
  readonly counters = { flushes: 0, write_errors: 0, rows_dropped: 0 };

  constructor(private readonly opts: RobotActivityOptions) {
    this.now = opts.now ?? Date.now;
    this.lastTick = this.now();
  }

  start(): void {
    this.timer ??= setInterval(
      () => void this.flush(),
      this.opts.flushIntervalMs ?? ACTIVITY_FLUSH_INTERVAL_MS,
    );
    this.timer.unref();
  }

  /** One accepted message (the ingest calls it). */
  note(robot_id: string, channel: string, at: number): void {
    const c = this.counter(robot_id, channel, at);
    c.messages++;
    if (c.last_seen === null || at > c.last_seen) c.last_seen = at;
  }

  /** Counts the online robots' time since the last tick, split at hour boundaries. */
  private tick(): void {
    const now = this.now();
    const from = this.lastTick;
    this.lastTick = now;
    if (now <= from) return;
    for (const robot_id of this.opts.online()) {
      for (let start = from; start < now; ) {
        const end = Math.min(now, start - (start % HOUR_MS) + HOUR_MS);
        this.counter(robot_id, '', start).online_ms += end - start;
        start = end;
      }
    }
  }

  private counter(robot_id: string, channel: string, at: number): Counter {
    const hour = at - (at % HOUR_MS);
    let channels = this.current.get(robot_id);
    if (!channels) {
      channels = new Map();
      this.current.set(robot_id, channels);
    }
    let c = channels.get(channel);
    if (!c || c.hour !== hour) {
      if (c) this.park(robot_id, channel, c);
      c = { hour, messages: 0, last_seen: null, online_ms: 0 };
      channels.set(channel, c);
    }
    return c;
  }

  private park(robot_id: string, channel: string, c: Counter): void {
    if (c.messages === 0 && c.online_ms === 0) return;
    this.waiting.push({ robot_id, channel, ...c });
    if (this.waiting.length > MAX_WAITING_ROWS) {
      const dropped = this.waiting.length - MAX_WAITING_ROWS;
      this.waiting.splice(0, dropped);
      this.counters.rows_dropped += dropped;
    }
  }

  /** Counts online time up to now and writes everything counted; one write at a time. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    this.tick();
    for (const [robot_id, channels] of this.current) {
      for (const [channel, c] of channels) this.park(robot_id, channel, c);
    }
    this.current.clear();
    // One row per robot, hour and channel: one INSERT … ON CONFLICT may not update a row twice.
    const rows = mergeRows(this.waiting);
    this.waiting = [];
    if (rows.length === 0) return;
    try {
      await this.opts.repo.add(rows);
      this.counters.flushes++;
    } catch (err) {
      this.counters.write_errors++;
      // Kept for the next flush: the counts are added, so writing them later loses nothing.
      this.waiting = rows.concat(this.waiting);
      if (this.counters.write_errors === 1 || this.counters.write_errors % 100 === 0) {
        this.opts.logger.error(
          { err, rows: rows.length, failures: this.counters.write_errors },
          'robot statistics: write failed, kept for the next flush',
        );
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

function mergeRows(rows: readonly ActivityRow[]): ActivityRow[] {
  const merged = new Map<string, ActivityRow>();
  for (const row of rows) {
    const key = `${row.robot_id}\u0000${row.channel}\u0000${row.hour}`;
    const seen = merged.get(key);
    if (!seen) {
      merged.set(key, { ...row });
      continue;
    }
    seen.messages += row.messages;
    seen.online_ms += row.online_ms;
    if (row.last_seen !== null && (seen.last_seen === null || row.last_seen > seen.last_seen))
      seen.last_seen = row.last_seen;
  }
  return [...merged.values()];
}
