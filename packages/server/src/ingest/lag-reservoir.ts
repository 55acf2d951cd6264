/** The last N latency samples, for p50/p99 without a histogram library. */
export class LagReservoir {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(size: number) {
    this.samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.filled < this.samples.length) this.filled++;
  }

  quantile(q: number): number | null {
    if (this.filled === 0) return null;
    const sorted = this.samples.slice(0, this.filled).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }

  reset(): void {
    this.next = 0;
    this.filled = 0;
  }
}
