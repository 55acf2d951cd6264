/**
 * Latencies in whole milliseconds, counted per millisecond: a million samples cost no more memory
 * than ten, and histograms from several processes add up. Beyond `maxMs` a sample counts as `maxMs`.
 */
export class LatencyHistogram {
  readonly counts: number[];
  count = 0;

  constructor(
    readonly maxMs = 120_000,
    counts?: readonly number[],
  ) {
    this.counts = counts ? [...counts] : new Array<number>(maxMs + 1).fill(0);
    for (const c of this.counts) this.count += c;
  }

  add(ms: number): void {
    const i = Math.min(this.maxMs, Math.max(0, Math.round(ms)));
    this.counts[i]!++;
    this.count++;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < other.counts.length && i < this.counts.length; i++)
      this.counts[i]! += other.counts[i]!;
    this.count += other.count;
  }

  /** The smallest latency at or below which a fraction `q` of the samples lie; null without samples. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i;
    }
    return this.maxMs;
  }

  /** Sparse form for IPC: [ms, count] pairs. */
  toPairs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.counts.forEach((c, ms) => {
      if (c > 0) out.push([ms, c]);
    });
    return out;
  }

  static fromPairs(pairs: ReadonlyArray<[number, number]>, maxMs = 120_000): LatencyHistogram {
    const h = new LatencyHistogram(maxMs);
    for (const [ms, c] of pairs) {
      h.counts[Math.min(maxMs, ms)]! += c;
      h.count += c;
    }
    return h;
  }
}
