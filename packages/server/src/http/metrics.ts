import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** A sampled value: read when Prometheus scrapes, never counted on the hot path. */
export interface Sampled {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** One value, or values by label. */
  read: () => number | Array<{ labels: Record<string, string>; value: number }>;
  labelNames?: string[];
}

export function createMetrics(sampled: Sampled[]): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tonypi_process_' });
  for (const s of sampled) {
    const Metric = s.type === 'counter' ? Counter : Gauge;
    new Metric({
      name: s.name,
      help: s.help,
      labelNames: s.labelNames ?? [],
      registers: [registry],
      collect() {
        const v = s.read();
        const metric = this as unknown as {
          reset(): void;
          inc?(l: object, n: number): void;
          set?(l: object, n: number): void;
        };
        metric.reset();
        const values = typeof v === 'number' ? [{ labels: {}, value: v }] : v;
        for (const { labels, value } of values) {
          if (metric.set) metric.set(labels, value);
          else metric.inc?.(labels, value);
        }
      },
    });
  }
  return registry;
}
