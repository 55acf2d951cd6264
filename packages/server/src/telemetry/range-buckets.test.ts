import { describe, expect, it } from 'vitest';
import {
  chooseBucketMs,
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  rangePoints,
  resolutionForBucket,
  SECOND_MS,
} from './range-buckets';

describe('chooseBucketMs', () => {
  it('picks the smallest nice size of at least span / points', () => {
    expect(chooseBucketMs(DAY_MS, 1000)).toBe(2 * MINUTE_MS); // 86.4 s
    expect(chooseBucketMs(HOUR_MS)).toBe(10 * SECOND_MS); // 7.2 s with the default 500 points
    expect(chooseBucketMs(7 * DAY_MS, 500)).toBe(30 * MINUTE_MS); // 20.16 min
    expect(chooseBucketMs(60 * SECOND_MS, 60)).toBe(SECOND_MS); // exact fit
    expect(chooseBucketMs(0)).toBe(1);
  });

  it('goes on in whole 30-day steps beyond the list', () => {
    expect(chooseBucketMs(3 * 365 * DAY_MS, 1)).toBe(37 * 30 * DAY_MS);
  });
});

describe('rangePoints', () => {
  it('defaults to 500 and clamps to 1 … 10 000', () => {
    expect(rangePoints(undefined)).toBe(500);
    expect(rangePoints(Number.NaN)).toBe(500);
    expect(rangePoints(0)).toBe(1);
    expect(rangePoints(12.6)).toBe(13);
    expect(rangePoints(1e9)).toBe(10_000);
  });
});

describe('resolutionForBucket', () => {
  it('uses hour roll-ups from 1 h, minute roll-ups from 1 min, raw below', () => {
    expect(resolutionForBucket(30 * SECOND_MS)).toBe('raw');
    expect(resolutionForBucket(MINUTE_MS)).toBe('1m');
    expect(resolutionForBucket(30 * MINUTE_MS)).toBe('1m');
    expect(resolutionForBucket(HOUR_MS)).toBe('1h');
    expect(resolutionForBucket(DAY_MS)).toBe('1h');
  });
});
