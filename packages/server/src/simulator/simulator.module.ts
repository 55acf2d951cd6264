import type { Fleet } from '@tonypi/agent';
import { defineModule } from '../core/module';
import { startSimulatedFleet } from './simulated-fleet';

/**
 * The simulated fleet of `npm start` (SIMULATED_ROBOTS, 0 = none): robots that connect to this server's
 * broker like real ones — registered through robot admin, each with its own MQTT credentials, so the
 * default installation runs the secure path. Last in the list: it starts once everything else runs, and
 * stops first.
 */
export const simulatorModule = defineModule({
  name: 'simulator',
  create(ctx) {
    const { config } = ctx;
    if (config.simulator.robots <= 0) return {};
    const endpoint = ctx.get('mqttEndpoint');
    const robotAdmin = ctx.get('robotAdmin');
    let fleet: Fleet | undefined;
    return {
      start: async () => {
        fleet = await startSimulatedFleet({ config, mqttUrl: endpoint.url, robotAdmin, logger: ctx.logger });
      },
      stop: () => fleet?.stop(),
    };
  },
});
