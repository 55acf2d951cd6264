import { afterEach, describe, expect, it } from 'vitest';
import { IngestPressure } from './ingest-pressure';

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: what a 200 ms synchronous answer does to everything else on the loop.
  }
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('IngestPressure', () => {
  const started: IngestPressure[] = [];
  afterEach(() => {
    for (const p of started.splice(0)) p.stop();
  });

  function pressure(queue: { points: number; limit: number }, maxEventLoopDelayMs = 200) {
    // No timer: the test samples when it wants.
    const p = new IngestPressure({ queue: () => queue, maxEventLoopDelayMs, sampleIntervalMs: 3600_000 });
    p.start();
    started.push(p);
    return p;
  }

  it('is under pressure while the store queue is more than half full, and not after', () => {
    const queue = { points: 100_001, limit: 200_000 };
    const p = pressure(queue);
    p.sample();
    expect(p.reason()).toBe('the telemetry store queue is 50 % full');
    queue.points = 100_000;
    p.sample();
    expect(p.reason()).toBeUndefined();
  });

  it('is under pressure after the event loop was held up beyond the bound, until a quiet sample', async () => {
    const p = pressure({ points: 0, limit: 200_000 });
    await tick(30);
    p.sample();
    blockEventLoop(350);
    await tick(30);
    p.sample();
    expect(p.reason()).toMatch(/^the event loop was held up \d+ ms$/);
    await tick(30);
    p.sample();
    expect(p.reason()).toBeUndefined();
  });

  it('ignores event-loop delay when its bound is 0', async () => {
    const p = pressure({ points: 0, limit: 200_000 }, 0);
    blockEventLoop(250);
    await tick(30);
    p.sample();
    expect(p.reason()).toBeUndefined();
  });
});
