import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetScheduler, type Tickable } from './fleet-scheduler';

const clock = { now: () => Date.now(), epoch: () => Date.now() };

function members(n: number): (Tickable & { ticks: number[] })[] {
  return Array.from({ length: n }, () => {
    const ticks: number[] = [];
    return { ticks, tick: (now: number) => ticks.push(now) };
  });
}

describe('FleetScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ticks every member rateHz times a second', () => {
    const ms = members(10);
    const s = new FleetScheduler(ms, 20, clock);
    s.start();
    vi.advanceTimersByTime(1000);
    s.stop();
    for (const m of ms) expect(m.ticks.length).toBeGreaterThanOrEqual(20);
    for (const m of ms) expect(m.ticks.length).toBeLessThanOrEqual(21);
  });

  it('spreads the members across the period instead of firing them together', () => {
    const ms = members(4);
    const s = new FleetScheduler(ms, 10, clock);
    s.start();
    vi.advanceTimersByTime(100);
    s.stop();
    const firsts = ms.map((m) => m.ticks[0]! - 1_000_000);
    expect(firsts).toEqual([0, 25, 50, 75]);
  });

  it('keeps each member evenly spaced at 1/rate', () => {
    const [m] = members(1);
    const s = new FleetScheduler([m!], 50, clock);
    s.start();
    vi.advanceTimersByTime(500);
    s.stop();
    const gaps = m!.ticks.slice(1).map((t, i) => t - m!.ticks[i]!);
    expect(new Set(gaps)).toEqual(new Set([20]));
  });

  it('skips (and counts) ticks it could not run instead of bursting after a stall', () => {
    const ms = members(2);
    const s = new FleetScheduler(ms, 10, clock);
    s.start();
    vi.setSystemTime(Date.now() + 2000); // the event loop was blocked for 2 s
    vi.advanceTimersByTime(50);
    s.stop();
    expect(s.skipped).toBeGreaterThan(30);
    expect(ms[0]!.ticks.length + ms[1]!.ticks.length).toBeLessThan(10);
  });

  it('stops ticking when stopped', () => {
    const ms = members(3);
    const s = new FleetScheduler(ms, 10, clock);
    s.start();
    vi.advanceTimersByTime(200);
    s.stop();
    const count = ms[0]!.ticks.length;
    vi.advanceTimersByTime(1000);
    expect(ms[0]!.ticks.length).toBe(count);
  });
});
