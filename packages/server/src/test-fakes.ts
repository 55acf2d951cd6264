/** Pieces the server's tests share (not loaded by the server itself). */
export { waitFor } from '@tonypi/agent/testing';

import type { TelemetryPoint } from '@tonypi/contracts';
import { pino } from 'pino';
import { anonymousAuth, EmbeddedBroker, type EmbeddedBrokerOptions } from './broker/embedded-broker';
import type { LiveSessionSocket } from './live/live-session';
import type { Logger } from './logger';
import type { NewRobot, RobotRow, RobotSeen, RobotsRepository } from './robots/robots.repository';
import {
  type LatestPoint,
  type MaintenanceResult,
  PartialAppendError,
  type RangeResult,
  type TelemetryStore,
  type TelemetryStoreStats,
} from './telemetry/telemetry-store';

/** A logger that keeps every line it is given, parsed. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/** The embedded broker on free loopback ports, anonymous robots allowed, quiet; `opts` override. */
export function startLoopbackBroker(opts: Partial<EmbeddedBrokerOptions> = {}): Promise<EmbeddedBroker> {
  return EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: 0,
    auth: anonymousAuth(true),
    logger: pino({ level: 'silent' }),
    ...opts,
  });
}

/**
 * A live-stream socket that records what it was sent: frames, pings, how it was closed or
 * terminated. `bufferedAmount` is set by the test (a slow browser).
 */
export class FakeLiveSocket implements LiveSessionSocket {
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closed: { code: number | undefined; reason: string | undefined } | undefined;
  pings = 0;
  terminated = false;
  /** Called on every ping: a live peer answers with a pong. */
  onPing: (() => void) | undefined;

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }

  ping(): void {
    this.pings++;
    this.onPing?.();
  }

  terminate(): void {
    this.terminated = true;
  }

  frames(): Array<Record<string, unknown> & { type: string }> {
    return this.sent.map((s) => JSON.parse(s) as Record<string, unknown> & { type: string });
  }

  framesOf(type: string): Array<Record<string, unknown> & { type: string }> {
    return this.frames().filter((f) => f.type === type);
  }

  last(): (Record<string, unknown> & { type: string }) | undefined {
    return this.frames().at(-1);
  }
}

/**
 * A telemetry store in memory. `hold()` makes every append wait until the test releases it (a slow
 * store) or fails it; `failWith` makes appends fail at once; `storeOnly(n)` makes the next append store
 * its first n points and then fail, as a store that writes in parts does.
 */
export class FakeTelemetryStore implements TelemetryStore {
  readonly kind = 'fake';
  readonly stored: TelemetryPoint[] = [];
  appendCalls = 0;
  failWith: Error | undefined;
  /** Runs inside every append (e.g. to move the clock on). */
  onAppend: (() => void) | undefined;
  private gate: Promise<void> | undefined;
  private partial: number | undefined;

  storeOnly(n: number): void {
    this.partial = n;
  }

  hold(): { release(): void; fail(err: Error): void } {
    let release!: () => void;
    let fail!: (err: Error) => void;
    const gate = new Promise<void>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
    gate.catch(() => undefined);
    this.gate = gate;
    const open = () => {
      if (this.gate === gate) this.gate = undefined;
    };
    return {
      release: () => {
        open();
        release();
      },
      fail: (err) => {
        open();
        fail(err);
      },
    };
  }

  async append(points: readonly TelemetryPoint[]): Promise<void> {
    this.appendCalls++;
    if (this.gate) await this.gate;
    this.onAppend?.();
    if (this.failWith) throw this.failWith;
    const partial = this.partial;
    this.partial = undefined;
    if (partial !== undefined) {
      this.stored.push(...points.slice(0, partial));
      throw new PartialAppendError('disk full after part of the batch', partial);
    }
    this.stored.push(...points);
  }

  async init(): Promise<void> {}
  async latest(): Promise<LatestPoint[]> {
    throw new Error('not used by the pipeline');
  }
  async range(): Promise<RangeResult> {
    throw new Error('not used by the pipeline');
  }
  async fields(): Promise<string[]> {
    throw new Error('not used by the pipeline');
  }
  async maintain(): Promise<MaintenanceResult> {
    throw new Error('not used by the pipeline');
  }
  stats(): TelemetryStoreStats {
    return { points_written: this.stored.length, rows_written: 0, flushes: 0, last_flush_ms: 0 };
  }
  async close(): Promise<void> {}
}

/** The part of RobotsRepository the registry uses, in memory, with calls recorded and failures on demand. */
export class FakeRobotsRepository {
  rows: RobotRow[] = [];
  readonly registered: NewRobot[][] = [];
  readonly seen: RobotSeen[][] = [];
  markAllOfflineCalls = 0;
  /** While set, registerMany and recordSeen reject with it. */
  failWith: Error | undefined;

  async markAllOffline(): Promise<number> {
    this.markAllOfflineCalls++;
    return 0;
  }

  async list(): Promise<{ items: RobotRow[]; total: number }> {
    return { items: this.rows, total: this.rows.length };
  }

  async registerMany(robots: readonly NewRobot[]): Promise<string[]> {
    if (this.failWith) throw this.failWith;
    this.registered.push([...robots]);
    return robots.map((r) => r.robot_id);
  }

  async recordSeen(updates: readonly RobotSeen[]): Promise<string[]> {
    if (this.failWith) throw this.failWith;
    this.seen.push([...updates]);
    return updates.map((u) => u.robot_id);
  }

  asRepository(): RobotsRepository {
    return this as unknown as RobotsRepository;
  }
}
