import { describe, expect, it } from 'vitest';
import { describeTiming, nextRun, periodFor, periodLabel } from './schedule-periods';

/** Local wall-clock times (the tests run in the machine's zone; the arithmetic is the zone's own). */
const local = (y: number, m: number, d: number, h = 0, min = 0) => new Date(y, m - 1, d, h, min).getTime();
const daily = { frequency: 'daily' as const, at_minute: 6 * 60, weekday: 1, day_of_month: 1 };

describe('report schedule timing', () => {
  it('runs a daily schedule at its time today, or tomorrow once it has passed, for the day before', () => {
    expect(nextRun(daily, local(2026, 12, 3, 5, 59))).toBe(local(2026, 12, 3, 6, 0));
    expect(nextRun(daily, local(2026, 12, 3, 6, 0))).toBe(local(2026, 12, 4, 6, 0));
    expect(nextRun(daily, local(2026, 12, 31, 23, 0))).toBe(local(2027, 1, 1, 6, 0));
    expect(periodFor('daily', local(2026, 12, 3, 6, 0))).toEqual({
      from: local(2026, 12, 2),
      to: local(2026, 12, 3),
    });
    expect(periodLabel('daily', { from: local(2026, 12, 2) })).toBe('2026-12-02');
  });

  it('runs a weekly schedule on its weekday, for the Monday-to-Monday week before', () => {
    const wednesday = { ...daily, frequency: 'weekly' as const, weekday: 3, at_minute: 7 * 60 + 30 };
    // 2026-12-03 is a Thursday: the next Wednesday is 2026-12-09.
    expect(nextRun(wednesday, local(2026, 12, 3, 12))).toBe(local(2026, 12, 9, 7, 30));
    expect(nextRun(wednesday, local(2026, 12, 9, 7, 0))).toBe(local(2026, 12, 9, 7, 30));
    expect(nextRun(wednesday, local(2026, 12, 9, 7, 30))).toBe(local(2026, 12, 16, 7, 30));
    expect(periodFor('weekly', local(2026, 12, 9, 7, 30))).toEqual({
      from: local(2026, 11, 30),
      to: local(2026, 12, 7),
    });
    // A Monday run covers the week that ended that midnight.
    expect(periodFor('weekly', local(2026, 12, 7, 6))).toEqual({
      from: local(2026, 11, 30),
      to: local(2026, 12, 7),
    });
    // Sunday belongs to the week that began the Monday before.
    expect(periodFor('weekly', local(2026, 12, 6, 6))).toEqual({
      from: local(2026, 11, 23),
      to: local(2026, 11, 30),
    });
  });

  it('runs a monthly schedule on its day, for the calendar month before, across the year', () => {
    const fifth = { ...daily, frequency: 'monthly' as const, day_of_month: 5 };
    expect(nextRun(fifth, local(2026, 12, 3))).toBe(local(2026, 12, 5, 6));
    expect(nextRun(fifth, local(2026, 12, 5, 6))).toBe(local(2027, 1, 5, 6));
    expect(periodFor('monthly', local(2027, 1, 5, 6))).toEqual({
      from: local(2026, 12, 1),
      to: local(2027, 1, 1),
    });
    expect(periodFor('monthly', local(2027, 3, 1, 6))).toEqual({
      from: local(2027, 2, 1),
      to: local(2027, 3, 1),
    });
    expect(periodLabel('monthly', { from: local(2026, 12, 1) })).toBe('2026-12');
  });

  it('keeps the wall-clock time across a daylight-saving change: that day is 23 hours long', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      // Clocks went forward on 2026-03-29 at 02:00.
      const before = nextRun(daily, local(2026, 3, 28, 5));
      const after = nextRun(daily, before);
      expect(new Date(after).getHours()).toBe(6);
      expect(after - before).toBe(23 * 3_600_000);
      const p = periodFor('daily', local(2026, 3, 30, 6));
      expect(p.to - p.from).toBe(23 * 3_600_000);
      expect(new Date(p.from).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('says when it runs in words', () => {
    expect(describeTiming(daily, 'UTC')).toBe('Every day at 06:00 (UTC), for the day before');
    expect(describeTiming({ ...daily, frequency: 'weekly', weekday: 0 }, 'UTC')).toMatch(
      /^Every Sunday at 06:00/,
    );
    expect(describeTiming({ ...daily, frequency: 'monthly', day_of_month: 22 }, 'UTC')).toMatch(
      /^On the 22nd of every month/,
    );
  });
});
