import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Config } from '../config';
import type { Sampled } from '../http/metrics';
import type { Logger } from '../logger';

/**
 * What the running server holds, by name. Each domain adds the services it offers with declaration
 * merging, next to its module:
 *
 *   declare module '../core/module' { interface Services { users: UsersService } }
 *
 * A module reads what it needs with `ctx.get('users')`; one that asks for a service no earlier
 * module provides fails at start-up naming both, so the module list's order is checked.
 */
export interface Services {
  /** Ends people's sessions on the server (the auth module provides it; user management calls it). */
  authSessions: SessionRevoker;
}

export interface SessionRevoker {
  /**
   * Ends every session (and live-stream socket) of the user at once, but `exceptSessionId`'s; returns
   * how many ended. Called when a user is disabled, deleted, gets a new role or password.
   */
  revokeAllForUser(userId: string, opts?: { exceptSessionId?: string }): Promise<number>;
}

export interface ModuleContext {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  /** A service an earlier module provided; throws naming the missing service and the asking module. */
  get<K extends keyof Services>(name: K): Services[K];
  /** Like `get`, but undefined when no module provides it (optional collaborators). */
  find<K extends keyof Services>(name: K): Services[K] | undefined;
}

/** One entry of the health report's `components`: what the module depends on, up or down. */
export interface ComponentHealth {
  status: 'up' | 'down';
  kind: string;
  detail?: string;
  /** Figures the component's schema in `contracts` names (e.g. the broker's `clients`). */
  [figure: string]: unknown;
}

/** A domain's contribution to `/api/v1/health` and `/metrics`; read when asked, never on the hot path. */
export interface ModuleStatus {
  /**
   * Entries of the health report's `components` (its schema in `contracts` names each key); one that is
   * down makes the report `degraded` (503).
   */
  components?: () => Promise<Record<string, ComponentHealth>> | Record<string, ComponentHealth>;
  /** Merged into the health report (its schema in `contracts` names the key). */
  health?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Warnings shown in health (e.g. an insecure setting). */
  warnings?: () => readonly string[];
  /** Prometheus metrics, each read when scraped (`tonypi_<domain>_…`). */
  metrics?: readonly Sampled[];
}

/** What a module's factory returns: everything optional but its name. */
export interface ModuleParts {
  /** Services later modules (and the composition root) may `get`. */
  provides?: Partial<Services>;
  /** A Fastify plugin registered under `/api/v1`; each route declares its permission. */
  routes?: FastifyPluginAsyncZod;
  /** A Fastify plugin registered at the server's root, outside `/api/v1` (e.g. `/metrics`). */
  rootRoutes?: FastifyPluginAsyncZod;
  /** Runs once every module has been created, in list order (background jobs start here). */
  start?: () => Promise<void> | void;
  /**
   * Runs at shutdown in reverse list order, and when a later module fails to start: so also for a module whose
   * `start` never ran. Must not throw for an already stopped part.
   */
  stop?: () => Promise<void> | void;
  status?: ModuleStatus;
}

/** One domain: a name (for logs and errors) and a factory that declares what it needs via `ctx`. */
export interface DomainModule {
  readonly name: string;
  create(ctx: ModuleContext): Promise<ModuleParts> | ModuleParts;
}

export function defineModule(module: DomainModule): DomainModule {
  return module;
}

/** The services of one running server: the composition root fills it module by module. */
export class ServiceRegistry {
  /** Like a module's `ctx.get`, for the composition root. */
  get<K extends keyof Services>(name: K): Services[K] {
    if (!this.services.has(name as string)) throw new Error(`No module provides ${String(name)}`);
    return this.services.get(name as string) as Services[K];
  }

  find<K extends keyof Services>(name: K): Services[K] | undefined {
    return this.services.get(name as string) as Services[K] | undefined;
  }

  private readonly services = new Map<string, unknown>();
  private readonly providers = new Map<string, string>();

  provide(by: string, provided: Partial<Services> | undefined): void {
    for (const [name, service] of Object.entries(provided ?? {})) {
      const earlier = this.providers.get(name);
      if (earlier) throw new Error(`Module ${by} provides ${name}, already provided by ${earlier}`);
      this.services.set(name, service);
      this.providers.set(name, by);
    }
  }

  contextFor(module: string, config: Readonly<Config>, logger: Logger): ModuleContext {
    return {
      config,
      logger,
      get: (name) => {
        if (!this.services.has(name as string)) {
          throw new Error(
            `Module ${module} needs ${String(name)}, which no module before it provides: check the order in modules.ts`,
          );
        }
        return this.services.get(name as string) as never;
      },
      find: (name) => this.services.get(name as string) as never,
    };
  }
}
