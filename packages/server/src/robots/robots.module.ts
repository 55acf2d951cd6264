import { defineModule } from '../core/module';
import type { Sampled } from '../http/metrics';
import { openRobotAccess } from './robot-access';
import { RobotRegistry } from './robot-registry';
import { RobotsRepository } from './robots.repository';
import { robotsRoutes } from './robots.routes';
import { RobotsService } from './robots.service';

declare module '../core/module' {
  interface Services {
    robotRepository: RobotsRepository;
    /** The robots' live state; it admits (or refuses) each robot's messages and follows `robot.message`. */
    registry: RobotRegistry;
    robots: RobotsService;
  }
}

export const robotsModule = defineModule({
  name: 'robots',
  async create(ctx) {
    const { config } = ctx;
    const events = ctx.get('events');
    const repo = new RobotsRepository(ctx.get('db'));
    const registry = new RobotRegistry({
      repo,
      logger: ctx.logger,
      autoRegister: config.robots.autoRegister,
      registration: {
        perMinute: config.robots.autoRegisterPerMin,
        pendingMax: config.robots.pendingMax,
        confirmAfterMs: config.robots.confirmAfterMs,
      },
      resetStatusesOnStart: !config.mqtt.url,
      offlineAfterMs: config.robots.offlineAfterMs,
      events,
    });
    registry.follow(events);
    // Loaded now, not in start(): the broker, created later, delivers messages at once, and a known robot
    // must not be taken for a new one.
    await registry.start();
    // The credentials the embedded broker checks, and the per-robot statistics, counted from every message.
    const access = await openRobotAccess({ db: ctx.get('db'), config, registry, logger: ctx.logger });
    const unfollowActivity = events.subscribe('robot.message', (msg) =>
      access.activity.note(msg.robot_id, msg.channel, msg.received_at),
    );
    const robots = new RobotsService(repo, registry, ctx.get('telemetryStore'), {
      listMaxAgeMs: config.robots.listMaxAgeMs,
      credentials: access.credentials,
    });
    return {
      provides: {
        robotRepository: repo,
        registry,
        robots,
        robotCredentials: access.credentials,
        robotActivity: access.activity,
      },
      routes: async (app) => app.register(robotsRoutes, { robots }),
      stop: async () => {
        unfollowActivity();
        await access.activity.stop();
        await registry.stop();
      },
      status: {
        health: () => ({
          robots: {
            known: registry.size,
            online: registry.onlineCount(),
            pending: registry.pendingCount,
            ...anonymousRobots(registry, access.credentials),
            write_errors: registry.counters.flush_errors,
          },
        }),
        metrics: robotsMetrics(registry),
      },
    };
  },
});

/** How many known robots have no credentials, and the first 100 of them (health). */
function anonymousRobots(
  registry: Pick<RobotRegistry, 'all'>,
  credentials: { hasCredentials(robot_id: string): boolean },
): { anonymous: number; anonymous_ids: string[] } {
  const ids: string[] = [];
  let anonymous = 0;
  for (const robot of registry.all()) {
    if (credentials.hasCredentials(robot.robot_id)) continue;
    anonymous++;
    if (ids.length < 100) ids.push(robot.robot_id);
  }
  return { anonymous, anonymous_ids: ids.sort() };
}

export function robotsMetrics(
  registry: Pick<RobotRegistry, 'onlineCount' | 'size' | 'pendingCount'>,
): Sampled[] {
  return [
    {
      name: 'tonypi_robots_online',
      help: 'Robots online',
      type: 'gauge',
      read: () => registry.onlineCount(),
    },
    { name: 'tonypi_robots_known', help: 'Robots known', type: 'gauge', read: () => registry.size },
    {
      name: 'tonypi_robots_pending',
      help: 'Robots registered on first contact, not yet confirmed',
      type: 'gauge',
      read: () => registry.pendingCount,
    },
  ];
}
