import { defineModule } from '../core/module';
import type { Sampled } from '../http/metrics';
import { liveRoutes } from './live.routes';
import { LiveHub } from './live-hub';
import { relayToLive } from './live-relay';

declare module '../core/module' {
  interface Services {
    /** Fans live updates out to browsers (WS /api/v1/stream). */
    live: LiveHub;
  }
}

export const liveModule = defineModule({
  name: 'live',
  create(ctx) {
    const live = new LiveHub({ logger: ctx.logger });
    const unsubscribe = relayToLive(ctx.get('events'), live);
    return {
      provides: { live },
      routes: async (app) => app.register(liveRoutes, { hub: live }),
      start: () => live.start(),
      stop: () => {
        unsubscribe();
        live.stop();
      },
      status: {
        health: () => ({
          live: {
            clients: live.clientCount,
            frames_sent: live.counters.frames_sent,
            frames_skipped: live.counters.frames_skipped,
            frames_dropped: live.counters.frames_dropped,
          },
        }),
        metrics: liveMetrics(live),
      },
    };
  },
});

export function liveMetrics(live: Pick<LiveHub, 'clientCount' | 'counters'>): Sampled[] {
  return [
    {
      name: 'tonypi_live_clients',
      help: 'Live stream connections',
      type: 'gauge',
      read: () => live.clientCount,
    },
    {
      name: 'tonypi_live_frames_sent_total',
      help: 'Live frames sent',
      type: 'counter',
      read: () => live.counters.frames_sent,
    },
    {
      name: 'tonypi_live_frames_skipped_total',
      help: 'Live frames skipped for slow clients',
      type: 'counter',
      read: () => live.counters.frames_skipped,
    },
    {
      name: 'tonypi_live_frames_dropped_total',
      help: 'Live frames dropped because they could not be serialised',
      type: 'counter',
      read: () => live.counters.frames_dropped,
    },
  ];
}
