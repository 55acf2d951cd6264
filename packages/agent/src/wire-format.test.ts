import { describe, expect, it } from 'vitest';
import { createPrng } from './prng';
import { fixed, formatFixed } from './wire-format';

describe('formatFixed', () => {
  it('writes the same JSON number as rounding to the given decimals', () => {
    const rng = createPrng(1);
    for (let i = 0; i < 10_000; i++) {
      const v = rng.range(-500, 500) * (i % 3 === 0 ? 0.01 : 1);
      for (const digits of [0, 1, 2, 3]) {
        const text = formatFixed(v, digits);
        expect(text).toMatch(/^-?\d+(\.\d+)?$/);
        expect(Number(text)).toBe(fixed(v, digits) || 0); // JSON has no -0
      }
    }
  });

  it('handles zero, negatives below one and non-finite values', () => {
    expect(formatFixed(0.0004, 3)).toBe('0');
    expect(formatFixed(-0.05, 2)).toBe('-0.05');
    expect(formatFixed(9.81, 2)).toBe('9.81');
    expect(formatFixed(12, 2)).toBe('12');
    expect(formatFixed(Number.NaN, 2)).toBe('0');
  });
});
