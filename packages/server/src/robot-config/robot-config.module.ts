import { defineModule } from '../core/module';
import { RobotConfigRepository } from './robot-config.repository';
import { robotConfigRoutes } from './robot-config.routes';
import { RobotConfigService } from './robot-config.service';

declare module '../core/module' {
  interface Services {
    /** Robots' versioned configurations, sent retained on `tonypi/{id}/config`. */
    robotConfigs: RobotConfigService;
  }
}

/** Publishes to robots (`bus`): listed after `broker`. */
export const robotConfigModule = defineModule({
  name: 'robot-config',
  create(ctx) {
    const robots = ctx.get('robots');
    const configs = new RobotConfigService({
      db: ctx.get('db'),
      repo: new RobotConfigRepository(ctx.get('db')),
      audit: ctx.get('audit'),
      bus: ctx.get('bus'),
      requireRobot: (id) => robots.require(id),
      logger: ctx.logger,
    });
    return {
      provides: { robotConfigs: configs },
      routes: robotConfigRoutes(configs),
      start: async () => {
        // The embedded broker keeps retained messages in memory only: each robot's current config again.
        const n = await configs.republishAll();
        if (n > 0) ctx.logger.info({ robots: n }, 'robot configs republished');
      },
    };
  },
});
