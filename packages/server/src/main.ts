import { startServer } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';

/** `npm start`: the whole monitor in one process, with a simulated fleet unless told otherwise. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ SIMULATED_ROBOTS: '3', ...process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, { logger }).catch((err: Error) => {
    logger.fatal({ err: err.message }, 'could not start');
    process.stderr.write(`\nCould not start: ${err.message}\n`);
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
  const shutdown = async (signal: string) => {
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
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  if (process.env.npm_lifecycle_event) followParent(() => void shutdown('parent exited'));
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
