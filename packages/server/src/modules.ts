import { alertEngineModule } from './alerts/alert-engine.module';
import { alertsApiModule } from './alerts-api/alerts-api.module';
import { apiKeysModule } from './api-keys/api-keys.module';
import { auditModule } from './audit/audit.module';
import { authModule } from './auth/auth.module';
import { brokerModule } from './broker/broker.module';
import { dynsecModule } from './broker/dynsec/dynsec.module';
import { cameraModule } from './camera/camera.module';
import { commandsModule } from './commands/commands.module';
import type { DomainModule } from './core/module';
import { diagnosticsModule } from './diagnostics/diagnostics.module';
import { ingestModule } from './ingest/ingest.module';
import { itemsModule } from './items/items.module';
import { jobsModule } from './jobs/jobs.module';
import { liveModule } from './live/live.module';
import { logsModule } from './logs/logs.module';
import { notificationsModule } from './notifications/notifications.module';
import { reportsModule } from './reports/reports.module';
import { robotConfigModule } from './robot-config/robot-config.module';
import { robotAdminModule } from './robots/robot-admin.module';
import { robotsModule } from './robots/robots.module';
import { simulatorModule } from './simulator/simulator.module';
import { sshModule } from './ssh/ssh.module';
import { systemModule } from './system/system.module';
import { telemetryModule } from './telemetry/telemetry.module';
import { telemetryStoreModule } from './telemetry/telemetry-store.module';
import { usersModule } from './users/users.module';
import { webAppModule } from './web-app/web-app.module';

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
  // Subscribes to alert.changed when created; stops after the domains that raise alerts, so it sends their last.
  notificationsModule,
  authModule,
  apiKeysModule,
  usersModule,
  telemetryStoreModule,
  robotsModule,
  liveModule,
  logsModule,
  diagnosticsModule,
  ingestModule,
  jobsModule,
  alertEngineModule,
  // Before the broker: with MQTT_DYNSEC the server's own login is made sure of before it connects.
  dynsecModule,
  brokerModule,
  commandsModule,
  robotAdminModule,
  itemsModule,
  alertsApiModule,
  robotConfigModule,
  sshModule,
  cameraModule,
  reportsModule,
  telemetryModule,
  systemModule,
  webAppModule,
  simulatorModule,
];
