/**
 * Pure helpers for the DuckDB telemetry store's SQL: quoting, the tags-as-JSON text, time buckets and the
 * conversions between JS numbers and DuckDB BIGINT values. No connection, no state (but a parse cache).
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { FIELD_NAME_RE } from '@tonypi/contracts';

/**
 * A column name as a quoted identifier. Names come from MEASUREMENTS or from robots and callers (extra fields,
 * tag filters), so they are checked against FIELD_NAME_RE rather than escaped.
 */
export function ident(name: string): string {
  if (!FIELD_NAME_RE.test(name)) throw new Error(`Invalid identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** A name as a string literal, checked like `ident`. */
export function literal(name: string): string {
  if (!FIELD_NAME_RE.test(name)) throw new Error(`Invalid identifier ${JSON.stringify(name)}`);
  return `'${name}'`;
}

/** SQL expression: the series' tags as JSON text, from the tag columns (qualified by `prefix`). */
export function tagsSqlOf(tags: readonly string[], prefix = ''): string {
  if (tags.length === 0) return `'{}'`;
  return `json_object(${tags.map((t) => `${literal(t)}, ${prefix}${ident(t)}`).join(', ')})::VARCHAR`;
}

/** The tags text of a series, as `tagsSqlOf` builds it in SQL. */
export function tagsJson(
  declared: readonly string[],
  tags: Readonly<Record<string, string>> | undefined,
): string {
  if (declared.length === 0) return '{}';
  const o: Record<string, string | null> = {};
  for (const t of declared) {
    const v = tags?.[t];
    o[t] = v === undefined || v === null ? null : String(v);
  }
  return JSON.stringify(o);
}

/** Few distinct tag texts recur in every result, so their parsed form is cached (bounded). */
const parsedTags = new Map<string, Record<string, string>>();

/** Tags text back to an object (null tags left out); a fresh copy each time, callers may keep it. */
export function parseTags(json: string): Record<string, string> {
  let tags = parsedTags.get(json);
  if (!tags) {
    tags = {};
    for (const [k, v] of Object.entries(JSON.parse(json) as Record<string, unknown>)) {
      if (typeof v === 'string') tags[k] = v;
    }
    if (parsedTags.size < 10_000) parsedTags.set(json, tags);
  }
  return { ...tags };
}

/** `floor(column / bucket) * bucket` with the bucket as an integer literal (a parameter here is ~10× slower). */
export function bucketSql(column: string, bucket: number): string {
  if (!Number.isSafeInteger(bucket) || bucket <= 0) throw new Error(`Invalid bucket ${bucket}`);
  return `(${column} // ${bucket}) * ${bucket}`;
}

/** An epoch-ms parameter for a BIGINT column. */
export function big(ms: number): bigint {
  return BigInt(Math.floor(ms));
}

/** A BIGINT bound; -∞ (no watermark or cut-off yet) becomes the smallest timestamp. */
export function bound(ms: number): bigint {
  return Number.isFinite(ms) ? big(ms) : -(2n ** 62n);
}

/** DOUBLE and BIGINT results as JS numbers (timestamps and counts fit in 2^53). */
export function num(v: DuckDBValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

export function floorTo(ms: number, step: number): number {
  return Math.floor(ms / step) * step;
}
