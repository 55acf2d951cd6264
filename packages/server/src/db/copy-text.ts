import pg from 'pg';

/** What a backslash sequence of COPY's text format stands for (PostgreSQL writes only these). */
const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One field of COPY's text format: `\N` is NULL, a backslash sequence its character. */
function field(raw: string): string | null {
  if (raw === '\\N') return null;
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c);
}

/**
 * The rows of COPY's text format (Database.copyOut), each an array of its fields: `\n` ends a row, a tab
 * ends a field, and neither appears inside one (PostgreSQL writes them as `\n` and `\t`). One row at a
 * time: a row's strings are garbage once the caller has written it, and die young.
 */
export function* copyRows(text: string): Generator<Array<string | null>> {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    yield text.slice(start, end).split('\t').map(field);
    start = end + 1;
  }
}

/**
 * A statement's `$1, $2 …` replaced by SQL literals, for the statements that take no parameters (COPY):
 * strings quoted by `pg`'s escapeLiteral (libpq's rules), finite numbers as they are, arrays of strings as
 * `ARRAY[…]`. Anything else, and a NUL character (which would end the statement's text), is refused.
 */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  const literal = (v: unknown): string => {
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v === 'string') {
      if (v.includes('\0')) throw new Error('a parameter holds a NUL character');
      return pg.escapeLiteral(v);
    }
    if (Array.isArray(v) && v.length > 0) return `ARRAY[${v.map(literal).join(', ')}]`;
    throw new Error(`inlineParams: unsupported parameter ${typeof v}`);
  };
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new Error(`inlineParams: no parameter $${n}`);
    return literal(params[i]);
  });
}
