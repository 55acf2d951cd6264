/**
 * The log's levels and categories, without zod: the web app imports this module at run time
 * (`@tonypi/contracts/log-levels`) to filter the live log as the server filters the stored one.
 */

/** The seeds' levels, lowest first; `?level=` means "this one or worse". */
export const SYSTEM_LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type SystemLogLevel = (typeof SYSTEM_LOG_LEVELS)[number];

/** A level's rank as stored (`system_logs.level_rank`): 10 for DEBUG … 50 for CRITICAL. */
export function logLevelRank(level: SystemLogLevel): number {
  return (SYSTEM_LOG_LEVELS.indexOf(level) + 1) * 10;
}

const LEVEL_ALIASES: Readonly<Record<string, SystemLogLevel>> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  information: 'INFO',
  notice: 'INFO',
  warn: 'WARNING',
  warning: 'WARNING',
  error: 'ERROR',
  err: 'ERROR',
  critical: 'CRITICAL',
  crit: 'CRITICAL',
  fatal: 'CRITICAL',
  emergency: 'CRITICAL',
  alert: 'CRITICAL',
};

/** The level a robot's free-form level word means (Python's logging names, syslog's, pino's); INFO if none. */
export function toSystemLogLevel(level: string | undefined): SystemLogLevel {
  return LEVEL_ALIASES[(level ?? '').trim().toLowerCase()] ?? 'INFO';
}

/**
 * What a log entry is about. `robot`: a robot's own `log` message; `mqtt`: robots connecting, going
 * offline, changing status; `alert`, `command`: the alert engine and the command service; `auth`: sign-ins,
 * sign-outs, sessions; `audit`: other audited changes (users, robots, config); `api`: server errors
 * answering a request; `system`: the server itself.
 */
export const LOG_CATEGORIES = [
  'robot',
  'mqtt',
  'alert',
  'command',
  'auth',
  'audit',
  'api',
  'system',
] as const;
export type LogCategory = (typeof LOG_CATEGORIES)[number];
