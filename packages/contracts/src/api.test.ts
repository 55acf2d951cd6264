import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseTimeParam, QUERY_TIME_MAX_MS, QUERY_WINDOW_MAX_MS, TelemetryQuery } from './api';

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

  describe('the window', () => {
    const NOW = Date.UTC(2026, 11, 1, 12);
    beforeEach(() => {
      vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });
    const issues = (q: Record<string, unknown>) =>
      (TelemetryQuery.safeParse({ measurement: 'battery', ...q }).error?.issues ?? []).map(
        (i) => `${i.path.join('.')}: ${i.message}`,
      );

    it('resolves both ends to epoch ms: to defaults to now, from to an hour before to, durations back from now', () => {
      expect(TelemetryQuery.parse({ measurement: 'battery' }).window).toEqual({
        from: NOW - 3600_000,
        to: NOW,
      });
      expect(TelemetryQuery.parse({ measurement: 'battery', from: '6h', to: '1h' }).window).toEqual({
        from: NOW - 6 * 3600_000,
        to: NOW - 3600_000,
      });
      expect(TelemetryQuery.parse({ measurement: 'battery', to: '2026-11-30' }).window).toEqual({
        from: Date.UTC(2026, 10, 30) - 3600_000,
        to: Date.UTC(2026, 10, 30),
      });
    });

    it('refuses a reversed or empty window, naming both ends', () => {
      expect(issues({ from: '1h', to: '2h' })).toEqual([
        'from: must be before `to`',
        'to: must be before `to`',
      ]);
      expect(issues({ from: '2026-11-30', to: '2026-11-30' })).toHaveLength(2);
      // A `from` in the future and no `to` (now): reversed too.
      expect(issues({ from: '2027-01-01' })).toEqual([
        'from: must be before `to`',
        'to: must be before `to`',
      ]);
    });

    it('refuses a window longer than 3 years, and takes one of exactly 3 years', () => {
      expect(issues({ from: '1980-01-01', to: '2026-01-01' })).toEqual([
        'from: the window may span at most 3 years',
        'to: the window may span at most 3 years',
      ]);
      expect(issues({ from: String(NOW - QUERY_WINDOW_MAX_MS), to: String(NOW) })).toEqual([]);
      expect(issues({ from: String(NOW - QUERY_WINDOW_MAX_MS - 1), to: String(NOW) })).toHaveLength(2);
    });

    it('lists a reversed window together with every other bad field', () => {
      const bad = TelemetryQuery.safeParse({
        measurement: 'weather',
        field: 'A B',
        points: '0',
        from: '1h',
        to: '2h',
      });
      expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
        'field',
        'from',
        'measurement',
        'points',
        'to',
      ]);
    });

    it('does not judge the window when an end is itself not a time (that end’s own issue is listed)', () => {
      expect(issues({ from: 'yesterday', to: '2h' })).toEqual([
        expect.stringMatching(/^from: not a date-time, epoch ms or duration like 6h/),
      ]);
    });
  });
});
