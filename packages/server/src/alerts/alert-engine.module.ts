import { defineModule } from '../core/module';
import type { Sampled } from '../http/metrics';
import { AlertConfigCache } from './alert-config-cache';
import { AlertEngine, type AlertKey } from './alert-engine';
import { dedupKeyOf } from './alert-rows';
import { AlertRulesRepository } from './alert-rules.repository';
import { alertRulesRoutes } from './alert-rules.routes';
import { AlertRulesService } from './alert-rules.service';
import { AlertWriter } from './alert-writer';

declare module '../core/module' {
  interface Services {
    /** Alert rules and silences (the API's service): the engine's cache follows its changes. */
    alertRules: AlertRulesService;
    alertEngine: AlertEngine;
  }
}

/** How often the engine resolves alerts whose value stayed good without a new sample, and writes counts. */
const TICK_MS = 1000;
/** How often the engine checks whether rules or silences changed through another server (and reads them then). */
const REFRESH_MS = 10_000;

/**
 * Alert rules, silences and the alert engine (issue #7 §1). Before `broker` in the module list: it follows
 * every robot message from the first.
 */
export const alertEngineModule = defineModule({
  name: 'alert-engine',
  async create(ctx) {
    const db = ctx.get('db');
    const events = ctx.get('events');
    const registry = ctx.get('registry');
    const repo = new AlertRulesRepository(db);
    const added = await repo.insertMissingDefaults();
    if (added > 0) ctx.logger.info({ rules: added }, 'alert rules: default rules added');

    let engine: AlertEngine | undefined;
    const cache = new AlertConfigCache(repo, ctx.logger, () => engine?.rulesChanged());
    await cache.reload();
    const writer = new AlertWriter({
      db,
      events,
      logger: ctx.logger,
      onGone: (key) => engine?.forget(key),
    });
    engine = new AlertEngine({
      sink: writer,
      rules: () => cache.rules,
      silences: () => cache.silences,
      resolveAfterMs: ctx.config.alerts.resolveAfterMs,
    });
    const alertEngine = engine;

    // Alerts left open by an earlier run (or another server): followed on, resolved when their value is good.
    const { rows } = await db.query<{
      robot_id: string;
      dedup_key: string;
      source: string | null;
      severity: string;
      value: number | null;
      created_at: Date;
      details: Record<string, unknown> | null;
    }>(
      `SELECT robot_id, dedup_key, source, severity, value, created_at, details FROM alerts
       WHERE state <> 'resolved' AND dedup_key IS NOT NULL AND robot_id IS NOT NULL`,
    );
    for (const row of rows) alertEngine.adopt(row);

    const unsubscribe = [
      events.subscribe('robot.message', (msg) => alertEngine.observe(msg)),
      events.subscribe('robot.status', (e) => alertEngine.status(e)),
      events.subscribe('robot.log', (e) => alertEngine.log(e)),
      events.subscribe('robot.job', (e) => alertEngine.job(e)),
      events.subscribe('alert.changed', ({ change, alert }) => {
        // A person resolved or deleted it (the engine's own resolutions have no resolved_by).
        const byPerson = (change === 'resolved' && alert.resolved_by !== null) || change === 'deleted';
        if (!byPerson || alert.robot_id === null) return;
        const key: AlertKey = {
          robot_id: alert.robot_id,
          dedup_key: dedupKeyOf(alert),
          source: alert.source,
        };
        writer.discard(key);
        alertEngine.forget(key);
      }),
    ];

    const service = new AlertRulesService(
      db,
      repo,
      ctx.get('audit'),
      cache,
      (id) => registry.get(id) !== undefined,
    );
    const timers: NodeJS.Timeout[] = [];
    return {
      provides: { alertRules: service, alertEngine },
      routes: alertRulesRoutes(service),
      start: () => {
        timers.push(setInterval(() => alertEngine.tick(), TICK_MS).unref());
        timers.push(setInterval(() => void cache.refreshIfChanged(), REFRESH_MS).unref());
      },
      stop: async () => {
        for (const t of timers) clearInterval(t);
        for (const u of unsubscribe) u();
        await writer.idle();
      },
      status: {
        health: () => ({
          alert_engine: {
            rules: cache.rules.size,
            silences: cache.silences.size,
            ...alertEngine.tracked,
            ...alertEngine.counters,
            queue_depth: writer.depth,
            ...writer.counters,
            reload_errors: cache.counters.reload_errors,
          },
        }),
        metrics: alertMetrics(alertEngine, writer),
      },
    };
  },
});

function alertMetrics(engine: AlertEngine, writer: AlertWriter): Sampled[] {
  return [
    {
      name: 'tonypi_alerts_open',
      help: 'Open alerts this server follows',
      type: 'gauge',
      read: () => engine.tracked.open,
    },
    {
      name: 'tonypi_alerts_raised_total',
      help: 'Alerts raised by this server’s engine',
      type: 'counter',
      read: () => engine.counters.raised,
    },
    {
      name: 'tonypi_alerts_write_errors_total',
      help: 'Alert writes that failed',
      type: 'counter',
      read: () => writer.counters.write_errors,
    },
  ];
}
