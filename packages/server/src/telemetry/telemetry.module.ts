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
    const maintenance = new MaintenanceJob(store, ctx.config.retention, ctx.logger);
    return {
      provides: { telemetry },
      routes: async (app) => app.register(telemetryRoutes, { telemetry }),
      start: () => maintenance.start(),
      stop: () => maintenance.stop(),
    };
  },
});
