/** Pieces the server's tests share (not loaded by the server itself). */
import { pino } from 'pino';
import { anonymousAuth, EmbeddedBroker, type EmbeddedBrokerOptions } from './broker/embedded-broker';
import type { LiveSessionSocket } from './live/live-session';
import type { Logger } from './logger';

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
