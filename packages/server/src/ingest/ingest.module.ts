import { defineModule } from '../core/module';
import { IngestPressure } from '../http/ingest-pressure';
import { IngestPipeline } from './ingest-pipeline';
import { ingestMetrics } from './ingest-status';

declare module '../core/module' {
  interface Services {
    /** MQTT message → validated model → telemetry store and the event bus. */
    pipeline: IngestPipeline;
    /** Whether the ingest is under pressure: heavy reads back off first (`shedUnderPressure` routes). */
    pressure: IngestPressure;
  }
}

/** How often the ingest's own figures go out (`ingest.report`, the live stream's `ingest` channel). */
const REPORT_INTERVAL_MS = 1000;

export const ingestModule = defineModule({
  name: 'ingest',
  create(ctx) {
    const { config } = ctx;
    const store = ctx.get('telemetryStore');
    const events = ctx.get('events');
    const pipeline = new IngestPipeline({
      store,
      admission: ctx.get('registry'),
      events,
      logger: ctx.logger,
      queueLimit: config.ingest.queueLimit,
      clockSkewMaxMs: config.ingest.clockSkewMaxMs,
    });
    const pressure = new IngestPressure({
      queue: () => {
        const s = pipeline.stats();
        return { points: s.queue_points, limit: s.queue_limit };
      },
      maxEventLoopDelayMs: config.query.shedLoopDelayMs,
      pacedSlots: config.query.slots,
      pacedMaxWaiting: config.query.waitLimit,
    });
    let report: NodeJS.Timeout | undefined;
    let lastAccepted = 0;
    return {
      provides: { pipeline, pressure },
      start: () => {
        pipeline.start();
        pressure.start();
        report = setInterval(() => {
          const s = pipeline.stats();
          events.publish('ingest.report', {
            ts: Date.now(),
            accepted_per_s: s.messages_accepted - lastAccepted,
            rejected: s.rejected,
            queue_depth: s.queue_points,
          });
          lastAccepted = s.messages_accepted;
        }, REPORT_INTERVAL_MS);
        report.unref();
      },
      // After the broker's (later in the list): nothing arrives any more, and this is the last flush.
      stop: async () => {
        clearInterval(report);
        pressure.stop();
        await pipeline.stop();
      },
      status: {
        components: () => {
          const s = pipeline.stats();
          return {
            telemetry: {
              status: s.store_ok ? 'up' : 'down',
              kind: store.kind,
              ...(s.store_error ? { detail: s.store_error } : {}),
            },
          };
        },
        health: () => ({ ingest: pipeline.stats() }),
        metrics: [
          ...ingestMetrics(pipeline),
          {
            name: 'tonypi_http_reads_refused_total',
            help: 'Heavy reads answered 503 because the ingest was under pressure (queue over half full, or the event loop held up) or READER_WAIT_LIMIT history reads were waiting already',
            type: 'counter',
            read: () => pressure.counters.readers_refused,
          },
          {
            name: 'tonypi_http_reads_waited_total',
            help: 'History reads that waited for one of READER_SLOTS before being answered',
            type: 'counter',
            read: () => pressure.counters.readers_waited,
          },
        ],
      },
    };
  },
});
