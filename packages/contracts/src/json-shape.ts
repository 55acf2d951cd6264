/**
 * Bounds on the shape of the JSON a robot sends. The byte limit (`MAX_PAYLOAD_BYTES`) bounds how
 * much there is, not how it is nested: 64 KiB hold an array nested 32,000 levels deep. V8's
 * JSON.parse copes with that (it does not recurse), but everything that walks a value recursively
 * afterwards — JSON.stringify of a live frame, a logger, a browser's renderer — overflows its stack
 * a little beyond 4,000 levels (JSON.stringify on Node 20: 4,185 on a fresh stack). So the ingest
 * refuses deep or wide payloads before anything else sees them.
 */

/** Most levels of objects and arrays in one payload; the payload object itself is level 1. */
export const MAX_PAYLOAD_DEPTH = 32;
/** Most keys of one object, or elements of one array, anywhere in a payload. */
export const MAX_PAYLOAD_WIDTH = 4096;

export interface JsonShapeProblem {
  reason: 'too_deep' | 'too_wide';
  /** Which top-level key holds the offending part; '' for the payload object itself. */
  key: string;
  detail: string;
}

export interface JsonShapeLimits {
  maxDepth?: number;
  maxWidth?: number;
  /** The level `value` itself is at (2 for a field of a payload). */
  depth?: number;
}

/**
 * The first way `value` breaks the limits, or undefined. Iterative (an explicit stack, so a deep
 * value cannot overflow this walk either) and stops at the first problem; linear in the value's
 * size. Scalars (strings, numbers) are not looked into: the byte limit bounds them.
 */
export function jsonShapeProblem(value: unknown, limits: JsonShapeLimits = {}): JsonShapeProblem | undefined {
  const maxDepth = limits.maxDepth ?? MAX_PAYLOAD_DEPTH;
  const maxWidth = limits.maxWidth ?? MAX_PAYLOAD_WIDTH;
  const startDepth = limits.depth ?? 1;
  if (value === null || typeof value !== 'object') return undefined;
  if (startDepth > maxDepth) return tooDeep('', maxDepth);
  // Parallel stacks rather than an array of tuples: no allocation per container.
  const values: object[] = [value];
  const depths: number[] = [startDepth];
  const keys: string[] = [''];
  for (let v = values.pop(); v !== undefined; v = values.pop()) {
    const depth = depths.pop() as number;
    const top = keys.pop() as string;
    if (Array.isArray(v)) {
      if (v.length > maxWidth) return tooWide(top, `an array of ${v.length} elements (at most ${maxWidth})`);
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (child === null || typeof child !== 'object') continue;
        if (depth >= maxDepth) return tooDeep(top, maxDepth);
        values.push(child);
        depths.push(depth + 1);
        keys.push(top);
      }
    } else {
      let width = 0;
      const obj = v as Record<string, unknown>;
      for (const k in obj) {
        if (++width > maxWidth) return tooWide(top, `an object with more than ${maxWidth} keys`);
        const child = obj[k];
        if (child === null || typeof child !== 'object') continue;
        // Children of the payload object name themselves; deeper ones keep their top-level key.
        const at = depth === startDepth ? k : top;
        if (depth >= maxDepth) return tooDeep(at, maxDepth);
        values.push(child);
        depths.push(depth + 1);
        keys.push(at);
      }
    }
  }
  return undefined;
}

function tooDeep(key: string, maxDepth: number): JsonShapeProblem {
  return {
    reason: 'too_deep',
    key,
    detail: `${where(key)}objects and arrays nested deeper than ${maxDepth} levels`,
  };
}

function tooWide(key: string, what: string): JsonShapeProblem {
  return { reason: 'too_wide', key, detail: `${where(key)}${what}` };
}

function where(key: string): string {
  return key === '' ? '' : `${key.length > 64 ? `${key.slice(0, 64)}…` : key}: `;
}
