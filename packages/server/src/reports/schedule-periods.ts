import type { ScheduleFrequency } from '@tonypi/contracts';

/**
 * When a report schedule runs and what each run covers, in the server's time zone (the process's `TZ`): the
 * calendar day, week (Monday to Monday) or month that ended last. Local-time Date arithmetic, so a day across a
 * daylight-saving change is 23 or 25 hours, as a person counts it.
 */
export interface ScheduleTiming {
  frequency: ScheduleFrequency;
  /** Minutes after local midnight. */
  at_minute: number;
  /** weekly: 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** monthly: 1–28. */
  day_of_month: number;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const at = (y: number, m: number, d: number, minute = 0) =>
  new Date(y, m, d, Math.floor(minute / 60), minute % 60, 0, 0).getTime();

/** The first run strictly after `after` (epoch ms). */
export function nextRun(t: ScheduleTiming, after: number): number {
  const d = new Date(after);
  const [y, m, day] = [d.getFullYear(), d.getMonth(), d.getDate()];
  if (t.frequency === 'daily') {
    const today = at(y, m, day, t.at_minute);
    return today > after ? today : at(y, m, day + 1, t.at_minute);
  }
  if (t.frequency === 'weekly') {
    const ahead = (t.weekday - d.getDay() + 7) % 7;
    const candidate = at(y, m, day + ahead, t.at_minute);
    return candidate > after ? candidate : at(y, m, day + ahead + 7, t.at_minute);
  }
  const candidate = at(y, m, t.day_of_month, t.at_minute);
  return candidate > after ? candidate : at(y, m + 1, t.day_of_month, t.at_minute);
}

/** The period a run at `runAt` covers: the calendar day, week or month that ended last at or before it. */
export function periodFor(frequency: ScheduleFrequency, runAt: number): { from: number; to: number } {
  const d = new Date(runAt);
  const [y, m, day] = [d.getFullYear(), d.getMonth(), d.getDate()];
  if (frequency === 'daily') return { from: at(y, m, day - 1), to: at(y, m, day) };
  if (frequency === 'weekly') {
    const sinceMonday = (d.getDay() + 6) % 7;
    return { from: at(y, m, day - sinceMonday - 7), to: at(y, m, day - sinceMonday) };
  }
  return { from: at(y, m - 1, 1), to: at(y, m, 1) };
}

const pad = (n: number) => String(n).padStart(2, '0');
/** A local date as YYYY-MM-DD. */
export function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export const timeOfDay = (minute: number) => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;
export const parseTimeOfDay = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** A run's period in words for its title: "2026-12-02", "week of 2026-11-23", "2026-11". */
export function periodLabel(frequency: ScheduleFrequency, period: { from: number }): string {
  if (frequency === 'daily') return localDate(period.from);
  if (frequency === 'weekly') return `week of ${localDate(period.from)}`;
  return localDate(period.from).slice(0, 7);
}

const ordinal = (n: number) =>
  `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`;

/** When a schedule runs and what it covers, in words. */
export function describeTiming(t: ScheduleTiming, timeZone: string): string {
  const time = `${timeOfDay(t.at_minute)} (${timeZone})`;
  if (t.frequency === 'daily') return `Every day at ${time}, for the day before`;
  if (t.frequency === 'weekly')
    return `Every ${WEEKDAYS[t.weekday]} at ${time}, for the week before (Monday to Sunday)`;
  return `On the ${ordinal(t.day_of_month)} of every month at ${time}, for the month before`;
}

/** The server's time zone, which schedule times are in. */
export function serverTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
