import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { DomainModule, ModuleParts, ModuleStatus, ServiceRegistry } from './module';

export interface ModuleHostOptions {
  services: ServiceRegistry;
  config: Readonly<Config>;
  logger: Logger;
  /** Where each module's status goes as it is created (the health and metrics board). */
  onStatus?: (module: string, status: ModuleStatus | undefined) => void;
  /** Called after each module's create and start: the start-up log line's phases. */
  onPhase?: (module: string) => void;
}

/**
 * Runs the domain modules: creates them in list order (each `get`s what the ones before provide), then
 * starts them in list order, and stops them in reverse. A module's stop is due as soon as it exists, so a
 * module that fails to be created or started still has every one before it stopped, in reverse order.
 */
export class ModuleHost {
  private readonly created: Array<{ name: string; parts: ModuleParts }> = [];
  private stopped = false;

  constructor(private readonly opts: ModuleHostOptions) {}

  async create(modules: readonly DomainModule[]): Promise<void> {
    const { services, config, logger } = this.opts;
    for (const module of modules) {
      const parts = await module.create(services.contextFor(module.name, config, logger));
      this.created.push({ name: module.name, parts });
      services.provide(module.name, parts.provides);
      this.opts.onStatus?.(module.name, parts.status);
      this.opts.onPhase?.(module.name);
    }
  }

  async start(): Promise<void> {
    for (const { name, parts } of this.created) {
      if (!parts.start) continue;
      await parts.start();
      this.opts.onPhase?.(name);
    }
  }

  /** Stops every created module, last first; a failing stop is logged and the others still run. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const { name, parts } of [...this.created].reverse()) {
      try {
        await parts.stop?.();
      } catch (err) {
        this.opts.logger.error({ err, module: name }, 'error during shutdown');
      }
    }
  }

  /** The modules' routes under /api/v1, in list order. */
  routes(): FastifyPluginAsyncZod[] {
    return this.created.flatMap(({ parts }) => (parts.routes ? [parts.routes] : []));
  }

  /** The modules' routes outside /api/v1. */
  rootRoutes(): FastifyPluginAsyncZod[] {
    return this.created.flatMap(({ parts }) => (parts.rootRoutes ? [parts.rootRoutes] : []));
  }
}
