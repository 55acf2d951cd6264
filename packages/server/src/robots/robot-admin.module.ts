import { defineModule } from '../core/module';
import { RobotActivityRepository } from './robot-activity.repository';
import { RobotAdminRepository } from './robot-admin.repository';
import { robotAdminRoutes } from './robot-admin.routes';
import { RobotAdminService } from './robot-admin.service';

declare module '../core/module' {
  interface Services {
    /** Registers robots, their credentials, deletes and restores them (issue #12 §2). */
    robotAdmin: RobotAdminService;
  }
}

/** Robot registration and credentials: the admin routes, and the service the simulated fleet registers through. */
export const robotAdminModule = defineModule({
  name: 'robot-admin',
  create(ctx) {
    const db = ctx.get('db');
    const broker = ctx.get('broker');
    const mqttUrl = ctx.get('mqttEndpoint').url;
    const robotAdmin = new RobotAdminService({
      db,
      repo: new RobotAdminRepository(db),
      activityRepo: new RobotActivityRepository(db),
      activity: ctx.get('robotActivity'),
      credentials: ctx.get('robotCredentials'),
      registry: ctx.get('registry'),
      robots: ctx.get('robots'),
      audit: ctx.get('audit'),
      sessions: broker,
      accounts: ctx.get('brokerAccounts'),
      mqttUrl,
    });
    return { provides: { robotAdmin }, routes: robotAdminRoutes(robotAdmin) };
  },
});
