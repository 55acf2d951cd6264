import { type HealthResponse, PROTOCOL_VERSION } from '@tonypi/contracts';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { ComponentHealth, ModuleStatus } from '../core/module';
import { createMetrics } from './metrics';

export type Health = z.infer<typeof HealthResponse>;

export interface StatusBoardOptions {
  version: string;
  startedAt: number;
  now?: () => number;
}

/**
 * What `/api/v1/health` and `/metrics` report: the modules' contributions, in module order. It knows no
 * domain: each module says what it depends on (`components`), its figures (`health`), its warnings and its
 * metrics; the composition root adds each module's status as the module is created.
 */
export class StatusBoard {
  private readonly statuses: Array<{ module: string; status: ModuleStatus }> = [];
  private registry: Registry | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: StatusBoardOptions) {
    this.now = opts.now ?? Date.now;
  }

  add(module: string, status: ModuleStatus | undefined): void {
    if (!status) return;
    if (this.registry) throw new Error(`Module ${module} adds its status after /metrics was first read`);
    this.statuses.push({ module, status });
  }

  /** Each component's state and every module's figures; `degraded` when a component is down. */
  async health(): Promise<Health> {
    const components: Record<string, ComponentHealth> = {};
    const sections: Record<string, unknown> = {};
    const warnings: string[] = [];
    const parts = await Promise.all(
      this.statuses.map(async ({ status }) => ({
        components: await status.components?.(),
        health: await status.health?.(),
        warnings: status.warnings?.(),
      })),
    );
    for (const part of parts) {
      Object.assign(components, part.components);
      Object.assign(sections, part.health);
      if (part.warnings) warnings.push(...part.warnings);
    }
    const up = Object.values(components).every((c) => c.status === 'up');
    // The modules' figures are checked against the HealthResponse schema as the answer is sent.
    return {
      status: up ? 'ok' : 'degraded',
      version: this.opts.version,
      protocol_version: PROTOCOL_VERSION,
      uptime_s: Math.round((this.now() - this.opts.startedAt) / 1000),
      components,
      ...sections,
      warnings,
    } as Health;
  }

  /** The Prometheus registry of every module's metrics, built on first use (once every module is in). */
  metrics(): Registry {
    this.registry ??= createMetrics(this.statuses.flatMap(({ status }) => status.metrics ?? []));
    return this.registry;
  }
}

/**
 * `read()`'s value, read again only when it is older than `maxAgeMs`. The collectors of one scrape run within
 * a few milliseconds of each other: this lets them share one `pipeline.stats()` (which copies the counters
 * and the rejection counts) instead of making one each.
 */
export function sharedFor<T>(maxAgeMs: number, read: () => T, now: () => number = () => performance.now()) {
  let value: T | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  return (): T => {
    const t = now();
    if (value === undefined || t - readAt >= maxAgeMs) {
      value = read();
      readAt = t;
    }
    return value;
  };
}
