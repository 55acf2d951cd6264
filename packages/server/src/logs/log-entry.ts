import type { LogCategory, SystemLogLevel } from '@tonypi/contracts';
import type { NewLogEntry } from './logs.repository';

/** Longest message kept (a robot may send 8 KiB; the rest is cut with an ellipsis). */
export const LOG_MESSAGE_MAX = 4000;
/** Longest serialised details kept; beyond it only an excerpt is. */
export const LOG_DETAILS_MAX = 8192;

/**
 * PostgreSQL refuses NUL in text and JSONB; other control characters but tab and newline are shown as
 * U+FFFD so a log line cannot move a terminal's cursor or forge a second line in a viewer.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export function cleanText(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return cut.replace(UNSAFE, '\uFFFD');
}

function serialiseDetails(details: Record<string, unknown> | undefined): string | null {
  if (details === undefined) return null;
  let json: string;
  try {
    json = JSON.stringify(details, (_key, value) =>
      typeof value === 'string' ? value.replace(UNSAFE, '\uFFFD') : value,
    );
  } catch {
    return JSON.stringify({ unserialisable: true });
  }
  // A NUL in a key survives the replacer: keys are rare enough to clean the text once.
  if (json.includes('\\u0000')) json = json.replaceAll('\\u0000', '\\ufffd');
  if (json.length <= LOG_DETAILS_MAX) return json;
  return JSON.stringify({ truncated: true, excerpt: json.slice(0, LOG_DETAILS_MAX / 2) });
}

/** An entry ready for the writer: text bounded and cleaned, details serialised. */
export function logEntry(e: {
  ts: number;
  level: SystemLogLevel;
  category: LogCategory;
  message: string;
  robot_id?: string | null;
  source?: string | null;
  details?: Record<string, unknown>;
}): NewLogEntry {
  return {
    ts: Number.isFinite(e.ts) ? Math.trunc(e.ts) : Date.now(),
    level: e.level,
    category: e.category,
    robot_id: e.robot_id ? e.robot_id.slice(0, 64) : null,
    source: e.source ? cleanText(e.source, 100) : null,
    message: cleanText(e.message, LOG_MESSAGE_MAX),
    details: serialiseDetails(e.details),
  };
}
