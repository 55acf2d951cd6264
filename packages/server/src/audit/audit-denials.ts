import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type AuditTrail, requestAuditor } from './audit-trail';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The audit action of a route that changes something (`user.create`): a call the guard refuses
     * with 403 is recorded under it as `denied`, so attempts without the permission leave a trace.
     */
    auditAction?: string;
    /** The target type of such a route's path parameter (`user` for `/users/:id`). */
    auditTarget?: string;
  }
}

/**
 * An `onError` hook for a plugin whose routes declare `auditAction`: records the guard's 403 refusals
 * (the guard runs before the route, so the route cannot). Other errors are the route's to record.
 */
export function auditDenials(audit: AuditTrail) {
  return async (req: FastifyRequest, _reply: FastifyReply, err: FastifyError): Promise<void> => {
    const action = req.routeOptions.config?.auditAction;
    if (!action || err.statusCode !== 403) return;
    const type = req.routeOptions.config?.auditTarget;
    const id = Object.values((req.params ?? {}) as Record<string, unknown>)[0];
    await audit.record({
      ...requestAuditor(req),
      action,
      outcome: 'denied',
      target: type && typeof id === 'string' ? { type, id } : undefined,
      details: {
        route: `${req.method} ${req.routeOptions.url}`,
        permission: req.routeOptions.config?.permission,
      },
    });
  };
}
