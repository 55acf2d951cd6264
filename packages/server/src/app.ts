import path from 'node:path';
import { EmbeddedBroker } from './broker/embedded-broker';
import { EmbeddedBus, ExternalBus, type MessageBus } from './broker/message-bus';
import { robotAuth } from './broker/robot-auth';
import type { Config } from './config';
import { type ModuleParts, ServiceRegistry } from './core/module';
import { prepareDataDir } from './data-dir';
import type { Database } from './db/database';
import { migrate } from './db/migrate';
import { openDatabase } from './db/open-database';
import { buildHttp, type HttpApp } from './http/build-http';
import { IngestPressure } from './http/ingest-pressure';
import { healthReport, type StatusSources, serverMetrics } from './http/server-status';
import { IngestPipeline } from './ingest/ingest-pipeline';
import { LiveHub } from './live/live-hub';
import { createLogger, type Logger, redactUrl } from './logger';
import { DOMAIN_MODULES } from './modules';
import { openRobotAccess } from './robots/robot-access';
import { RobotRegistry } from './robots/robot-registry';
import { RobotsRepository } from './robots/robots.repository';
import { RobotsService } from './robots/robots.service';
import { startSimulatedFleet } from './robots/simulated-fleet';
import { loadJwtSecret } from './secrets';
import { DuckDbTelemetryStore } from './telemetry/duckdb-telemetry-store';
import { MaintenanceJob } from './telemetry/maintenance-job';
import { TelemetryService } from './telemetry/telemetry.service';
import type { TelemetryStore } from './telemetry/telemetry-store';
import { ensureAdmin } from './users/bootstrap-admin';
import { UsersRepository } from './users/users.repository';

export const VERSION = '0.1.0';

declare module './core/module' {
  /** What the composition root builds itself, before the domain modules (they move into modules in turn). */
  interface Services {
    config: Readonly<Config>;
    logger: Logger;
    db: Database;
    userRepository: UsersRepository;
    robotRepository: RobotsRepository;
    registry: RobotRegistry;
    robots: RobotsService;
    telemetryStore: TelemetryStore;
    telemetry: TelemetryService;
    live: LiveHub;
    pipeline: IngestPipeline;
    bus: MessageBus;
    /** The embedded broker; undefined with MQTT_URL. */
    broker: EmbeddedBroker | undefined;
    jwtSecret: string;
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
  stop(): Promise<void>;
}

/** Builds and starts everything the config asks for; `stop()` undoes it in reverse order. */
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
    phases[name] = now - phaseStart;
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

    const store = opts.telemetryStore ?? openTelemetryStore(config, logger);
    await store.init();
    cleanups.push(() => store.close());
    phase('telemetry_store_ms');

    const live = new LiveHub({ logger });
    live.start();
    cleanups.push(async () => live.stop());

    const robotsRepo = new RobotsRepository(db);
    const registry = new RobotRegistry({
      repo: robotsRepo,
      logger,
      autoRegister: config.robots.autoRegister,
      registration: {
        perMinute: config.robots.autoRegisterPerMin,
        pendingMax: config.robots.pendingMax,
        confirmAfterMs: config.robots.confirmAfterMs,
      },
      resetStatusesOnStart: !config.mqtt.url,
      offlineAfterMs: 30_000,
      onStatusChange: (change) => live.event('status', change),
    });
    await registry.start();
    cleanups.push(() => registry.stop());
    const access = await openRobotAccess({ db, config, registry, logger });
    cleanups.push(() => access.activity.stop());

    const pipeline = new IngestPipeline({
      store,
      registry,
      live,
      logger,
      queueLimit: config.ingest.queueLimit,
      clockSkewMaxMs: config.ingest.clockSkewMaxMs,
      activity: access.activity,
    });
    pipeline.start();
    cleanups.push(() => pipeline.stop());

    // Once a second, the ingest's own figures for dashboards subscribed to the `ingest` channel.
    let lastAccepted = 0;
    const ingestReport = setInterval(() => {
      const s = pipeline.stats();
      live.event('ingest', {
        ts: Date.now(),
        accepted_per_s: s.messages_accepted - lastAccepted,
        rejected: s.rejected,
        queue_depth: s.queue_points,
      });
      lastAccepted = s.messages_accepted;
    }, 1000);
    ingestReport.unref();
    cleanups.push(async () => clearInterval(ingestReport));

    let bus: MessageBus;
    let broker: EmbeddedBroker | undefined;
    let mqttUrl: string;
    let mqttWsUrl: string | undefined;
    if (config.mqtt.url) {
      bus = await ExternalBus.connect({
        url: config.mqtt.url,
        username: config.mqtt.username,
        password: config.mqtt.password,
        sharedGroup: config.mqtt.sharedGroup === 'off' ? undefined : config.mqtt.sharedGroup,
        clientId: `tonypi-server-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
        logger,
      });
      mqttUrl = config.mqtt.url;
    } else {
      broker = await EmbeddedBroker.start({
        ...config.mqtt.embedded,
        auth: robotAuth({ access: access.credentials, allowAnonymous: config.robots.allowAnonymous }),
        logger,
      });
      const b = broker;
      cleanups.push(() => b.close());
      bus = new EmbeddedBus(broker.aedes);
      const host = publicHost(config.mqtt.embedded.host);
      mqttUrl = `mqtt://${host}:${broker.port}`;
      mqttWsUrl = `ws://${host}:${broker.wsPort}`;
    }
    // The bus closes before the pipeline's last flush: nothing arrives after it.
    cleanups.push(() => bus.close());
    if (broker) {
      // Cleanups run in reverse, so this is the first step of the shutdown path of messages: the broker
      // refuses new publishes (unacknowledged, the robots send them again) and delivers the ones it accepted,
      // then the bus unsubscribes, then the pipeline writes everything.
      const b = broker;
      cleanups.push(async () => {
        const undelivered = await b.stopIntake();
        if (undelivered > 0) logger.warn({ undelivered }, 'mqtt publishes not delivered before shutdown');
      });
    }
    await bus.subscribeIngest(pipeline.handle);
    phase('broker_ms');

    const maintenance = new MaintenanceJob(store, config.retention, logger);
    maintenance.start();
    cleanups.push(() => maintenance.stop());

    const robots = new RobotsService(robotsRepo, registry, store, {
      listMaxAgeMs: config.robots.listMaxAgeMs,
      credentials: access.credentials,
    });
    const telemetry = new TelemetryService(store, robots);
    const warnings: string[] = [];
    if (config.robots.allowAnonymous) {
      warnings.push('Robots without credentials are accepted (ALLOW_ANONYMOUS_ROBOTS=true).');
    }
    const sources: StatusSources = {
      db,
      bus,
      broker,
      pipeline,
      registry,
      live,
      store,
      mqttUrl,
      startedAt: started,
      version: VERSION,
      warnings,
      robotAccess: access.credentials,
    };

    // The domain modules, in list order: each gets what the root and the modules before it provide.
    const services = new ServiceRegistry();
    services.provide('core', {
      config,
      logger,
      db,
      userRepository: users,
      robotRepository: robotsRepo,
      registry,
      robots,
      telemetryStore: store,
      telemetry,
      live,
      pipeline,
      bus,
      broker,
      jwtSecret,
      robotCredentials: access.credentials,
      robotActivity: access.activity,
    });
    const modules: Array<{ name: string; parts: ModuleParts }> = [];
    for (const module of DOMAIN_MODULES) {
      const parts = await module.create(services.contextFor(module.name, config, logger));
      services.provide(module.name, parts.provides);
      modules.push({ name: module.name, parts });
    }
    for (const { parts } of modules) {
      await parts.start?.();
      const stop = parts.stop;
      if (stop) cleanups.push(async () => stop());
    }
    for (const { parts } of modules) warnings.push(...(parts.status?.warnings?.() ?? []));
    phase('modules_ms');

    const health = healthReport(sources);
    const metrics = serverMetrics(sources);

    const pressure = new IngestPressure({
      queue: () => {
        const s = pipeline.stats();
        return { points: s.queue_points, limit: s.queue_limit };
      },
      maxEventLoopDelayMs: config.query.shedLoopDelayMs,
    });
    pressure.start();
    cleanups.push(async () => pressure.stop());

    const http = await buildHttp({
      logger,
      version: VERSION,
      jwtSecret,
      sessionTtlS: config.auth.sessionTtlS,
      users,
      robots,
      telemetry,
      live,
      metrics,
      health,
      pressure,
      moduleRoutes: modules.flatMap(({ parts }) => (parts.routes ? [parts.routes] : [])),
    });
    try {
      await http.listen({ port: config.http.port, host: config.http.host });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new Error(
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

    if (config.simulator.robots > 0) {
      const fleet = await startSimulatedFleet({
        config,
        mqttUrl,
        robotAdmin: services.contextFor('simulator', config, logger).get('robotAdmin'),
        logger,
      });
      cleanups.push(() => fleet.stop());
      phase('simulator_ms');
    }
    logger.info(
      { ms: Date.now() - started, process_uptime_ms: Math.round(process.uptime() * 1000), ...phases },
      'started',
    );

    return {
      url,
      mqttUrl,
      mqttWsUrl,
      generatedAdminPassword: admin.generatedPassword,
      http,
      pipeline,
      registry,
      store,
      db,
      live,
      logger,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function openTelemetryStore(config: Readonly<Config>, logger: Logger): TelemetryStore {
  const url = config.telemetryUrl;
  const readers = { readers: config.query.readers, maxWaitingReads: config.query.queueLimit };
  if (!url) {
    return new DuckDbTelemetryStore({
      path: path.join(config.dataDir, 'telemetry.duckdb'),
      logger,
      ...readers,
    });
  }
  const parsed = new URL(url);
  if (parsed.protocol === 'duckdb:') {
    return new DuckDbTelemetryStore({
      path: decodeURIComponent(parsed.host + parsed.pathname) || ':memory:',
      logger,
      ...readers,
    });
  }
  throw new Error(
    `TELEMETRY_URL ${redactUrl(url)}: the InfluxDB store is not in this version; unset TELEMETRY_URL to use the embedded DuckDB store.`,
  );
}

function publicHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}
