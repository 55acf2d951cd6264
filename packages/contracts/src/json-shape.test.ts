import { describe, expect, it } from 'vitest';
import { jsonShapeProblem, MAX_PAYLOAD_DEPTH, MAX_PAYLOAD_WIDTH } from './json-shape';
import { CommandPayload, JobPayload, StatusPayload } from './payloads';

/** Arrays nested so that the outermost is at level `levels` below the value itself. */
function nest(levels: number): unknown {
  let v: unknown = [];
  for (let i = 1; i < levels; i++) v = [v];
  return v;
}

describe('jsonShapeProblem', () => {
  it('takes scalars and shallow values as fine', () => {
    for (const v of [null, 1, 'x', true, {}, [], { a: [1, { b: 'c' }] }])
      expect(jsonShapeProblem(v)).toBeUndefined();
  });

  it(`counts the payload object as level 1 and allows ${MAX_PAYLOAD_DEPTH} levels`, () => {
    expect(jsonShapeProblem({ a: nest(MAX_PAYLOAD_DEPTH - 1) })).toBeUndefined();
    expect(jsonShapeProblem({ a: nest(MAX_PAYLOAD_DEPTH) })).toEqual({
      reason: 'too_deep',
      key: 'a',
      detail: `a: objects and arrays nested deeper than ${MAX_PAYLOAD_DEPTH} levels`,
    });
    expect(jsonShapeProblem(nest(MAX_PAYLOAD_DEPTH + 1))).toMatchObject({ reason: 'too_deep', key: '' });
  });

  it('walks a million levels without overflowing its stack, stopping at the limit', () => {
    expect(jsonShapeProblem({ deep: nest(1_000_000) })).toMatchObject({ reason: 'too_deep', key: 'deep' });
  });

  it('names the top-level key that holds the problem, however deep it is', () => {
    const value = { ok: { x: 1 }, bad: { inner: [{ list: Array.from({ length: MAX_PAYLOAD_WIDTH + 1 }) }] } };
    expect(jsonShapeProblem(value)).toEqual({
      reason: 'too_wide',
      key: 'bad',
      detail: `bad: an array of ${MAX_PAYLOAD_WIDTH + 1} elements (at most ${MAX_PAYLOAD_WIDTH})`,
    });
  });

  it('counts keys of objects, and own keys only', () => {
    const wide = Object.fromEntries(Array.from({ length: MAX_PAYLOAD_WIDTH + 1 }, (_, i) => [`k${i}`, i]));
    expect(jsonShapeProblem(wide)).toMatchObject({ reason: 'too_wide', key: '' });
    delete wide.k0;
    expect(jsonShapeProblem(wide)).toBeUndefined();
    expect(jsonShapeProblem(JSON.parse('{"__proto__":{"constructor":{"prototype":[]}}}'))).toBeUndefined();
  });

  it('takes other limits and a starting level', () => {
    expect(jsonShapeProblem({ a: { b: {} } }, { maxDepth: 2 })).toMatchObject({
      reason: 'too_deep',
      key: 'a',
    });
    expect(jsonShapeProblem({ b: {} }, { maxDepth: 2, depth: 2 })).toMatchObject({ reason: 'too_deep' });
    expect(jsonShapeProblem([1, 2, 3], { maxWidth: 2 })).toMatchObject({ reason: 'too_wide' });
  });
});

describe('the payload schemas', () => {
  it('refuse free-form parts nested too deep or too wide, naming the reason', () => {
    const parsed = JobPayload.safeParse({ status: 'working', last_item: nest(MAX_PAYLOAD_DEPTH) });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['last_item'], params: { reason: 'too_deep' } });
    const status = StatusPayload.safeParse({
      system_info: { list: Array.from({ length: MAX_PAYLOAD_WIDTH + 1 }) },
    });
    expect(status.error?.issues[0]).toMatchObject({ path: ['system_info'], params: { reason: 'too_wide' } });
  });

  it('bound the params of a command the server sends', () => {
    const base = { command_id: 'c1', type: 'move', ts: 1 };
    expect(CommandPayload.safeParse({ ...base, params: { distance: 1 } }).success).toBe(true);
    expect(CommandPayload.safeParse({ ...base, params: { x: nest(MAX_PAYLOAD_DEPTH) } }).success).toBe(false);
  });
});
