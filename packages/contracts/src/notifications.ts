import { z } from 'zod';
import { ALERT_CHANGES, ALERT_SEVERITIES } from './alerts';
import { text } from './payloads';

/**
 * Notification channels (issue #7 §1): where alert changes go besides the web app (which gets them live on
 * the `alert` channel). A webhook (JSON POST signed with HMAC-SHA256) or an email over SMTP, each with the
 * severities and changes it wants. Secrets (the webhook's signing secret and header values, the SMTP
 * password) are write-only: answers say `has_secret` / `has_password` and list header names only.
 */
const Iso = z.string().describe('ISO-8601 UTC');

export const NOTIFICATION_CHANNEL_KINDS = ['webhook', 'email'] as const;
export type NotificationChannelKind = (typeof NOTIFICATION_CHANNEL_KINDS)[number];

/** `tls`: TLS from the first byte (port 465); `starttls`: plain, then STARTTLS, required; `none`: plain. */
export const SMTP_SECURITY = ['tls', 'starttls', 'none'] as const;

/**
 * A delivery's state in the log: `sent`, `retrying` (an attempt failed, another is scheduled), `failed`
 * (attempts used up, a refusal not worth retrying, or the server stopped), `skipped` (a muted alert: raised
 * during a silence, not notified).
 */
export const NOTIFICATION_DELIVERY_STATUSES = ['sent', 'retrying', 'failed', 'skipped'] as const;
export type NotificationDeliveryStatus = (typeof NOTIFICATION_DELIVERY_STATUSES)[number];

/** Longest webhook URL (chat services' incoming-webhook URLs run to a few hundred characters). */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Header names (RFC 9110 token) a webhook may add; the ones the server sets itself are refused. */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
export const RESERVED_WEBHOOK_HEADERS = [
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'connection',
  'transfer-encoding',
  'x-tonypi-event',
  'x-tonypi-delivery',
  'x-tonypi-timestamp',
  'x-tonypi-signature',
] as const;

export const WebhookUrl = z
  .string()
  .max(MAX_WEBHOOK_URL_LENGTH)
  .superRefine((raw, ctx) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
    } else if (url.hostname === '') {
      ctx.addIssue({ code: 'custom', message: 'must name a host' });
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({
        code: 'custom',
        message:
          'must not hold credentials (user:password@): send them in a header (e.g. Authorization), which is write-only',
      });
    }
  });

const WebhookHeaders = z
  .record(
    z.string().regex(HEADER_NAME_RE, 'header names are HTTP tokens of 1-64 characters'),
    z
      .string()
      .max(2048)
      .regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'header values must not contain control characters or newlines'),
  )
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 headers' });
    for (const name of names) {
      if ((RESERVED_WEBHOOK_HEADERS as readonly string[]).includes(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is set by the server' });
      }
    }
  });

const WebhookSecret = z.string().min(16, 'must be at least 16 characters').max(256);
const Severities = z
  .array(z.enum(ALERT_SEVERITIES))
  .min(1, 'name at least one severity')
  .max(ALERT_SEVERITIES.length)
  .describe('The alert severities this channel gets');
const Changes = z
  .array(z.enum(ALERT_CHANGES))
  .min(1, 'name at least one change')
  .max(ALERT_CHANGES.length)
  .describe('The alert changes this channel gets');
const Email = z.email().max(254);
const SmtpHost = text(253)
  .min(1)
  .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or an IP address');

export const WebhookSettings = z.strictObject({
  url: WebhookUrl,
  secret: WebhookSecret.optional().describe(
    'Signs each request (X-TonyPi-Signature); write-only: never shown again',
  ),
  headers: WebhookHeaders.optional().describe(
    'Extra request headers (e.g. Authorization); their values are write-only',
  ),
});

export const EmailSettings = z.strictObject({
  host: SmtpHost,
  port: z.number().int().min(1).max(65535).default(587),
  security: z.enum(SMTP_SECURITY).default('starttls'),
  username: text(254).min(1).optional(),
  password: z.string().min(1).max(256).optional().describe('Write-only: never shown again'),
  from: Email,
  to: z.array(Email).min(1, 'name at least one recipient').max(50),
});

const common = {
  name: text(100).min(1),
  enabled: z.boolean().default(true),
  severities: Severities.default(['warning', 'critical']),
  changes: Changes.default(['raised', 'escalated', 'resolved']),
};

export const CreateNotificationChannelRequest = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('webhook'), ...common, webhook: WebhookSettings }),
    z.strictObject({ kind: z.literal('email'), ...common, email: EmailSettings }),
  ])
  .meta({ id: 'CreateNotificationChannelRequest' });
export type CreateNotificationChannelRequest = z.infer<typeof CreateNotificationChannelRequest>;

/** Only the fields given change; `null` clears a secret, the headers or the SMTP user. The kind stays. */
export const UpdateNotificationChannelRequest = z
  .strictObject({
    name: text(100).min(1).optional(),
    enabled: z.boolean().optional(),
    severities: Severities.optional(),
    changes: Changes.optional(),
    webhook: z
      .strictObject({
        url: WebhookUrl.optional(),
        secret: WebhookSecret.nullable().optional(),
        headers: WebhookHeaders.nullable().optional(),
      })
      .optional(),
    email: z
      .strictObject({
        host: SmtpHost.optional(),
        port: z.number().int().min(1).max(65535).optional(),
        security: z.enum(SMTP_SECURITY).optional(),
        username: text(254).min(1).nullable().optional(),
        password: z.string().min(1).max(256).nullable().optional(),
        from: Email.optional(),
        to: z.array(Email).min(1, 'name at least one recipient').max(50).optional(),
      })
      .optional(),
  })
  .meta({ id: 'UpdateNotificationChannelRequest' });
export type UpdateNotificationChannelRequest = z.infer<typeof UpdateNotificationChannelRequest>;

export const NotificationChannel = z
  .object({
    id: z.number().int(),
    name: z.string(),
    kind: z.enum(NOTIFICATION_CHANNEL_KINDS),
    enabled: z.boolean(),
    severities: z.array(z.enum(ALERT_SEVERITIES)),
    changes: z.array(z.enum(ALERT_CHANGES)),
    webhook: z
      .object({
        url: z.string(),
        has_secret: z.boolean(),
        header_names: z.array(z.string()),
      })
      .nullable(),
    email: z
      .object({
        host: z.string(),
        port: z.number().int(),
        security: z.enum(SMTP_SECURITY),
        username: z.string().nullable(),
        has_password: z.boolean(),
        from: z.string(),
        to: z.array(z.string()),
      })
      .nullable(),
    /** Deliveries in a row that ended failed (reset by one sent): a channel that keeps failing is a health warning. */
    consecutive_failures: z.number().int(),
    created_by: z.string().nullable(),
    created_at: Iso,
    updated_at: Iso,
  })
  .meta({ id: 'NotificationChannel' });
export type NotificationChannel = z.infer<typeof NotificationChannel>;

export const NotificationChannelList = z.object({ items: z.array(NotificationChannel) });

export const NotificationChannelIdParams = z.object({
  id: z.coerce.number().int().min(1).max(2_147_483_647),
});

export const NotificationDelivery = z
  .object({
    id: z.number().int(),
    channel_id: z.number().int(),
    /** Null for a test notification. */
    alert_id: z.number().int().nullable(),
    /** The alert change, or `test`. */
    change: z.string(),
    status: z.enum(NOTIFICATION_DELIVERY_STATUSES),
    attempts: z.number().int(),
    /** The HTTP status (webhook) or the SMTP reply code (email) of the last attempt. */
    response_code: z.number().int().nullable(),
    /** The SMTP server's reply, or the start of the webhook's answer to a refused request. */
    response: z.string().nullable(),
    error: z.string().nullable(),
    /** How long the last attempt took. */
    duration_ms: z.number().int().nullable(),
    next_attempt_at: Iso.nullable(),
    created_at: Iso,
    updated_at: Iso,
  })
  .meta({ id: 'NotificationDelivery' });
export type NotificationDelivery = z.infer<typeof NotificationDelivery>;

export const NotificationDeliveryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** The `next_cursor` of the page before. */
  cursor: z.coerce.number().int().min(1).optional(),
  status: z.enum(NOTIFICATION_DELIVERY_STATUSES).optional(),
});

export const NotificationDeliveryList = z.object({
  items: z.array(NotificationDelivery),
  next_cursor: z.string().nullable(),
});
