/** Small formatting helpers shared by the payload builders: they run for every message. */

/** A finite number rounded to `digits` decimals (JSON has no NaN or Infinity). */
export function fixed(v: number, digits: number): number {
  if (!Number.isFinite(v)) return 0;
  const f = POW10[digits] ?? 10 ** digits;
  return Math.round(v * f) / f;
}

const POW10 = [1, 10, 100, 1000, 10000];
const ZEROS = ['', '0', '00', '000', '0000'];

/**
 * `fixed(v, digits)` as JSON text, by integer arithmetic: about 4× faster than converting the
 * rounded double, which matters at tens of thousands of readings a second. May keep trailing
 * zeros ("10.80"), which is still the same JSON number.
 */
export function formatFixed(v: number, digits: number): string {
  const f = POW10[digits];
  if (f === undefined || !Number.isFinite(v)) return String(fixed(v, digits));
  let n = Math.round(v * f);
  if (n === 0) return '0';
  const negative = n < 0;
  if (negative) n = -n;
  const whole = Math.floor(n / f);
  const frac = n - whole * f;
  let text: string;
  if (frac === 0) text = String(whole);
  else {
    const fracText = String(frac);
    text = `${whole}.${ZEROS[digits - fracText.length]}${fracText}`;
  }
  return negative ? `-${text}` : text;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * The legacy client's timestamp: Python's `datetime.now().isoformat()` — local time, no zone,
 * microseconds only when non-zero.
 */
export function isoLocal(ms: number): string {
  const d = new Date(ms);
  const base = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(
    d.getMinutes(),
  )}:${pad2(d.getSeconds())}`;
  const millis = d.getMilliseconds();
  return millis === 0 ? base : `${base}.${String(millis * 1000).padStart(6, '0')}`;
}

/** JSON string literal for a value known to be a plain string. */
export const q = (s: string): string => JSON.stringify(s);

/** Zod-style issues as one line: `params.servo_id: expected number; type: invalid option`. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}
