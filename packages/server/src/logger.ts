import { type DestinationStream, type Logger, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

/** `auto`: lines for a person when the output is a terminal, JSON lines (for machines) otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json';

/** Keys whose values never reach a log line, in either format. */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  '["set-cookie"]',
  '*["set-cookie"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'jwtSecret',
  '*.jwtSecret',
  'adminPassword',
  '*.adminPassword',
];

export interface LoggerOptions {
  format?: LogFormat;
  /** Where the lines go (default stdout); whether it is a terminal decides `auto`. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  const out = opts.destination ?? process.stdout;
  const format = opts.format ?? 'auto';
  if (format === 'pretty' || (format === 'auto' && out.isTTY === true)) {
    return pino(options, prettyDestination(out));
  }
  // Written as each entry is made (pino's default stdout stream buffers): the welcome banner, written to
  // stdout after the 'started' entry, then comes after it in a pipe or a log file too.
  return pino(
    options,
    (opts.destination as DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * One readable line per entry: local time, coloured level, message, then the entry's fields as compact JSON
 * (an error's stack below it). Formatted in the writing call, not in a stream pipeline, so the lines come out
 * in order with what the process writes to stdout itself (the welcome banner after "started").
 */
function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean }): DestinationStream {
  const format = prettyFactory({
    colorize: out.isTTY === true && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return { write: (line: string) => void out.write(format(line)) };
}

/** A URL fit for a log line or an error message: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
