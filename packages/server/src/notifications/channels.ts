import type {
  AlertChange,
  AlertSeverity,
  AlertView,
  NotificationChannel,
  SMTP_SECURITY,
} from '@tonypi/contracts';
import type { SecretBox } from '../secret-box';
import type { ChannelRow } from './notifications.repository';

export interface WebhookTarget {
  url: string;
  /** The HMAC-SHA256 key of X-TonyPi-Signature; unsigned without it. */
  secret?: string;
  headers?: Record<string, string>;
}

export interface EmailTarget {
  host: string;
  port: number;
  security: (typeof SMTP_SECURITY)[number];
  username?: string;
  password?: string;
  from: string;
  to: string[];
}

/** A channel as the notifier uses it: its secrets opened. Lives in memory only, never logged. */
export type Channel = {
  id: number;
  name: string;
  enabled: boolean;
  severities: AlertSeverity[];
  changes: AlertChange[];
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
} & ({ kind: 'webhook'; webhook: WebhookTarget } | { kind: 'email'; email: EmailTarget });

/** Whether the channel wants this change of this alert (muted alerts are handled apart: logged as skipped). */
export function wants(channel: Channel, change: AlertChange, alert: Pick<AlertView, 'severity'>): boolean {
  return channel.enabled && channel.changes.includes(change) && channel.severities.includes(alert.severity);
}

/** The stored row → the channel, secrets opened (a row sealed under another key: its secrets are lost). */
export function channelOf(row: ChannelRow, box: SecretBox): { channel: Channel; secretsUnreadable: boolean } {
  let secrets: Record<string, unknown> = {};
  let secretsUnreadable = false;
  if (row.secrets !== null) {
    try {
      secrets = box.open(row.secrets);
    } catch {
      secretsUnreadable = true;
    }
  }
  const base = {
    id: row.id,
    name: row.name,
    enabled: row.enabled,
    severities: row.severities,
    changes: row.changes,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
  const s = row.settings;
  if (row.kind === 'webhook') {
    const webhook: WebhookTarget = { url: String(s.url) };
    if (typeof secrets.secret === 'string') webhook.secret = secrets.secret;
    if (secrets.headers && typeof secrets.headers === 'object') {
      webhook.headers = secrets.headers as Record<string, string>;
    }
    return { channel: { ...base, kind: 'webhook', webhook }, secretsUnreadable };
  }
  const email: EmailTarget = {
    host: String(s.host),
    port: Number(s.port),
    security: s.security as EmailTarget['security'],
    from: String(s.from),
    to: (s.to as string[]) ?? [],
  };
  if (typeof s.username === 'string') email.username = s.username;
  if (typeof secrets.password === 'string') email.password = secrets.password;
  return { channel: { ...base, kind: 'email', email }, secretsUnreadable };
}

/** The channel → what is stored: shown settings, and the sealed secrets (null when it has none). */
export function storedOf(
  channel: Channel,
  box: SecretBox,
): { settings: Record<string, unknown>; secrets: string | null } {
  if (channel.kind === 'webhook') {
    const { url, secret, headers } = channel.webhook;
    const secrets: Record<string, unknown> = {};
    if (secret !== undefined) secrets.secret = secret;
    if (headers !== undefined && Object.keys(headers).length > 0) secrets.headers = headers;
    return {
      settings: { url, header_names: Object.keys(headers ?? {}) },
      secrets: Object.keys(secrets).length > 0 ? box.seal(secrets) : null,
    };
  }
  const { password, ...shown } = channel.email;
  return { settings: shown, secrets: password !== undefined ? box.seal({ password }) : null };
}

/** What the API shows: never a secret, nor a header's value. */
export function viewOf(channel: Channel, consecutiveFailures: number): NotificationChannel {
  return {
    id: channel.id,
    name: channel.name,
    kind: channel.kind,
    enabled: channel.enabled,
    severities: channel.severities,
    changes: channel.changes,
    webhook:
      channel.kind === 'webhook'
        ? {
            url: channel.webhook.url,
            has_secret: channel.webhook.secret !== undefined,
            header_names: Object.keys(channel.webhook.headers ?? {}),
          }
        : null,
    email:
      channel.kind === 'email'
        ? {
            host: channel.email.host,
            port: channel.email.port,
            security: channel.email.security,
            username: channel.email.username ?? null,
            has_password: channel.email.password !== undefined,
            from: channel.email.from,
            to: channel.email.to,
          }
        : null,
    consecutive_failures: consecutiveFailures,
    created_by: channel.created_by,
    created_at: channel.created_at.toISOString(),
    updated_at: channel.updated_at.toISOString(),
  };
}
