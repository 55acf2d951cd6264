/** Pieces the server's tests share (not loaded by the server itself). */
import { pino } from 'pino';
import { anonymousAuth, EmbeddedBroker, type EmbeddedBrokerOptions } from './broker/embedded-broker';
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
