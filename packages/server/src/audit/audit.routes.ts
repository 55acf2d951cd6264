import { AuditList, AuditQuery, ErrorBody } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AuditLog } from './audit-log';

export function auditRoutes(log: AuditLog): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/audit',
      {
        config: { permission: 'audit:read' },
        schema: {
          tags: ['audit'],
          summary: 'The audit trail, newest first',
          description:
            'Who changed what, when, from where, and whether it worked. Filter by actor (id or name), action ' +
            '(exact, or a prefix ending in "." such as user.), target, time and outcome; page with limit and ' +
            'offset, or with before_id (the previous page’s next_before_id).',
          querystring: AuditQuery,
          response: { 200: AuditList, 400: ErrorBody, 403: ErrorBody },
        },
      },
      async (req) => log.query(req.query),
    );
  };
}
