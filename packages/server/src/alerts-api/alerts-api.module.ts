import { defineModule } from '../core/module';
import { AlertsRepository } from './alerts.repository';
import { alertsApiRoutes } from './alerts-api.routes';
import { AlertsApiService } from './alerts-api.service';

declare module '../core/module' {
  interface Services {
    /** Reads alerts and lets people acknowledge, resolve, delete and raise them (issue #7 §1). */
    alertsApi: AlertsApiService;
  }
}

/** The alerts API: `/api/v1/alerts` and its actions; each change is published as `alert.changed`. */
export const alertsApiModule = defineModule({
  name: 'alerts-api',
  create(ctx) {
    const db = ctx.get('db');
    const robots = ctx.get('robotRepository');
    const audit = ctx.get('audit');
    const alertsApi = new AlertsApiService({
      db,
      repo: new AlertsRepository(db),
      audit,
      events: ctx.get('events'),
      robotExists: async (robot_id) => (await robots.findByRobotId(robot_id)) !== undefined,
    });
    return { provides: { alertsApi }, routes: alertsApiRoutes(alertsApi, audit) };
  },
});
