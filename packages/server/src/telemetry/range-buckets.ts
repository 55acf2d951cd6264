import type { Resolution } from '@tonypi/contracts';

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export const DEFAULT_RANGE_POINTS = 500;
export const MAX_RANGE_POINTS = 10_000;

/**
 * Bucket sizes a chart can label: 1-2-5 steps below a second, then the usual clock steps. Every size from a
 * minute up is a whole number of minutes, and every size from an hour up a whole number of hours, so minute
 * and hour roll-ups re-aggregate into them exactly.
 */
export const NICE_BUCKETS_MS: readonly number[] = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  SECOND_MS,
  2 * SECOND_MS,
  5 * SECOND_MS,
  10 * SECOND_MS,
  15 * SECOND_MS,
  30 * SECOND_MS,
  MINUTE_MS,
  2 * MINUTE_MS,
  5 * MINUTE_MS,
  10 * MINUTE_MS,
  15 * MINUTE_MS,
  30 * MINUTE_MS,
  HOUR_MS,
  2 * HOUR_MS,
  3 * HOUR_MS,
  6 * HOUR_MS,
  12 * HOUR_MS,
  DAY_MS,
  2 * DAY_MS,
  7 * DAY_MS,
  14 * DAY_MS,
  30 * DAY_MS,
];

/** The wanted point count of a range query: default 500, rounded, clamped to 1 … 10 000. */
export function rangePoints(points: number | undefined): number {
  if (points === undefined || !Number.isFinite(points)) return DEFAULT_RANGE_POINTS;
  return Math.min(MAX_RANGE_POINTS, Math.max(1, Math.round(points)));
}

/**
 * The bucket of a range query: the smallest nice size that is at least `span / points`, so the answer has
 * at most about `points` buckets. 24 h for 1000 points: 86.4 s → 2 min (720 buckets). Beyond the list,
 * whole multiples of 30 days.
 */
export function chooseBucketMs(spanMs: number, points?: number): number {
  const ideal = Math.max(1, spanMs / rangePoints(points));
  for (const size of NICE_BUCKETS_MS) {
    if (size >= ideal) return size;
  }
  const month = 30 * DAY_MS;
  return Math.ceil(ideal / month) * month;
}

/** The coarsest stored resolution that still fits a bucket: hour roll-ups from 1 h, minute roll-ups from 1 min. */
export function resolutionForBucket(bucketMs: number): Resolution {
  if (bucketMs >= HOUR_MS) return '1h';
  if (bucketMs >= MINUTE_MS) return '1m';
  return 'raw';
}

/** A part of a range and the tier (raw rows, minute or hour roll-ups) that answers it. */
export interface Segment {
  source: Resolution;
  from: number;
  to: number;
}

/** Both stores' roll-up watermarks (W) and retention cut-offs (C), epoch ms. */
export interface TierWatermarks {
  w1m: number;
  w1h: number;
  cutRaw: number;
  cut1m: number;
}

/**
 * Which stored table answers which part of [from, to). With W = roll-up watermarks and C = retention
 * cut-offs (C_raw ≤ W_1m and C_1m ≤ W_1h by construction):
 * - 1h buckets: hour roll-ups before W_1h, minute roll-ups up to W_1m, raw after (not rolled up yet);
 * - 1m buckets: hour roll-ups before C_1m (minutes deleted), minute roll-ups up to W_1m, raw after;
 * - raw buckets: raw from C_raw on, minute roll-ups before it, hour roll-ups before C_1m.
 * Roll-up rows are taken by bucket start, so windows not aligned to the roll-up are answered at its grain.
 * The segments are in time order and never overlap.
 */
export function segments(res: Resolution, from: number, to: number, m: TierWatermarks): Segment[] {
  let a: number;
  let b: number;
  if (res === '1h') [a, b] = [m.w1h, m.w1m];
  else if (res === '1m') [a, b] = [m.cut1m, m.w1m];
  else [a, b] = [Math.min(m.cut1m, m.cutRaw), m.cutRaw];
  a = Math.min(a, b);
  const segs: Segment[] = [
    { source: '1h', from, to: Math.min(to, a) },
    { source: '1m', from: Math.max(from, a), to: Math.min(to, b) },
    { source: 'raw', from: Math.max(from, b), to },
  ];
  return segs.filter((s) => s.from < s.to);
}
