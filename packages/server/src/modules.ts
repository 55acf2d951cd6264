import { apiKeysModule } from './api-keys/api-keys.module';
import { auditModule } from './audit/audit.module';
import { authModule } from './auth/auth.module';
import { brokerModule } from './broker/broker.module';
import { commandsModule } from './commands/commands.module';
import type { DomainModule } from './core/module';
import { ingestModule } from './ingest/ingest.module';
import { liveModule } from './live/live.module';
import { robotAdminModule } from './robots/robot-admin.module';
import { robotsModule } from './robots/robots.module';
import { simulatorModule } from './simulator/simulator.module';
import { systemModule } from './system/system.module';
import { telemetryModule } from './telemetry/telemetry.module';
import { telemetryStoreModule } from './telemetry/telemetry-store.module';
import { usersModule } from './users/users.module';

/**
 * The server's domains in dependency order: each may `get` what the ones before it provide, starts after
 * them and stops before them. Adding a domain is one folder and one line here.
 *
 * Robot messages flow from the moment `broker` is created: a domain that must see every message (it
 * subscribes to `robot.message`) goes before it; one that publishes to robots (`bus`) after it.
 * `simulator` stays last: its robots connect once everything runs, and leave first.
 */
export const DOMAIN_MODULES: readonly DomainModule[] = [
  auditModule,
  authModule,
  apiKeysModule,
  usersModule,
  telemetryStoreModule,
  robotsModule,
  liveModule,
  ingestModule,
  brokerModule,
  commandsModule,
  robotAdminModule,
  telemetryModule,
  systemModule,
  simulatorModule,
];
