import { ErrorBody, RobotDiagnostics, RobotIdParams } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { defineModule } from '../core/module';
import type { RobotsService } from '../robots/robots.service';
import { RobotDiagnosticsTracker } from './robot-diagnostics';

declare module '../core/module' {
  interface Services {
    /** Per-robot data diagnostics: what arrives, how fast, what was refused (in memory). */
    diagnostics: RobotDiagnosticsTracker;
  }
}

function diagnosticsRoutes(tracker: RobotDiagnosticsTracker, robots: RobotsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/robots/:robot_id/diagnostics',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['robots'],
          summary: "A robot's data diagnostics: channels and rates, protocol, clock offset, refused messages",
          description:
            'Which channels arrive and how fast (last minute, last hour: 10-second buckets), when each was last ' +
            'seen, the protocol of the last message, the clock offset (receive time − the robot’s ts, network ' +
            'delay included), the last 50 messages the ingest refused with their reason and the start of their ' +
            'payload, and the ACL denials of this robot (publishes outside its topics, refused subscriptions, ' +
            'refused connects). Counted in memory since the server started.',
          params: RobotIdParams,
          response: { 200: RobotDiagnostics, 404: ErrorBody },
        },
      },
      async (req) => {
        const { robot_id } = req.params;
        await robots.require(robot_id);
        return tracker.report(robot_id);
      },
    );
  };
}

/**
 * Listens to every accepted robot message (so it is listed before `broker`), to the ingest's refusals and
 * to the broker's ACL denials.
 */
export const diagnosticsModule = defineModule({
  name: 'diagnostics',
  create(ctx) {
    const events = ctx.get('events');
    const tracker = new RobotDiagnosticsTracker();
    const offs = [
      events.subscribe('robot.message', tracker.message),
      events.subscribe('ingest.rejected', tracker.rejected),
      events.subscribe('broker.refused', tracker.brokerRefused),
    ];
    return {
      provides: { diagnostics: tracker },
      routes: diagnosticsRoutes(tracker, ctx.get('robots')),
      stop: () => {
        for (const off of offs) off();
      },
    };
  },
});
