import { defineModule } from '../core/module';
import { ClusterRelay } from './cluster-relay';

/**
 * Several instances on one PostgreSQL: each one's alert, command and report changes reach the others' browsers
 * (see ClusterRelay). Nothing to do on the embedded database, which is one instance. After the domains it reads.
 */
export const clusterModule = defineModule({
  name: 'cluster',
  create(ctx) {
    const live = ctx.get('live');
    const alerts = ctx.get('alertsApi');
    const commands = ctx.get('commands');
    const relay = new ClusterRelay({
      db: ctx.get('db'),
      events: ctx.get('events'),
      deliver: (channel, event) => live.event(channel, event),
      alert: (id) => alerts.get(id),
      command: (id) => commands.get(id),
      logger: ctx.logger,
    });
    return {
      start: () => relay.start(),
      stop: () => relay.stop(),
      status: { health: () => ({ cluster: relay.counters }) },
    };
  },
});
