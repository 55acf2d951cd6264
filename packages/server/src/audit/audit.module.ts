import { defineModule } from '../core/module';
import { auditRoutes } from './audit.routes';
import { AuditLog } from './audit-log';
import { AuditTrail } from './audit-trail';

declare module '../core/module' {
  interface Services {
    /** Append-only record of every change made by a person or an API key. */
    audit: AuditTrail;
  }
}

export const auditModule = defineModule({
  name: 'audit',
  create(ctx) {
    const db = ctx.get('db');
    const audit = new AuditTrail(db, ctx.logger, ctx.get('events'));
    return { provides: { audit }, routes: auditRoutes(new AuditLog(db)) };
  },
});
