import jpeg from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { FRAME_HEIGHT, FRAME_WIDTH, prepareTestPattern, TestPattern } from './test-pattern';

beforeAll(() => prepareTestPattern());

describe('the synthetic test pattern', () => {
  it('assembles frames a strict decoder reads, for any robot id, position and second', () => {
    for (const id of ['r1', 'tonypi_sim_01', 'ABC-xyz_9', 'x'.repeat(64)]) {
      const tp = new TestPattern(id);
      for (let n = 0; n < 20; n++) {
        const img = jpeg.decode(tp.frame(n, 1_700_000_000_000 + n * 1000), { useTArray: true });
        expect([img.width, img.height]).toEqual([FRAME_WIDTH, FRAME_HEIGHT]);
      }
    }
  });

  it('costs a fraction of a millisecond per frame once prepared', () => {
    const tp = new TestPattern('tonypi_sim_01');
    const t = 1_700_000_000_000;
    tp.frame(0, t);
    const started = performance.now();
    for (let n = 0; n < 300; n++) tp.frame(n, t);
    expect((performance.now() - started) / 300).toBeLessThan(2);
  });
});
