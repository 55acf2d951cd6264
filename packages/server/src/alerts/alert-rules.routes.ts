import {
  AlertRule,
  AlertRuleIdParams,
  AlertRuleList,
  AlertRuleListQuery,
  AlertSilence,
  AlertSilenceIdParams,
  AlertSilenceList,
  AlertSilenceListQuery,
  CreateAlertRuleRequest,
  CreateAlertSilenceRequest,
  ErrorBody,
  UpdateAlertRuleRequest,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import type { AlertRulesService } from './alert-rules.service';

const LEVELS =
  '`direction` above: warning ≤ critical, clear ≤ the warning level; below: the reverse. Either level may be ' +
  'null, not both; a null clear level means the warning (or critical) level. 400 validation_error lists each ' +
  'offending field (inverted levels, a clear level on the wrong side, an unknown measurement or tag).';

export function alertRulesRoutes(service: AlertRulesService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/alert-rules',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['alerts'],
          summary: 'List alert rules',
          description:
            'With `robot_id`: the robot’s own rules and the fleet’s it inherits; a fleet rule the robot’s rule of ' +
            'the same scope replaces is marked `overridden` (a disabled robot rule disables it for that robot).',
          querystring: AlertRuleListQuery,
          response: { 200: AlertRuleList, 400: ErrorBody },
        },
      },
      async (req) => service.list(req.query),
    );

    app.post(
      '/alert-rules',
      {
        config: { permission: 'alerts:configure' },
        schema: {
          tags: ['alerts'],
          summary: 'Create an alert rule (for the fleet, or a robot override)',
          description:
            `Any numeric field of a measurement, optionally one series (\`tag_filter\`). ${LEVELS} 409 when the ` +
            'robot (or the fleet) has a rule of the same measurement, field and tag filter; 404 for an unknown ' +
            'robot. Audited as alert_rule.create.',
          body: CreateAlertRuleRequest,
          response: { 201: AlertRule, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => reply.status(201).send(await service.create(req.body, requestAuditor(req))),
    );

    app.get(
      '/alert-rules/:id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['alerts'],
          summary: 'One alert rule',
          params: AlertRuleIdParams,
          response: { 200: AlertRule, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => service.get(req.params.id),
    );

    app.patch(
      '/alert-rules/:id',
      {
        config: { permission: 'alerts:configure' },
        schema: {
          tags: ['alerts'],
          summary: 'Change an alert rule',
          description:
            `Only the fields given change; the merged rule is checked as a whole. ${LEVELS} A default rule keeps ` +
            'its scope (409). Audited as alert_rule.update.',
          params: AlertRuleIdParams,
          body: UpdateAlertRuleRequest,
          response: { 200: AlertRule, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => service.update(req.params.id, req.body, requestAuditor(req)),
    );

    app.delete(
      '/alert-rules/:id',
      {
        config: { permission: 'alerts:configure' },
        schema: {
          tags: ['alerts'],
          summary: 'Delete an alert rule',
          description:
            'Its open alerts are resolved. A default rule cannot be deleted (409): disable it instead. Audited as ' +
            'alert_rule.delete.',
          params: AlertRuleIdParams,
          response: { 204: z.null().describe('Deleted'), 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        await service.remove(req.params.id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/alert-rules/reset-defaults',
      {
        config: { permission: 'alerts:configure' },
        schema: {
          tags: ['alerts'],
          summary: 'Restore the built-in fleet rules',
          description:
            'Missing default rules are created, changed ones set back to the shipped levels and enabled; robot ' +
            'overrides and other rules stay. Audited as alert_rule.reset_defaults.',
          response: { 200: z.object({ items: z.array(AlertRule), total: z.number().int() }) },
        },
      },
      async (req) => service.resetDefaults(requestAuditor(req)),
    );

    app.get(
      '/alert-silences',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['alerts'],
          summary: 'List silences (maintenance windows)',
          description:
            'Those not ended yet (active or future), newest first; `include_ended=true` adds ended ones. With ' +
            '`robot_id`: that robot’s and the fleet-wide ones.',
          querystring: AlertSilenceListQuery,
          response: { 200: AlertSilenceList, 400: ErrorBody },
        },
      },
      async (req) => service.listSilences(req.query),
    );

    app.post(
      '/alert-silences',
      {
        config: { permission: 'alerts:configure' },
        schema: {
          tags: ['alerts'],
          summary: 'Silence alerts of a robot, a rule, both, or the whole fleet for a while',
          description:
            'Alerts raised (or escalated) for the scope while it is active are recorded with `muted: true` and ' +
            'not notified. A rule scope applies to that rule’s alerts only; a robot or fleet scope to every alert ' +
            'of the robot(s), offline and emergency stop included. `starts_at` defaults to now; give `ends_at` ' +
            'or `duration_s`; a reason is required. Audited as alert_silence.create.',
          body: CreateAlertSilenceRequest,
          response: { 201: AlertSilence, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await service.createSilence(req.body, requestAuditor(req))),
    );

    app.delete(
      '/alert-silences/:id',
      {
        config: { permission: 'alerts:configure' },
        schema: {
          tags: ['alerts'],
          summary: 'End a silence now',
          description:
            'Kept in the list as ended (`include_ended=true`). 409 when it has ended already. Audited as ' +
            'alert_silence.end.',
          params: AlertSilenceIdParams,
          response: { 200: AlertSilence, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => service.endSilence(req.params.id, requestAuditor(req)),
    );
  };
}
