import { defineModule } from '../core/module';
import { SecretBox } from '../secret-box';
import { loadNotificationSecretKey } from '../secrets';
import { NotificationsRepository } from './notifications.repository';
import { notificationsRoutes } from './notifications.routes';
import { NotificationsService } from './notifications.service';
import { Notifier } from './notifier';

declare module '../core/module' {
  interface Services {
    /** Notification channels (webhooks, email): the API's service. */
    notifications: NotificationsService;
    /** Sends alert changes to the channels that want them (subscribed to `alert.changed`). */
    notifier: Notifier;
  }
}

/** Other instances' channel changes reach this one's notifier within this long. */
const RELOAD_INTERVAL_MS = 30_000;

/** Alert notifications: webhooks and email per severity and change, a bounded delivery queue, a delivery log. */
export const notificationsModule = defineModule({
  name: 'notifications',
  async create(ctx) {
    const db = ctx.get('db');
    const settings = ctx.config.notifications;
    const repo = new NotificationsRepository(db);
    const box = new SecretBox(await loadNotificationSecretKey(settings.secretKey, ctx.config.dataDir));
    const notifier = new Notifier({ repo, logger: ctx.logger, settings });
    const service = new NotificationsService({ db, repo, box, audit: ctx.get('audit'), notifier });
    // Subscribed from creation, not start: a domain that starts before this one may raise alerts at once.
    await service.reload();
    let unsubscribe: (() => void) | undefined = ctx
      .get('events')
      .subscribe('alert.changed', notifier.onAlertChanged);
    let reloader: ReturnType<typeof setInterval> | undefined;
    return {
      provides: { notifications: service, notifier },
      routes: notificationsRoutes(service),
      start() {
        reloader = setInterval(() => {
          service.reload().catch((err) => ctx.logger.warn({ err }, 'notifications: channels not reloaded'));
        }, RELOAD_INTERVAL_MS);
        reloader.unref();
      },
      async stop() {
        unsubscribe?.();
        unsubscribe = undefined;
        if (reloader) clearInterval(reloader);
        await notifier.stop();
      },
      status: {
        warnings: () => notifier.warnings(),
        metrics: [
          {
            name: 'tonypi_notifications_total',
            help: 'Alert notifications by outcome (queued, sent, failed, retried, skipped_muted, dropped_full, dropped_stopping)',
            type: 'counter',
            labelNames: ['outcome'],
            read: () => {
              const c = notifier.counters;
              return (
                [
                  'queued',
                  'sent',
                  'failed',
                  'retried',
                  'skipped_muted',
                  'dropped_full',
                  'dropped_stopping',
                ] as const
              ).map((outcome) => ({ labels: { outcome }, value: c[outcome] }));
            },
          },
          {
            name: 'tonypi_notifications_held',
            help: 'Notifications held by the delivery queue: waiting, in flight or between attempts',
            type: 'gauge',
            read: () => notifier.stats().held,
          },
          {
            name: 'tonypi_notifications_failing_channels',
            help: 'Notification channels whose last notifications all failed',
            type: 'gauge',
            read: () => notifier.stats().failing_channels,
          },
          {
            name: 'tonypi_notifications_log_write_errors_total',
            help: 'Delivery-log writes that failed',
            type: 'counter',
            read: () => notifier.counters.log_write_errors,
          },
        ],
      },
    };
  },
});
