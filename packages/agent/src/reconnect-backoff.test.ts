import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from './reconnect-backoff';

describe('ReconnectBackoff', () => {
  it('doubles from 1 s up to 30 s', () => {
    const b = new ReconnectBackoff(1000, 30_000, () => 0.5);
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('starts again from 1 s after a successful connection', () => {
    const b = new ReconnectBackoff(1000, 30_000, () => 0.5);
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it('adds ±20 % jitter, never above the cap', () => {
    const low = new ReconnectBackoff(1000, 30_000, () => 0);
    const high = new ReconnectBackoff(1000, 30_000, () => 0.999999);
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
    for (let i = 0; i < 10; i++) high.next();
    expect(high.next()).toBe(30_000);
  });
});
