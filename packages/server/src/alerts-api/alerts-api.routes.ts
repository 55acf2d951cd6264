import {
  AcknowledgeAlertRequest,
  AlertIdParams,
  AlertList,
  AlertListQuery,
  AlertStats,
  AlertStatsQuery,
  AlertView,
  BulkAcknowledgeRequest,
  BulkAcknowledgeResponse,
  CreateAlertRequest,
  ErrorBody,
  ResolveAlertRequest,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditDenials } from '../audit/audit-denials';
import { type AuditTrail, requestAuditor } from '../audit/audit-trail';
import { plainJsonSerializer } from '../http/plain-json';
import type { AlertsApiService } from './alerts-api.service';

const LIVE = 'Published on the live stream (`alert` channel) at once.';

export function alertsApiRoutes(alerts: AlertsApiService, audit: AuditTrail): FastifyPluginAsyncZod {
  return async (app) => {
    // A change the guard refuses (403) is recorded as `denied` under the route's audit action.
    app.addHook('onError', auditDenials(audit));

    app.get(
      '/alerts',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['alerts'],
          summary: 'Alerts, newest first, filtered and paged',
          description:
            'Filter by robot, severity, type, rule, state (open, acknowledged, resolved; several allowed), the ' +
            'original’s acknowledged/resolved booleans, muted, creation time (from/to, or time_range) and text ' +
            'in the title or message. Page with limit and cursor (the previous page’s next_cursor): pages do not ' +
            'shift while new alerts arrive. `total` is counted once, for the first page, up to 1,000 (then `total_capped`).',
          querystring: AlertListQuery,
          response: { 200: AlertList, 400: ErrorBody },
        },
        // Up to 500 alerts built from typed rows: no zod pass over them on the event loop (see plain-json.ts).
        serializerCompiler: plainJsonSerializer,
      },
      async (req) => alerts.list(req.query),
    );

    app.get(
      '/alerts/stats',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['alerts'],
          summary: 'Alert counts over a range: by severity, state, type and robot',
          description:
            'Alerts created in the range (default: the last 24 hours), optionally of some robots only. ' +
            '`unacknowledged` counts the open ones, `unresolved` the open and acknowledged ones.',
          querystring: AlertStatsQuery,
          response: { 200: AlertStats, 400: ErrorBody },
        },
      },
      async (req) => alerts.stats(req.query),
    );

    app.get(
      '/alerts/:id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['alerts'],
          summary: 'One alert',
          params: AlertIdParams,
          response: { 200: AlertView, 400: ErrorBody, 404: ErrorBody.describe('`alert_not_found`') },
        },
      },
      async (req) => alerts.get(req.params.id),
    );

    app.post(
      '/alerts',
      {
        config: { permission: 'robots:control', auditAction: 'alert.create' },
        schema: {
          tags: ['alerts'],
          summary: 'Raise an alert by hand',
          description:
            'An open alert about a known robot (404 `robot_not_found` otherwise) or, without robot_id, about ' +
            `the fleet. ${LIVE} Audited as alert.create.`,
          body: CreateAlertRequest,
          response: { 201: AlertView, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) => reply.status(201).send(await alerts.create(req.body, requestAuditor(req))),
    );

    app.post(
      '/alerts/acknowledge',
      {
        config: { permission: 'robots:control', auditAction: 'alert.acknowledge_many' },
        schema: {
          tags: ['alerts'],
          summary: 'Acknowledge many alerts: by ids, or every open one matching a filter',
          description:
            'Only open alerts change; acknowledged, resolved and unknown ones are left alone. `{"filter": {}}` ' +
            `acknowledges every open alert (the original’s acknowledge-all). ${LIVE} Audited as ` +
            'alert.acknowledge_many.',
          body: BulkAcknowledgeRequest,
          response: { 200: BulkAcknowledgeResponse, 400: ErrorBody },
        },
      },
      async (req) => alerts.acknowledgeMany(req.body, requestAuditor(req)),
    );

    app.post(
      '/alerts/:id/acknowledge',
      {
        config: { permission: 'robots:control', auditAction: 'alert.acknowledge', auditTarget: 'alert' },
        schema: {
          tags: ['alerts'],
          summary: 'Acknowledge an alert',
          description:
            'Records who (your user or API key name), when, and the note. An acknowledged alert stays as it is ' +
            `(200); a resolved one is 409 \`conflict\`. ${LIVE} Audited as alert.acknowledge.`,
          params: AlertIdParams,
          body: AcknowledgeAlertRequest.nullish(),
          response: { 200: AlertView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => alerts.acknowledge(req.params.id, req.body?.note, requestAuditor(req)),
    );

    app.post(
      '/alerts/:id/resolve',
      {
        config: { permission: 'robots:control', auditAction: 'alert.resolve', auditTarget: 'alert' },
        schema: {
          tags: ['alerts'],
          summary: 'Resolve an alert',
          description:
            'Records who resolved it, when, and the note; a resolved alert stays as it is (200). ' +
            `${LIVE} Audited as alert.resolve.`,
          params: AlertIdParams,
          body: ResolveAlertRequest.nullish(),
          response: { 200: AlertView, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => alerts.resolve(req.params.id, req.body?.note, requestAuditor(req)),
    );

    app.delete(
      '/alerts/:id',
      {
        config: { permission: 'alerts:delete', auditAction: 'alert.delete', auditTarget: 'alert' },
        schema: {
          tags: ['alerts'],
          summary: 'Delete an alert',
          description: `Gone for good; the answer is the alert as it was. ${LIVE} Audited as alert.delete.`,
          params: AlertIdParams,
          response: { 200: AlertView, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => alerts.remove(req.params.id, requestAuditor(req)),
    );
  };
}
