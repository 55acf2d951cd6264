import { describe, expect, it } from 'vitest';
import { parseTimeParam, QUERY_TIME_MAX_MS, TelemetryQuery } from './api';

describe('parseTimeParam', () => {
  it('reads ISO dates and date-times (UTC unless offset), epoch ms and durations', () => {
    expect(parseTimeParam('2026-11-30T10:00:00Z')).toEqual({ at: Date.UTC(2026, 10, 30, 10) });
    expect(parseTimeParam('2026-11-30T12:00:00+02:00')).toEqual({ at: Date.UTC(2026, 10, 30, 10) });
    expect(parseTimeParam('2026-11-30T05:30-0430')).toEqual({ at: Date.UTC(2026, 10, 30, 10) });
    expect(parseTimeParam('2026-11-30T10:00:00.123456Z')).toEqual({
      at: Date.UTC(2026, 10, 30, 10, 0, 0, 123),
    });
    expect(parseTimeParam('2026-11-30')).toEqual({ at: Date.UTC(2026, 10, 30) });
    expect(parseTimeParam('1700000000000')).toEqual({ at: 1_700_000_000_000 });
    expect(parseTimeParam('15m')).toEqual({ ago_ms: 15 * 60_000 });
    expect(parseTimeParam('9999-12-31T23:59:59.999Z')).toEqual({ at: QUERY_TIME_MAX_MS });
  });

  it.each([
    '-271821-04-20T00:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '8640000000000000',
    '1969-12-31T23:59:59Z',
    '2025-02-29',
    '2026-04-31T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:00+24:00',
    '36501d',
    'Tue Dec 01 2026',
    '-5',
    '',
  ])('refuses %j with a sentence', (value) => {
    expect(typeof parseTimeParam(value)).toBe('string');
  });
});

describe('TelemetryQuery', () => {
  it('splits and checks field names, listing every bad parameter at once', () => {
    expect(
      TelemetryQuery.parse({ measurement: 'battery', field: ['percent,voltage_v', 'percent'] }).field,
    ).toEqual(['percent', 'voltage_v']);
    const bad = TelemetryQuery.safeParse({
      measurement: 'nope',
      field: 'A B',
      from: 'x',
      to: '99999999999999999',
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'field',
      'from',
      'measurement',
      'to',
    ]);
  });
});
