import type { EventBus } from '../core/event-bus';
import { defineModule } from '../core/module';
import type { Sampled } from '../http/metrics';
import { healthRoutes, metricsRoutes } from './health.routes';

/**
 * The server's own state: `GET /api/v1/health` and `GET /metrics` (assembled from every module's status by
 * the status board), the database it runs on, and the event bus's subscriber failures.
 */
export const systemModule = defineModule({
  name: 'system',
  create(ctx) {
    const db = ctx.get('db');
    const board = ctx.get('statusBoard');
    return {
      routes: async (app) => app.register(healthRoutes, { health: () => board.health() }),
      rootRoutes: async (app) => app.register(metricsRoutes, { metrics: () => board.metrics() }),
      status: {
        components: async () => {
          const up = await db.ping().then(
            () => true,
            () => false,
          );
          return { database: { status: up ? 'up' : 'down', kind: db.kind } };
        },
        metrics: eventBusMetrics(ctx.get('events')),
      },
    };
  },
});

export function eventBusMetrics(events: Pick<EventBus, 'subscriberErrors'>): Sampled[] {
  return [
    {
      name: 'tonypi_event_subscriber_errors_total',
      help: 'Event-bus subscribers that threw (logged as `event subscriber failed`), by event',
      type: 'counter',
      labelNames: ['event'],
      read: () =>
        Object.entries(events.subscriberErrors()).map(([event, value]) => ({ labels: { event }, value })),
    },
  ];
}
