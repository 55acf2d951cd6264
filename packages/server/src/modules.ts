import { auditModule } from './audit/audit.module';
import type { DomainModule } from './core/module';
import { robotAdminModule } from './robots/robot-admin.module';

/**
 * The server's domains in dependency order: each may `get` what the ones before it provide. Adding a
 * domain is one folder and one line here.
 */
export const DOMAIN_MODULES: readonly DomainModule[] = [auditModule, robotAdminModule];
