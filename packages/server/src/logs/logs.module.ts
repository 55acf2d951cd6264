import { defineModule } from '../core/module';
import { logEntry } from './log-entry';
import { recordToLog } from './log-recorder';
import { LogWriter } from './log-writer';
import { LogsRepository } from './logs.repository';
import { logsRoutes } from './logs.routes';
import { LogsService } from './logs.service';

declare module '../core/module' {
  interface Services {
    /** The server's log (`system_logs`): what is recorded, read, exported and pruned. */
    logs: LogsService;
  }
}

/** Entries waiting for the database at most; a flood beyond it is dropped, counted. */
const LOG_QUEUE_LIMIT = 20_000;
/** How often retention and ANALYZE run (and once a minute after the start). */
const PRUNE_INTERVAL_MS = 3600_000;
const FIRST_PRUNE_MS = 60_000;
/** How often the embedded engine checks whether the log has grown enough for a fresh ANALYZE. */
const ANALYZE_CHECK_MS = 60_000;

/**
 * Records robots' log messages and the server's own events from the event bus (listed before `broker`, so
 * it sees robots' logs from the first message), serves them, and deletes those older than LOG_RETENTION_DAYS.
 */
export const logsModule = defineModule({
  name: 'logs',
  create(ctx) {
    const repo = new LogsRepository(ctx.get('db'));
    const writer = new LogWriter({ repo, logger: ctx.logger, queueLimit: LOG_QUEUE_LIMIT });
    const logs = new LogsService({
      repo,
      writer,
      logger: ctx.logger,
      retentionMs: ctx.config.logs.retentionMs,
    });
    const stopRecording = recordToLog(ctx.get('events'), writer);
    const timers: NodeJS.Timeout[] = [];
    const system = (message: string) =>
      writer.add(logEntry({ ts: Date.now(), level: 'INFO', category: 'system', source: 'server', message }));
    return {
      provides: { logs },
      routes: logsRoutes(logs),
      start: () => {
        writer.start();
        system('Server started');
        // One instance per period prunes the shared table: the holder of the lease.
        const leases = ctx.get('jobLeases');
        const maintain = async () => {
          try {
            if (await leases.acquire('logs-retention', 3 * PRUNE_INTERVAL_MS)) await logs.maintain();
          } catch (err) {
            ctx.logger.error({ err }, 'logs: retention lease not taken, tried again at the next run');
          }
        };
        const first = setTimeout(() => void maintain(), FIRST_PRUNE_MS);
        const every = setInterval(() => void maintain(), PRUNE_INTERVAL_MS);
        first.unref();
        every.unref();
        timers.push(first, every);
        if (ctx.get('db').kind === 'pglite') {
          // No autovacuum in the embedded engine: statistics after each burst of logs, not only hourly.
          const analyze = setInterval(() => void logs.analyzeIfGrown(), ANALYZE_CHECK_MS);
          analyze.unref();
          timers.push(analyze);
        }
      },
      stop: async () => {
        for (const t of timers.splice(0)) clearTimeout(t);
        stopRecording();
        system('Server stopping');
        await writer.stop();
      },
      status: {
        health: () => ({ logs: { queue: writer.depth, ...writer.counters, ...logs.counters } }),
        metrics: [
          {
            name: 'tonypi_logs_written_total',
            help: 'Log entries written to system_logs',
            type: 'counter',
            read: () => writer.counters.written,
          },
          {
            name: 'tonypi_logs_dropped_total',
            help: 'Log entries dropped: the write queue was full, or the database refused the write',
            type: 'counter',
            labelNames: ['reason'],
            read: () => [
              { labels: { reason: 'queue_full' }, value: writer.counters.dropped_queue_full },
              { labels: { reason: 'write_error' }, value: writer.counters.dropped_write_error },
            ],
          },
        ],
      },
    };
  },
});
