import { randomUUID } from 'node:crypto';
import type { AlertChange, AlertView, ServerEvents } from '@tonypi/contracts';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { AttemptOutcome } from './attempt';
import { type Channel, wants } from './channels';
import { DeliveryQueue } from './delivery-queue';
import { composeAlertMail, composeReportMail, sendAlertMail } from './email-sender';
import type { DeliveryRow, DeliveryState, NotificationsRepository } from './notifications.repository';
import { postWebhook } from './webhook-sender';

/** A scheduled report's run, finished or failed, for the channels its schedule names. */
export interface ReportNotice {
  report_id: number;
  schedule_id: number;
  schedule_name: string;
  title: string;
  kind: string;
  status: 'completed' | 'failed';
  from: string;
  to: string;
  /** The report's summary sentences (completed), at most a few. */
  summary: string[];
  error: string | null;
  /** The PDF (completed): attached to an email; a webhook gets its path. */
  pdf?: { fileName: string; content: Buffer };
}

/** One alert change (or one scheduled report) for one channel, through all its attempts. */
export type Notification = {
  channelId: number;
  /** X-TonyPi-Delivery: the same on every attempt. */
  key: string;
  /** Its delivery-log row, once the first attempt is recorded. */
  deliveryId?: number;
} & ({ change: AlertChange; alert: AlertView } | { change: 'report'; report: ReportNotice });

/** Final failures in a row after which a channel is a health warning. */
export const FAILING_AFTER = 3;
/** Skipped-row writes in flight at most (a storm of muted alerts must not pile up writes). */
const MAX_PENDING_SKIPS = 1000;
/** A dropped notification keeps the health warning up this long. */
const DROP_WARNING_MS = 15 * 60_000;
const USER_AGENT = 'TonyPi-Fleet-Monitor-Notifier';

export interface NotifierCounters {
  /** Notifications queued (one per alert change and channel that wants it). */
  queued: number;
  sent: number;
  /** Notifications that ended failed. */
  failed: number;
  /** Attempts that failed and were retried. */
  retried: number;
  /** Muted alerts (raised during a silence): logged as skipped, not sent. */
  skipped_muted: number;
  /** Refused because the queue was full (NOTIFICATION_QUEUE_LIMIT). */
  dropped_full: number;
  /** Refused or left unsent because the server was stopping. */
  dropped_stopping: number;
  /** Delivery-log writes that failed (the notification itself went on). */
  log_write_errors: number;
  tests: number;
}

export interface NotifierOptions {
  repo: NotificationsRepository;
  logger: Logger;
  settings: Config['notifications'];
  random?: () => number;
  now?: () => number;
}

/**
 * Turns `alert.changed` events into deliveries: the subscriber only looks up the channels that want the change
 * (in memory) and queues; a bounded background queue sends, one lane per channel, and records each attempt in
 * the delivery log. Muted alerts are logged as skipped. Never awaited by the alert engine or the ingest.
 */
export class Notifier {
  readonly counters: NotifierCounters = {
    queued: 0,
    sent: 0,
    failed: 0,
    retried: 0,
    skipped_muted: 0,
    dropped_full: 0,
    dropped_stopping: 0,
    log_write_errors: 0,
    tests: 0,
  };
  private readonly channels = new Map<number, Channel>();
  /** Final failures in a row per channel, and the last one's error. */
  private readonly failing = new Map<number, { count: number; error: string | null }>();
  private readonly unreadable = new Set<number>();
  private readonly queue: DeliveryQueue<Notification>;
  private pendingSkips = 0;
  private lastDropAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly testAbort = new AbortController();

  constructor(private readonly opts: NotifierOptions) {
    this.now = opts.now ?? Date.now;
    this.queue = new DeliveryQueue<Notification>({
      limit: opts.settings.queueLimit,
      concurrency: opts.settings.concurrency,
      attempts: opts.settings.attempts,
      retryBaseMs: opts.settings.retryBaseMs,
      random: opts.random,
      work: {
        attempt: (n, _attempt, signal) => this.attempt(n, signal),
        settled: (n, attempt, outcome, retryInMs) => this.settled(n, attempt, outcome, retryInMs),
      },
      onError: (err) => opts.logger.error({ err }, 'notifications: delivery bookkeeping failed'),
    });
  }

  /** The channels as stored now (at start, after a change, and on the periodic reload). */
  load(channels: ReadonlyArray<{ channel: Channel; secretsUnreadable: boolean }>): void {
    const ids = new Set(channels.map((c) => c.channel.id));
    for (const id of this.channels.keys()) if (!ids.has(id)) this.remove(id);
    for (const { channel, secretsUnreadable } of channels) this.put(channel, secretsUnreadable);
  }

  put(channel: Channel, secretsUnreadable = false): void {
    this.channels.set(channel.id, channel);
    if (secretsUnreadable) this.unreadable.add(channel.id);
    else this.unreadable.delete(channel.id);
  }

  remove(id: number): void {
    this.channels.delete(id);
    this.failing.delete(id);
    this.unreadable.delete(id);
    this.queue.dropLane(id);
  }

  channel(id: number): Channel | undefined {
    return this.channels.get(id);
  }

  consecutiveFailures(id: number): number {
    return this.failing.get(id)?.count ?? 0;
  }

  /** The `alert.changed` subscriber: synchronous, no I/O but the queued skipped-row writes. */
  readonly onAlertChanged = ({ change, alert }: ServerEvents['alert.changed']): void => {
    for (const channel of this.channels.values()) {
      if (!wants(channel, change, alert)) continue;
      if (alert.muted) {
        this.skip(channel, change, alert);
        continue;
      }
      const result = this.queue.enqueue(channel.id, {
        channelId: channel.id,
        key: randomUUID(),
        change,
        alert,
      });
      if (result === 'queued') {
        this.counters.queued++;
      } else if (result === 'full') {
        this.counters.dropped_full++;
        this.lastDropAt = this.now();
        if (this.counters.dropped_full === 1 || this.counters.dropped_full % 1000 === 0) {
          this.opts.logger.warn(
            {
              channel_id: channel.id,
              dropped: this.counters.dropped_full,
              limit: this.opts.settings.queueLimit,
            },
            'notifications: queue full, notification dropped',
          );
        }
      } else {
        this.counters.dropped_stopping++;
      }
    }
  };

  /** Sends a test notification to the channel now (one attempt, enabled or not) and logs it. */
  async test(channel: Channel, by: string | null): Promise<DeliveryRow> {
    this.counters.tests++;
    const at = new Date(this.now()).toISOString();
    const alert: AlertView = {
      id: 0,
      robot_id: null,
      alert_type: 'test',
      severity: 'info',
      state: 'open',
      title: `Test notification for channel ${channel.name}`,
      message: `A test sent${by ? ` by ${by}` : ''} to check this channel: no alert was raised.`,
      rule_id: null,
      source: null,
      value: null,
      threshold: null,
      muted: false,
      acknowledged_by: null,
      acknowledged_at: null,
      acknowledge_note: null,
      resolved_by: null,
      resolved_at: null,
      created_at: at,
      updated_at: at,
      details: null,
    };
    const key = randomUUID();
    const outcome = await this.send(channel, 'notification.test', 'test', alert, key, this.testAbort.signal);
    return this.opts.repo.insertDelivery({
      channel_id: channel.id,
      delivery_key: key,
      alert_id: null,
      change: 'test',
      ...stateOf(outcome, 1, undefined, this.now()),
    });
  }

  stats() {
    return {
      ...this.counters,
      held: this.queue.size,
      in_flight: this.queue.active,
      waiting_retry: this.queue.waitingRetry,
      channels: this.channels.size,
      failing_channels: [...this.failing.values()].filter((f) => f.count >= FAILING_AFTER).length,
    };
  }

  warnings(): string[] {
    const out: string[] = [];
    for (const [id, f] of this.failing) {
      const channel = this.channels.get(id);
      if (!channel || f.count < FAILING_AFTER) continue;
      out.push(
        `notification channel "${channel.name}" (#${id}) keeps failing: its last ${f.count} notifications failed` +
          (f.error ? ` (last: ${f.error})` : ''),
      );
    }
    for (const id of this.unreadable) {
      const channel = this.channels.get(id);
      if (channel) {
        out.push(
          `notification channel "${channel.name}" (#${id}): its secrets were sealed under another notification key ` +
            '(NOTIFICATION_SECRET_KEY): set them again',
        );
      }
    }
    if (this.now() - this.lastDropAt < DROP_WARNING_MS) {
      out.push(
        `notifications dropped: the queue was full (${this.counters.dropped_full} since start, NOTIFICATION_QUEUE_LIMIT ${this.opts.settings.queueLimit})`,
      );
    }
    return out;
  }

  /** Takes no more notifications; attempts in flight get the grace period, the rest is reported. */
  async stop(): Promise<void> {
    this.testAbort.abort(new Error('stopping'));
    const { unsent, waitingRetry } = await this.queue.stop(this.opts.settings.shutdownGraceMs);
    this.counters.dropped_stopping += unsent.length + waitingRetry.length;
    const ids = waitingRetry.flatMap((n) => (n.deliveryId === undefined ? [] : [n.deliveryId]));
    try {
      await this.opts.repo.failWaiting(ids, 'the server stopped before the next attempt');
    } catch (err) {
      this.opts.logger.error({ err }, 'notifications: could not mark the deliveries left waiting as failed');
    }
    if (unsent.length + waitingRetry.length > 0) {
      this.opts.logger.warn(
        { unsent: unsent.length, waiting_retry: waitingRetry.length },
        'notifications: the server stopped with notifications not delivered',
      );
    }
  }

  private skip(channel: Channel, change: AlertChange, alert: AlertView): void {
    this.counters.skipped_muted++;
    if (this.pendingSkips >= MAX_PENDING_SKIPS) return;
    this.pendingSkips++;
    this.opts.repo
      .insertDelivery({
        channel_id: channel.id,
        delivery_key: randomUUID(),
        alert_id: alert.id,
        change,
        status: 'skipped',
        attempts: 0,
        response_code: null,
        response: null,
        error: 'muted: raised during a silence',
        duration_ms: null,
        next_attempt_at: null,
      })
      .catch((err) => this.logWriteFailed(err))
      .finally(() => {
        this.pendingSkips--;
      });
  }

  private attempt(n: Notification, signal: AbortSignal): Promise<AttemptOutcome> {
    const channel = this.channels.get(n.channelId);
    if (!channel?.enabled) {
      return Promise.resolve({
        ok: false,
        retryable: false,
        code: null,
        response: null,
        error: channel ? 'the channel was disabled before delivery' : 'the channel was deleted',
        durationMs: 0,
      });
    }
    if (n.change === 'report') return this.sendReport(channel, n.report, n.key, signal);
    return this.send(channel, `alert.${n.change}`, n.change, n.alert, n.key, signal);
  }

  /**
   * Queues a scheduled report's run for the channels its schedule names (whatever alert severities and changes
   * they want: the schedule chose them). Unknown channels are skipped and said so; a disabled one fails in its log.
   */
  notifyReport(channelIds: readonly number[], report: ReportNotice): { queued: number; unknown: number[] } {
    const unknown: number[] = [];
    let queued = 0;
    for (const id of channelIds) {
      if (!this.channels.has(id)) {
        unknown.push(id);
        continue;
      }
      const result = this.queue.enqueue(id, { channelId: id, key: randomUUID(), change: 'report', report });
      if (result === 'queued') {
        this.counters.queued++;
        queued++;
      } else if (result === 'full') {
        this.counters.dropped_full++;
        this.lastDropAt = this.now();
      } else {
        this.counters.dropped_stopping++;
      }
    }
    return { queued, unknown };
  }

  private sendReport(
    channel: Channel,
    report: ReportNotice,
    key: string,
    signal: AbortSignal,
  ): Promise<AttemptOutcome> {
    const unusable = this.unusable(channel);
    if (unusable) return Promise.resolve(unusable);
    const timeoutMs = this.opts.settings.timeoutMs;
    const event = `report.${report.status}`;
    if (channel.kind === 'webhook') {
      const { pdf, ...rest } = report;
      const body = JSON.stringify({
        event,
        report: { ...rest, pdf_path: pdf ? `/api/v1/reports/${report.report_id}/pdf` : null },
        sent_at: new Date(this.now()).toISOString(),
      });
      return postWebhook(
        channel.webhook,
        { event, deliveryKey: key, body },
        { timeoutMs, signal, userAgent: USER_AGENT, now: this.now },
      );
    }
    return sendAlertMail(channel.email, composeReportMail(report), { timeoutMs, signal });
  }

  /** A channel whose secrets cannot be opened sends nothing: not unsigned, nor without its password. */
  private unusable(channel: Channel): AttemptOutcome | undefined {
    if (!this.unreadable.has(channel.id)) return undefined;
    return {
      ok: false,
      retryable: false,
      code: null,
      response: null,
      error:
        'its secrets were sealed under another notification key (NOTIFICATION_SECRET_KEY): set them again',
      durationMs: 0,
    };
  }

  private send(
    channel: Channel,
    event: string,
    change: string,
    alert: AlertView,
    key: string,
    signal: AbortSignal,
  ): Promise<AttemptOutcome> {
    const unusable = this.unusable(channel);
    if (unusable) return Promise.resolve(unusable);
    const timeoutMs = this.opts.settings.timeoutMs;
    if (channel.kind === 'webhook') {
      const body = JSON.stringify({ event, alert, sent_at: new Date(this.now()).toISOString() });
      return postWebhook(
        channel.webhook,
        { event, deliveryKey: key, body },
        { timeoutMs, signal, userAgent: USER_AGENT, now: this.now },
      );
    }
    return sendAlertMail(channel.email, composeAlertMail(change, alert), { timeoutMs, signal });
  }

  private async settled(
    n: Notification,
    attempt: number,
    outcome: AttemptOutcome,
    retryInMs: number | undefined,
  ): Promise<void> {
    const channel = this.channels.get(n.channelId);
    if (outcome.ok) {
      this.counters.sent++;
      this.failing.delete(n.channelId);
    } else if (retryInMs !== undefined) {
      this.counters.retried++;
    } else {
      this.counters.failed++;
      const f = this.failing.get(n.channelId) ?? { count: 0, error: null };
      f.count++;
      f.error = outcome.error;
      if (channel) this.failing.set(n.channelId, f);
      this.opts.logger.warn(
        {
          channel_id: n.channelId,
          channel: channel?.name,
          ...(n.change === 'report' ? { report_id: n.report.report_id } : { alert_id: n.alert.id }),
          change: n.change,
          attempts: attempt,
          code: outcome.code,
          error: outcome.error,
        },
        'notifications: notification failed',
      );
    }
    // A deleted channel's log is gone with it.
    if (!channel) return;
    const state = stateOf(outcome, attempt, retryInMs, this.now());
    try {
      if (n.deliveryId === undefined) {
        const row = await this.opts.repo.insertDelivery({
          channel_id: n.channelId,
          delivery_key: n.key,
          alert_id: n.change === 'report' ? null : n.alert.id,
          change: n.change,
          ...state,
        });
        n.deliveryId = row.id;
        // Keeps each channel's log bounded; one prune per 100 rows is plenty.
        if (row.id % 100 === 0) await this.opts.repo.pruneDeliveries(n.channelId);
      } else {
        await this.opts.repo.updateDelivery(n.deliveryId, state);
      }
    } catch (err) {
      this.logWriteFailed(err);
    }
  }

  private logWriteFailed(err: unknown): void {
    this.counters.log_write_errors++;
    if (this.counters.log_write_errors === 1 || this.counters.log_write_errors % 100 === 0) {
      this.opts.logger.error(
        { err, errors: this.counters.log_write_errors },
        'notifications: delivery log not written',
      );
    }
  }
}

function stateOf(
  outcome: AttemptOutcome,
  attempts: number,
  retryInMs: number | undefined,
  now: number,
): DeliveryState {
  return {
    status: outcome.ok ? 'sent' : retryInMs !== undefined ? 'retrying' : 'failed',
    attempts,
    response_code: outcome.code,
    response: outcome.response,
    error: outcome.error,
    duration_ms: outcome.durationMs,
    next_attempt_at: retryInMs !== undefined ? new Date(now + retryInMs) : null,
  };
}
