/**
 * How column values come back to JavaScript, the same on PGlite and PostgreSQL (node-postgres):
 *
 * | PostgreSQL type          | JavaScript                                                            |
 * | ------------------------ | --------------------------------------------------------------------- |
 * | TIMESTAMPTZ              | `Date` (both engines' default)                                        |
 * | TIMESTAMP (no zone)      | `Date`, the value read as UTC (node-postgres would read it as local)  |
 * | DATE                     | `'YYYY-MM-DD'` string (a calendar day has no instant; no TZ surprises) |
 * | INT2, INT4, FLOAT4/8     | `number`                                                              |
 * | INT8 (BIGINT, count(*))  | `number` — the schema has no BIGINT column; counts and sums stay far  |
 * |                          | below 2^53. node-postgres would give a string, PGlite number|bigint.  |
 * | NUMERIC                  | `string` (exact; both engines' default) — cast to float8 for a number |
 * | JSON, JSONB              | parsed value                                                          |
 *
 * Parameters: pass JSON as a string (`JSON.stringify(v)` with `$n::jsonb`): node-postgres would turn a
 * JS array into a PostgreSQL array literal. Pass timestamps as `Date` or ISO-8601 strings.
 */
export const PgOid = {
  INT8: 20,
  DATE: 1082,
  TIMESTAMP: 1114,
  INT8_ARRAY: 1016,
} as const;

export function parseInt8(value: string): number {
  return Number(value);
}

export function parseDate(value: string): string {
  return value;
}

export function parseTimestampAsUtc(value: string): Date {
  // 'YYYY-MM-DD HH:MM:SS[.ffffff]' from the server; 'infinity' and BC dates give an invalid Date.
  return new Date(`${value.replace(' ', 'T')}Z`);
}

/** Overrides of the engines' default text parsers, keyed by type OID. */
export const textParsers: Readonly<Record<number, (value: string) => unknown>> = {
  [PgOid.INT8]: parseInt8,
  [PgOid.DATE]: parseDate,
  [PgOid.TIMESTAMP]: parseTimestampAsUtc,
};
