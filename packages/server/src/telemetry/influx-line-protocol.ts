/**
 * InfluxDB line protocol out, InfluxQL text in: the only two languages the InfluxDB store speaks, written by
 * hand (no client library) so the subset stays the one that parses alike on 1.x, 2.x and 3.x.
 * Pure functions, no I/O.
 */
import { FIELD_NAME_RE, isMeasurementName, MEASUREMENTS, type TelemetryPoint } from '@tonypi/contracts';

/** One stored line: measurement, tags (robot_id first, then the measurement's declared tags), float fields. */
export interface LineInput {
  measurement: string;
  tags: Readonly<Record<string, string>>;
  fields: Readonly<Record<string, number>>;
  ts: number;
}

/** Measurement names: `,` and space are escaped. */
export function escapeMeasurement(name: string): string {
  return name.replace(/[, ]/g, (c) => `\\${c}`);
}

/** Tag keys, tag values and field keys: `,`, `=` and space are escaped. */
export function escapeKey(text: string): string {
  return text.replace(/[,= ]/g, (c) => `\\${c}`);
}

/**
 * Why a tag value cannot be written, or undefined when it can. A line ends at a newline, and a backslash is
 * read differently by the versions (1.6 keeps `\\` as two characters and fails on a trailing `\`; 3.x
 * unescapes it): such a value would not come back as it was sent, so the point is refused instead.
 */
export function unwritableTagValue(value: string): string | undefined {
  if (value.length === 0) return 'an empty tag value';
  if (/[\\\n\r]/.test(value)) return 'a tag value with a backslash or a line break';
  return undefined;
}

/**
 * A float field value: finite numbers only (NaN and ±Inf are invalid line protocol), never with an `i`
 * suffix, so a field's type is float on every write (a type conflict rejects the point).
 */
function floatText(v: number): string | undefined {
  if (!Number.isFinite(v)) return undefined;
  return Object.is(v, -0) ? '0' : String(v);
}

/** One line, or undefined when nothing of it can be written (no finite field, an unwritable tag). */
export function encodeLine(p: LineInput): string | undefined {
  let head = escapeMeasurement(p.measurement);
  for (const [k, v] of Object.entries(p.tags)) {
    if (unwritableTagValue(v) !== undefined) return undefined;
    head += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  let fields = '';
  for (const [k, v] of Object.entries(p.fields)) {
    const text = typeof v === 'number' ? floatText(v) : undefined;
    if (text === undefined || Object.hasOwn(p.tags, k)) continue;
    fields += `${fields ? ',' : ''}${escapeKey(k)}=${text}`;
  }
  if (!fields || !Number.isFinite(p.ts)) return undefined;
  return `${head} ${fields} ${Math.round(p.ts)}`;
}

/**
 * The tags a telemetry point is stored with: `robot_id`, then the measurement's declared tags it has (a fixed
 * tag set per measurement: 3.x makes a table's tags immutable). Undeclared tags are not stored.
 */
export function pointTags(p: TelemetryPoint): Record<string, string> {
  const tags: Record<string, string> = { robot_id: p.robot_id };
  const declared: readonly string[] = isMeasurementName(p.measurement)
    ? MEASUREMENTS[p.measurement].tags
    : [];
  for (const t of declared) {
    const v = p.tags?.[t];
    if (v !== undefined && v !== null && String(v) !== '') tags[t] = String(v);
  }
  return tags;
}

/** Escaped field keys by name (null: not a valid field name). Names repeat on every point: escape once. */
const fieldKeys = new Map<string, string | null>();
/** `measurement,robot_id=…,servo_id=…` by measurement, robot and tag values (null: unwritable). */
const heads = new Map<string, string | null>();
const CACHE_LIMIT = 50_000;

function fieldKey(name: string): string | null {
  let key = fieldKeys.get(name);
  if (key === undefined) {
    key = FIELD_NAME_RE.test(name) ? escapeKey(name) : null;
    if (fieldKeys.size >= CACHE_LIMIT) fieldKeys.clear();
    fieldKeys.set(name, key);
  }
  return key;
}

function headOf(p: TelemetryPoint, declared: readonly string[]): string | null {
  let id = `${p.measurement}\u0000${p.robot_id}`;
  for (const t of declared) id += `\u0000${p.tags?.[t] ?? ''}`;
  let head = heads.get(id);
  if (head === undefined) {
    const tags = pointTags(p);
    head = Object.values(tags).some((v) => unwritableTagValue(v) !== undefined)
      ? null
      : escapeMeasurement(p.measurement) +
        Object.entries(tags)
          .map(([k, v]) => `,${escapeKey(k)}=${escapeKey(v)}`)
          .join('');
    if (heads.size >= CACHE_LIMIT) heads.clear();
    heads.set(id, head);
  }
  return head;
}

/**
 * A telemetry point as one raw-tier line, or undefined when it cannot be stored (counted as rejected). The
 * ingest's hot path (50k points a batch): escaped names are cached, values formatted in one pass.
 */
export function encodePoint(p: TelemetryPoint): string | undefined {
  if (!isMeasurementName(p.measurement) || !Number.isFinite(p.ts)) return undefined;
  const declared: readonly string[] = MEASUREMENTS[p.measurement].tags;
  const head = headOf(p, declared);
  if (head === null) return undefined;
  let fields = '';
  for (const k in p.fields) {
    const v = p.fields[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const key = fieldKey(k);
    if (key === null || k === 'robot_id' || declared.includes(k)) continue;
    // v === 0 is true for -0 too, which String() would write as "0" anyway; kept explicit.
    fields += `${fields ? ',' : ''}${key}=${v === 0 ? '0' : String(v)}`;
  }
  if (!fields) return undefined;
  return `${head} ${fields} ${Math.round(p.ts)}`;
}

/** An InfluxQL identifier, double-quoted: `"` and `\` escaped. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

/** An InfluxQL string literal, single-quoted: `'` and `\` escaped, line breaks as `\n` (the scanner's escapes). */
export function quoteString(value: string): string {
  return `'${value.replace(/['\\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}'`;
}

/**
 * The latest time InfluxQL takes as a `…ms` literal (a duration in int64 nanoseconds: 9,223,372,036,854 ms),
 * rounded down: the year 2255. The upper bound of queries that mean "up to now and beyond".
 */
export const MAX_TIME_MS = 9_000_000_000_000;

/** `time >= from AND time < to` with absolute epoch-ms literals (3.x picks a default range without them). */
export function timeBounds(from: number, to: number): string {
  const clamp = (t: number) => Math.max(0, Math.min(MAX_TIME_MS, Math.round(t)));
  return `time >= ${clamp(from)}ms AND time < ${clamp(to)}ms`;
}
