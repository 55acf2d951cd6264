import { describe, expect, it } from 'vitest';
import { CommandRateLimit } from './command-rate-limit';

describe('CommandRateLimit', () => {
  it('lets a burst through, then one command per 1/perS seconds, per user', () => {
    let now = 0;
    const limit = new CommandRateLimit({ perS: 2, burst: 3 }, () => now);
    expect([limit.take('ann'), limit.take('ann'), limit.take('ann')]).toEqual([0, 0, 0]);
    expect(limit.take('ann')).toBe(1);
    // Another user has a bucket of their own.
    expect(limit.take('bob')).toBe(0);
    now = 500;
    expect(limit.take('ann')).toBe(0);
    expect(limit.take('ann')).toBe(1);
  });

  it('answers a Retry-After long enough for the next token', () => {
    let now = 0;
    const limit = new CommandRateLimit({ perS: 0.1, burst: 1 }, () => now);
    expect(limit.take('ann')).toBe(0);
    expect(limit.take('ann')).toBe(10);
    now = 9_000;
    expect(limit.take('ann')).toBe(1);
    now = 10_000;
    expect(limit.take('ann')).toBe(0);
  });
});
