import { Fleet } from '@tonypi/agent';
import { defineModule } from '../core/module';

/**
 * The simulated fleet of `npm start` (SIMULATED_ROBOTS, 0 = none): robots that connect to this server's
 * broker like real ones. Last in the list: it starts once everything else runs, and stops first.
 */
export const simulatorModule = defineModule({
  name: 'simulator',
  create(ctx) {
    const { config } = ctx;
    if (config.simulator.robots <= 0) return {};
    const endpoint = ctx.get('mqttEndpoint');
    let fleet: Fleet | undefined;
    return {
      start: async () => {
        fleet = await Fleet.start({
          brokerUrl: endpoint.url.replace('0.0.0.0', '127.0.0.1'),
          robots: config.simulator.robots,
          rateHz: config.simulator.rateHz,
          username: config.mqtt.username,
          password: config.mqtt.password,
          logger: ctx.logger,
        });
      },
      stop: () => fleet?.stop(),
    };
  },
});
