import { describe, expect, it, vi } from 'vitest';
import { LagReservoir } from './lag-reservoir';

/** A reservoir on a clock the test moves. */
function reservoir(size: number) {
  let clock = 0;
  const lag = new LagReservoir(size, 1000, () => clock);
  return {
    lag,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('LagReservoir', () => {
  it('has no quantiles before the first sample', () => {
    const { lag } = reservoir(10);
    expect(lag.quantiles()).toEqual({ p50: null, p99: null });
  });

  it('gives p50 and p99 of the samples, in numeric order', () => {
    const { lag } = reservoir(1000);
    // Added out of order, with values that would sort differently as text (9 > 10 > 100).
    for (let v = 100; v >= 1; v--) lag.add(v * 10 - 1);
    expect(lag.quantiles()).toEqual({ p50: 509, p99: 999 });
  });

  it('keeps only the last `size` samples', () => {
    const { lag } = reservoir(4);
    for (const v of [1000, 1000, 1000, 1000, 1, 2, 3, 4]) lag.add(v);
    expect(lag.quantiles()).toEqual({ p50: 3, p99: 4 });
  });

  it('reuses its figures while nothing was added, however long it waits', () => {
    const { lag, advance } = reservoir(100);
    lag.add(5);
    const sort = vi.spyOn(Float64Array.prototype, 'sort');
    try {
      const first = lag.quantiles();
      advance(60_000);
      expect(lag.quantiles()).toEqual(first);
      expect(sort).toHaveBeenCalledTimes(1);
    } finally {
      sort.mockRestore();
    }
  });

  it('sorts once for both quantiles, and not again for reads within a second of new samples', () => {
    const { lag, advance } = reservoir(100);
    lag.add(5);
    const sort = vi.spyOn(Float64Array.prototype, 'sort');
    try {
      expect(lag.quantiles()).toEqual({ p50: 5, p99: 5 });
      lag.add(7);
      advance(999);
      for (let i = 0; i < 50; i++) expect(lag.quantiles()).toEqual({ p50: 5, p99: 5 });
      expect(sort).toHaveBeenCalledTimes(1);
    } finally {
      sort.mockRestore();
    }
  });

  it('takes new samples into account once the figures are a second old', () => {
    const { lag, advance } = reservoir(100);
    lag.add(5);
    expect(lag.quantiles()).toEqual({ p50: 5, p99: 5 });
    lag.add(7);
    lag.add(9);
    advance(1000);
    expect(lag.quantiles()).toEqual({ p50: 7, p99: 9 });
  });

  it('forgets its samples and figures on reset', () => {
    const { lag } = reservoir(10);
    lag.add(5);
    expect(lag.quantiles()).toEqual({ p50: 5, p99: 5 });
    lag.reset();
    expect(lag.quantiles()).toEqual({ p50: null, p99: null });
    lag.add(8);
    expect(lag.quantiles()).toEqual({ p50: 8, p99: 8 });
  });
});
