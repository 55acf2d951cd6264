import { defineModule } from '../core/module';
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
    const audit = new AuditTrail(ctx.get('db'), ctx.logger);
    return { provides: { audit } };
  },
});
