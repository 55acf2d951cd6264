import { startServer } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger, type Logger } from './logger';
import { StartupError } from './startup-error';

/** `npm start`: the whole monitor in one process, with a simulated fleet unless told otherwise. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ SIMULATED_ROBOTS: '3', ...process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `${err.message}\nSet these variables right (README.md, "Configuration") and start again.\n`,
      );
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  // Handlers first: a signal during start-up (the HTTP port answers before the simulator is up) would
  // otherwise kill the process with the database lock held. It stops the server as soon as it has started;
  // a second one during start-up exits at once (a start that hangs can still be interrupted).
  let stop: ((signal: string) => Promise<void>) | undefined;
  let signalDuringStart: string | undefined;
  const onSignal = (signal: string) => {
    if (stop) return void stop(signal);
    if (signalDuringStart) {
      logger.error({ signal }, 'second signal during start-up: exiting without a clean shutdown');
      process.exit(130);
    }
    signalDuringStart = signal;
    logger.info({ signal }, 'signal during start-up: stopping as soon as the server has started');
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  logger.info({ pid: process.pid }, 'starting');

  const server = await startServer(config, { logger }).catch((err: unknown) => {
    reportFailedStart(logger, err);
    process.exit(1);
  });

  const lines = [
    '',
    `  TonyPi Fleet Monitor is running`,
    `  Web / API:   ${server.url}   (API reference: ${server.url}/docs)`,
    `  MQTT:        ${server.mqttUrl}${server.mqttWsUrl ? `   (WebSocket: ${server.mqttWsUrl})` : ''}`,
    `  Robots:      ${config.simulator.robots} simulated (SIMULATED_ROBOTS=0 turns them off)`,
  ];
  if (server.generatedAdminPassword) {
    lines.push(
      `  Admin:       user "admin", password ${server.generatedAdminPassword}`,
      '               (shown once: note it now; set ADMIN_PASSWORD on first start to choose it)',
    );
  } else {
    lines.push('  Admin:       sign in with the admin account created on first start');
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);

  let stopping = false;
  stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: flushing buffers');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 15 s; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    await server.stop();
    logger.info('stopped');
    process.exit(0);
  };
  if (signalDuringStart) void stop(signalDuringStart);
  if (process.env.npm_lifecycle_event) followParent(() => onSignal('parent exited'));
}

/**
 * Once, as the last line: a cause the server knows (a port in use, DATA_DIR, the database) is its message,
 * which says what to do; anything else is a bug and keeps its stack for the report.
 */
function reportFailedStart(logger: Logger, err: unknown): void {
  const message = `could not start: ${err instanceof Error ? err.message : String(err)}`;
  // LOG_LEVEL=silent asks for no log lines, not for a silent exit.
  if (!logger.isLevelEnabled('fatal')) process.stderr.write(`${message}\n`);
  else if (err instanceof StartupError) logger.fatal(message);
  else logger.fatal({ err }, message);
}

/**
 * Under `npm start` the server is npm's child: npm passes SIGTERM/SIGINT on and waits, but when npm itself is
 * killed (SIGKILL, a crashed terminal) nothing tells the server, which would live on as an orphan holding
 * the ports and the database lock. An orphan is adopted by another process, so its parent pid changes: that
 * is the signal to shut down cleanly. Not done when started directly, where the caller may mean to detach.
 */
function followParent(onExit: () => void): void {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    onExit();
  }, 500);
  watch.unref();
}

void main();
