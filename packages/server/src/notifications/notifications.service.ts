import type {
  CreateNotificationChannelRequest,
  NotificationChannel,
  NotificationDelivery,
  NotificationDeliveryStatus,
  UpdateNotificationChannelRequest,
} from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { Database } from '../db/database';
import { notFound, validationError } from '../errors';
import type { SecretBox } from '../secret-box';
import { type Channel, channelOf, storedOf, viewOf } from './channels';
import type { ChannelRow, DeliveryRow, NotificationsRepository } from './notifications.repository';
import type { Notifier } from './notifier';

type Origin = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

export const channelNotFound = (id: number) =>
  notFound('notification_channel_not_found', `No notification channel with id ${id}`);

export interface NotificationsServiceOptions {
  db: Database;
  repo: NotificationsRepository;
  box: SecretBox;
  audit: AuditTrail;
  notifier: Notifier;
}

/**
 * Notification channels: create, list, change, delete, test; their delivery log. Every change is audited (field
 * names only, never a secret) and reaches the notifier's in-memory channels once committed.
 */
export class NotificationsService {
  constructor(private readonly opts: NotificationsServiceOptions) {}

  /** Reads every channel into the notifier (start, and the periodic reload for other instances' changes). */
  async reload(): Promise<void> {
    const rows = await this.opts.repo.listChannels();
    this.opts.notifier.load(rows.map((row) => channelOf(row, this.opts.box)));
  }

  async list(): Promise<NotificationChannel[]> {
    const rows = await this.opts.repo.listChannels();
    return rows.map((row) => this.view(row));
  }

  async get(id: number): Promise<NotificationChannel> {
    const row = await this.opts.repo.findChannel(id);
    if (!row) throw channelNotFound(id);
    return this.view(row);
  }

  async create(req: CreateNotificationChannelRequest, origin: Origin): Promise<NotificationChannel> {
    const now = new Date();
    const base = {
      id: 0,
      name: req.name,
      enabled: req.enabled,
      severities: unique(req.severities),
      changes: unique(req.changes),
      created_by: origin.actor.name,
      created_at: now,
      updated_at: now,
    };
    const channel: Channel =
      req.kind === 'webhook'
        ? { ...base, kind: 'webhook', webhook: stripUndefined(req.webhook) }
        : { ...base, kind: 'email', email: stripUndefined(req.email) };
    checkEmail(channel);
    const stored = storedOf(channel, this.opts.box);
    const row = await this.opts.db.transaction(async (tx) => {
      const inserted = await this.opts.repo.insertChannel(
        {
          ...stored,
          name: channel.name,
          kind: channel.kind,
          enabled: channel.enabled,
          severities: channel.severities,
          changes: channel.changes,
          created_by: channel.created_by,
        },
        tx,
      );
      await this.opts.audit.record(
        {
          ...origin,
          action: 'notification_channel.create',
          target: { type: 'notification_channel', id: String(inserted.id) },
          outcome: 'success',
          details: {
            name: inserted.name,
            kind: inserted.kind,
            enabled: inserted.enabled,
            fields: setFields(req),
          },
        },
        tx,
      );
      return inserted;
    });
    return this.commit(row);
  }

  async update(
    id: number,
    req: UpdateNotificationChannelRequest,
    origin: Origin,
  ): Promise<NotificationChannel> {
    const row = await this.opts.db.transaction(async (tx) => {
      const current = await this.opts.repo.findChannel(id, tx);
      if (!current) throw channelNotFound(id);
      const { channel } = channelOf(current, this.opts.box);
      const next = applyUpdate(channel, req);
      checkEmail(next);
      const stored = storedOf(next, this.opts.box);
      const updated = await this.opts.repo.updateChannel(
        id,
        {
          ...stored,
          name: next.name,
          enabled: next.enabled,
          severities: next.severities,
          changes: next.changes,
        },
        tx,
      );
      if (!updated) throw channelNotFound(id);
      await this.opts.audit.record(
        {
          ...origin,
          action: 'notification_channel.update',
          target: { type: 'notification_channel', id: String(id) },
          outcome: 'success',
          details: { name: updated.name, fields: setFields(req) },
        },
        tx,
      );
      return updated;
    });
    return this.commit(row);
  }

  async remove(id: number, origin: Origin): Promise<void> {
    await this.opts.db.transaction(async (tx) => {
      const current = await this.opts.repo.findChannel(id, tx);
      if (!current || !(await this.opts.repo.deleteChannel(id, tx))) throw channelNotFound(id);
      await this.opts.audit.record(
        {
          ...origin,
          action: 'notification_channel.delete',
          target: { type: 'notification_channel', id: String(id) },
          outcome: 'success',
          details: { name: current.name, kind: current.kind },
        },
        tx,
      );
    });
    this.opts.notifier.remove(id);
  }

  async test(id: number, origin: Origin): Promise<NotificationDelivery> {
    const row = await this.opts.repo.findChannel(id);
    if (!row) throw channelNotFound(id);
    const { channel } = channelOf(row, this.opts.box);
    const delivery = await this.opts.notifier.test(channel, origin.actor.name);
    await this.opts.audit.record({
      ...origin,
      action: 'notification_channel.test',
      target: { type: 'notification_channel', id: String(id) },
      outcome: delivery.status === 'sent' ? 'success' : 'failure',
      details: { name: row.name, status: delivery.status, code: delivery.response_code },
    });
    return deliveryView(delivery);
  }

  async deliveries(
    id: number,
    q: { limit: number; cursor?: number; status?: NotificationDeliveryStatus },
  ): Promise<{ items: NotificationDelivery[]; next_cursor: string | null }> {
    if (!(await this.opts.repo.findChannel(id))) throw channelNotFound(id);
    const rows = await this.opts.repo.listDeliveries(id, {
      limit: q.limit + 1,
      before: q.cursor,
      status: q.status,
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map(deliveryView),
      next_cursor: rows.length > q.limit && last ? String(last.id) : null,
    };
  }

  private commit(row: ChannelRow): NotificationChannel {
    const { channel, secretsUnreadable } = channelOf(row, this.opts.box);
    this.opts.notifier.put(channel, secretsUnreadable);
    return viewOf(channel, this.opts.notifier.consecutiveFailures(channel.id));
  }

  private view(row: ChannelRow): NotificationChannel {
    const { channel } = channelOf(row, this.opts.box);
    return viewOf(channel, this.opts.notifier.consecutiveFailures(channel.id));
  }
}

export function deliveryView(row: DeliveryRow): NotificationDelivery {
  return {
    id: row.id,
    channel_id: row.channel_id,
    alert_id: row.alert_id,
    change: row.change,
    status: row.status,
    attempts: row.attempts,
    response_code: row.response_code,
    response: row.response,
    error: row.error,
    duration_ms: row.duration_ms,
    next_attempt_at: row.next_attempt_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The names of the fields a request sets (for the audit trail: names, never values). */
function setFields(req: object, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(req)) {
    if (v === undefined || k === 'kind') continue;
    if (v && typeof v === 'object' && !Array.isArray(v) && (k === 'webhook' || k === 'email')) {
      out.push(...setFields(v, `${k}.`));
    } else {
      out.push(`${prefix}${k}`);
    }
  }
  return out;
}

/** A password without a user is a mistake the schema cannot see (the fields may come in two requests). */
function checkEmail(channel: Channel): void {
  if (
    channel.kind === 'email' &&
    channel.email.password !== undefined &&
    channel.email.username === undefined
  ) {
    throw validationError([{ field: 'body.email.username', message: 'a password needs a username' }]);
  }
}

function applyUpdate(channel: Channel, req: UpdateNotificationChannelRequest): Channel {
  const wrongKind: Array<{ field: string; message: string }> = [];
  if (req.webhook !== undefined && channel.kind !== 'webhook') {
    wrongKind.push({ field: 'body.webhook', message: `channel ${channel.id} is an email channel` });
  }
  if (req.email !== undefined && channel.kind !== 'email') {
    wrongKind.push({ field: 'body.email', message: `channel ${channel.id} is a webhook channel` });
  }
  if (wrongKind.length > 0) throw validationError(wrongKind);
  const base = {
    ...channel,
    name: req.name ?? channel.name,
    enabled: req.enabled ?? channel.enabled,
    severities: req.severities ? unique(req.severities) : channel.severities,
    changes: req.changes ? unique(req.changes) : channel.changes,
  };
  if (base.kind === 'webhook') {
    const w = { ...base.webhook };
    const r = req.webhook ?? {};
    if (r.url !== undefined) w.url = r.url;
    if (r.secret === null) delete w.secret;
    else if (r.secret !== undefined) w.secret = r.secret;
    if (r.headers === null) delete w.headers;
    else if (r.headers !== undefined) w.headers = r.headers;
    return { ...base, webhook: w };
  }
  const e = { ...base.email };
  const r = req.email ?? {};
  if (r.host !== undefined) e.host = r.host;
  if (r.port !== undefined) e.port = r.port;
  if (r.security !== undefined) e.security = r.security;
  if (r.from !== undefined) e.from = r.from;
  if (r.to !== undefined) e.to = r.to;
  if (r.username === null) {
    delete e.username;
    delete e.password;
  } else if (r.username !== undefined) e.username = r.username;
  if (r.password === null) delete e.password;
  else if (r.password !== undefined) e.password = r.password;
  return { ...base, email: e };
}
