import {
  CreateNotificationChannelRequest,
  ErrorBody,
  NotificationChannel,
  NotificationChannelIdParams,
  NotificationChannelList,
  NotificationDelivery,
  NotificationDeliveryList,
  NotificationDeliveryQuery,
  UpdateNotificationChannelRequest,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import type { NotificationsService } from './notifications.service';

const WRITE_ONLY =
  'Secrets (the webhook `secret`, the values of its `headers`, the SMTP `password`) are write-only: answers ' +
  'say `has_secret` / `has_password` and list `header_names`, never a value.';

export function notificationsRoutes(service: NotificationsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/notification-channels',
      {
        config: { permission: 'notifications:manage' },
        schema: {
          tags: ['notifications'],
          summary: 'List notification channels (webhooks, email)',
          description: `Every channel, oldest first. ${WRITE_ONLY}`,
          response: { 200: NotificationChannelList },
        },
      },
      async () => ({ items: await service.list() }),
    );

    app.post(
      '/notification-channels',
      {
        config: { permission: 'notifications:manage' },
        schema: {
          tags: ['notifications'],
          summary: 'Create a notification channel',
          description:
            'A `webhook` (JSON POST, signed with HMAC-SHA256 when it has a secret) or an `email` channel (SMTP), ' +
            'with the alert `severities` (default warning, critical) and `changes` (default raised, escalated, ' +
            'resolved) it gets. A webhook URL is http(s) without credentials in it. ' +
            `${WRITE_ONLY} Audited as notification_channel.create.`,
          body: CreateNotificationChannelRequest,
          response: { 201: NotificationChannel, 400: ErrorBody },
        },
      },
      async (req, reply) => reply.status(201).send(await service.create(req.body, requestAuditor(req))),
    );

    app.get(
      '/notification-channels/:id',
      {
        config: { permission: 'notifications:manage' },
        schema: {
          tags: ['notifications'],
          summary: 'A notification channel',
          description: WRITE_ONLY,
          params: NotificationChannelIdParams,
          response: { 200: NotificationChannel, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => service.get(req.params.id),
    );

    app.patch(
      '/notification-channels/:id',
      {
        config: { permission: 'notifications:manage' },
        schema: {
          tags: ['notifications'],
          summary: 'Change a notification channel',
          description:
            'Only the fields given change; within `webhook` / `email` too (a secret not given is kept, `null` ' +
            'clears it). The kind stays. Audited as notification_channel.update.',
          params: NotificationChannelIdParams,
          body: UpdateNotificationChannelRequest,
          response: { 200: NotificationChannel, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => service.update(req.params.id, req.body, requestAuditor(req)),
    );

    app.delete(
      '/notification-channels/:id',
      {
        config: { permission: 'notifications:manage' },
        schema: {
          tags: ['notifications'],
          summary: 'Delete a notification channel and its delivery log',
          description: 'What it still had to send is dropped. Audited as notification_channel.delete.',
          params: NotificationChannelIdParams,
          response: { 204: z.null(), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) => {
        await service.remove(req.params.id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/notification-channels/:id/test',
      {
        config: { permission: 'notifications:manage' },
        schema: {
          tags: ['notifications'],
          summary: 'Send a test notification now and answer how it went',
          description:
            'One attempt (no retries), enabled channel or not, within the per-attempt timeout ' +
            '(NOTIFICATION_TIMEOUT_MS): a webhook gets event `notification.test`, an email channel a test mail. ' +
            'The answer is the delivery-log row: `status` sent or failed, the HTTP status or SMTP reply, the ' +
            'error. Audited as notification_channel.test.',
          params: NotificationChannelIdParams,
          response: { 200: NotificationDelivery, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => service.test(req.params.id, requestAuditor(req)),
    );

    app.get(
      '/notification-channels/:id/deliveries',
      {
        config: { permission: 'notifications:manage' },
        schema: {
          tags: ['notifications'],
          summary: "A channel's delivery log, newest first",
          description:
            'One row per notification (an alert change, or a test), updated after each attempt: status sent, ' +
            'retrying (with `next_attempt_at`), failed, or skipped (a muted alert); attempts, the HTTP status or ' +
            "SMTP reply code, the error, the last attempt's duration. The newest 1000 per channel are kept. " +
            'Paginate with `cursor` = the `next_cursor` of the page before.',
          params: NotificationChannelIdParams,
          querystring: NotificationDeliveryQuery,
          response: { 200: NotificationDeliveryList, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => service.deliveries(req.params.id, req.query),
    );
  };
}
