import type { Config } from './config';
import { EventBus } from './core/event-bus';
import { type ModuleContext, ServiceRegistry } from './core/module';
import { ModuleHost } from './core/module-host';
import { prepareDataDir } from './data-dir';
import type { Database } from './db/database';
import { migrate } from './db/migrate';
import { openDatabase } from './db/open-database';
import { buildHttp, type HttpApp } from './http/build-http';
import { StatusBoard } from './http/server-status';
import type { IngestPipeline } from './ingest/ingest-pipeline';
import type { LiveHub } from './live/live-hub';
import { createLogger, type Logger } from './logger';
import { DOMAIN_MODULES } from './modules';
import { publicHost } from './public-host';
import type { RobotRegistry } from './robots/robot-registry';
import { loadJwtSecret } from './secrets';
import { StartupError } from './startup-error';
import type { TelemetryStore } from './telemetry/telemetry-store';
import { ensureAdmin } from './users/bootstrap-admin';
import { UsersRepository } from './users/users.repository';

export const VERSION = '0.1.0';

declare module './core/module' {
  /** What the composition root builds itself, before the domain modules. */
  interface Services {
    config: Readonly<Config>;
    logger: Logger;
    db: Database;
    userRepository: UsersRepository;
    jwtSecret: string;
    /** The in-process event bus (`ServerEvents` in contracts). */
    events: EventBus;
    /** What health and metrics report: every module's status, added as the module is created. */
    statusBoard: StatusBoard;
  }
}

export interface RunningServer {
  /** http://host:port of the REST API, docs and live stream. */
  url: string;
  /** mqtt://host:port robots connect to (the embedded broker, or MQTT_URL). */
  mqttUrl: string;
  mqttWsUrl?: string;
  /** Set on the very first start only, when the admin's password was generated. */
  generatedAdminPassword?: string;
  http: HttpApp;
  pipeline: IngestPipeline;
  registry: RobotRegistry;
  store: TelemetryStore;
  db: Database;
  live: LiveHub;
  logger: Logger;
  /** A service the root or a module provides (tests reach domain services through it). */
  service: ModuleContext['get'];
  stop(): Promise<void>;
}

/**
 * Builds and starts everything the config asks for: the database, then the domain modules in list order
 * (`modules.ts`), then HTTP; `stop()` undoes it in reverse order.
 */
export async function startServer(
  config: Readonly<Config>,
  opts: {
    logger?: Logger;
    /** A telemetry store to use instead of the one the config names (tests inject faults through it). */
    telemetryStore?: TelemetryStore;
  } = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const started = Date.now();
  const phases: Record<string, number> = {};
  let phaseStart = started;
  const phase = (name: string) => {
    const now = Date.now();
    phases[name] = (phases[name] ?? 0) + now - phaseStart;
    phaseStart = now;
  };
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse().splice(0)) {
      try {
        await cleanup();
      } catch (err) {
        logger.error({ err }, 'error during shutdown');
      }
    }
  };

  try {
    await prepareDataDir(config.dataDir);

    const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, logger });
    cleanups.push(() => db.close());
    phase('database_open_ms');
    await migrate(db, { logger });
    phase('migrations_ms');
    const users = new UsersRepository(db);
    const admin = await ensureAdmin(users, { password: config.auth.adminPassword });
    const jwtSecret = await loadJwtSecret(config.auth.jwtSecret, config.dataDir);
    phase('admin_ms');

    const services = new ServiceRegistry();
    const statusBoard = new StatusBoard({ version: VERSION, startedAt: started });
    const events = new EventBus({ logger });
    services.provide('core', {
      config,
      logger,
      db,
      userRepository: users,
      jwtSecret,
      events,
      statusBoard,
    });
    if (opts.telemetryStore) services.provide('core', { telemetryStoreOverride: opts.telemetryStore });

    // The domain modules, in list order: each gets what the root and the modules before it provide.
    const host = new ModuleHost({
      services,
      config,
      logger,
      onStatus: (module, status) => statusBoard.add(module, status),
      onPhase: (module) => phase(phaseName(module)),
    });
    cleanups.push(() => host.stop());
    await host.create(DOMAIN_MODULES);
    await host.start();

    const http = await buildHttp({
      logger,
      version: VERSION,
      jwtSecret,
      sessionTtlS: config.auth.sessionTtlS,
      pressure: services.find('pressure'),
      web: config.web,
      moduleRoutes: host.routes(),
      rootRoutes: host.rootRoutes(),
      // Without the query string: it may hold what nobody should read in a log (a token, a search).
      onServerError: (e) =>
        events.publish('server.error', { ...e, url: e.url.split('?')[0]!, at: Date.now() }),
    });
    try {
      await http.listen({ port: config.http.port, host: config.http.host });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new StartupError(
          `HTTP port ${config.http.port} is already in use: stop what holds it, or set PORT to a free port.`,
        );
      }
      throw err;
    }
    cleanups.push(() => http.close());
    phase('http_ms');
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    const url = `http://${publicHost(config.http.host)}:${port}`;
    logger.info(
      { ms: Date.now() - started, process_uptime_ms: Math.round(process.uptime() * 1000), ...phases },
      'started',
    );

    const mqtt = services.get('mqttEndpoint');
    return {
      url,
      mqttUrl: mqtt.url,
      mqttWsUrl: mqtt.wsUrl,
      generatedAdminPassword: admin.generatedPassword,
      http,
      pipeline: services.get('pipeline'),
      registry: services.get('registry'),
      store: services.get('telemetryStore'),
      db,
      live: services.get('live'),
      logger,
      service: services.contextFor('server', config, logger).get,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A module's share of the start-up log line: `telemetry-store` → `telemetry_store_ms`. */
function phaseName(module: string): string {
  return `${module.replaceAll('-', '_')}_ms`;
}
