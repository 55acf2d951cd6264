import { defineModule } from '../core/module';
import { MaintenanceJob } from './maintenance-job';
import { telemetryRoutes } from './telemetry.routes';
import { TelemetryService } from './telemetry.service';

declare module '../core/module' {
  interface Services {
    /** Telemetry history queries (robots' range and field lists). */
    telemetry: TelemetryService;
  }
}

/** The history queries, and the job that rolls raw points up and enforces retention. */
export const telemetryModule = defineModule({
  name: 'telemetry',
  create(ctx) {
    const store = ctx.get('telemetryStore');
    const telemetry = new TelemetryService(store, ctx.get('robots'));
    const leases = ctx.get('jobLeases');
    // DuckDB is this instance's own file; any other store may be shared by several instances.
    const shared = store.kind !== 'duckdb';
    const maintenance = new MaintenanceJob(
      store,
      ctx.config.retention,
      ctx.logger,
      60_000,
      shared ? { acquire: (name, ttl) => leases.acquire(name, ttl) } : undefined,
    );
    return {
      provides: { telemetry },
      routes: async (app) => app.register(telemetryRoutes, { telemetry }),
      start: () => maintenance.start(),
      stop: () => maintenance.stop(),
    };
  },
});
