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

  describe('paced reads', () => {
    function paced(pacedSlots: number, pacedMaxWaiting = 100) {
      const p = new IngestPressure({
        queue: () => ({ points: 0, limit: 1 }),
        maxEventLoopDelayMs: 0,
        pacedSlots,
        pacedMaxWaiting,
      });
      started.push(p);
      return p;
    }
    /** Which of the turns have been let through so far. */
    async function through(turns: Array<{ ready: Promise<boolean> }>): Promise<boolean[]> {
      const seen = turns.map(() => false);
      turns.forEach((t, i) => void t.ready.then(() => (seen[i] = true)));
      await tick(0);
      return seen;
    }

    it('lets `slots` reads run at once and the next in line go when one is done, in order', async () => {
      const p = paced(2);
      const turns = [p.turn()!, p.turn()!, p.turn()!, p.turn()!];
      expect(await through(turns)).toEqual([true, true, false, false]);
      expect(p.paced()).toEqual({ running: 2, waiting: 2 });
      turns[1]!.done();
      turns[1]!.done(); // a second call gives nothing back twice
      expect(await through(turns)).toEqual([true, true, true, false]);
      expect(await turns[2]!.ready).toBe(true);
      turns[0]!.done();
      expect(await turns[3]!.ready).toBe(true);
      expect(p.paced()).toEqual({ running: 2, waiting: 0 });
      turns[2]!.done();
      turns[3]!.done();
      expect(p.paced()).toEqual({ running: 0, waiting: 0 });
      expect(p.counters.readers_waited).toBe(2);
    });

    it('gives the place of a reader that left the line to the next, and tells it not to run', async () => {
      const p = paced(1);
      const [a, b, c] = [p.turn()!, p.turn()!, p.turn()!];
      b.done();
      expect(await b.ready).toBe(false);
      a.done();
      expect(await c.ready).toBe(true);
      expect(p.paced()).toEqual({ running: 1, waiting: 0 });
    });

    it('refuses a turn when the line is full, and has no line when slots is 0', async () => {
      const p = paced(1, 1);
      const a = p.turn()!;
      expect(p.turn()).toBeDefined();
      expect(p.turn()).toBeUndefined();
      a.done();
      expect(p.paced()).toEqual({ running: 1, waiting: 0 });

      const open = paced(0, 0);
      const turns = Array.from({ length: 50 }, () => open.turn()!);
      expect((await through(turns)).every(Boolean)).toBe(true);
    });

    it('lets everyone in line run when it stops (the server answers what it holds)', async () => {
      const p = paced(1);
      const [, b] = [p.turn()!, p.turn()!];
      p.stop();
      expect(await b.ready).toBe(true);
    });
  });
});
