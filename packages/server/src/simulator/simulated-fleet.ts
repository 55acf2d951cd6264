import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Fleet, fleetRobotIds } from '@tonypi/agent';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { RobotAdminService } from '../robots/robot-admin.service';

/** Where the simulated robots' secrets are kept between starts (mode 0600, beside the server's other secrets). */
const SECRETS_FILE = ['secrets', 'simulated-robots.json'] as const;

/**
 * The simulated fleet of `npm start` (SIMULATED_ROBOTS). On the embedded broker its robots are registered
 * through the robot service like any other and connect with their own credentials, so the default
 * installation exercises the secure path; their secrets are kept in DATA_DIR so a restart reuses them (a
 * lost one is rotated). With an external broker (MQTT_URL) they connect with MQTT_USERNAME / MQTT_PASSWORD.
 */
export async function startSimulatedFleet(opts: {
  config: Readonly<Config>;
  mqttUrl: string;
  robotAdmin: RobotAdminService;
  logger: Logger;
}): Promise<Fleet> {
  const { config, logger } = opts;
  const brokerUrl = opts.mqttUrl.replace('0.0.0.0', '127.0.0.1');
  const common = {
    brokerUrl,
    rateHz: config.simulator.rateHz,
    faults: config.simulator.faults,
    logger,
    // The robots' synthetic MJPEG cameras, on 127.0.0.1: the camera_url each reports points at its stream.
    camera: { port: config.simulator.cameraPort },
  };
  if (config.mqtt.url) {
    return Fleet.start({
      ...common,
      robots: config.simulator.robots,
      username: config.mqtt.username,
      password: config.mqtt.password,
    });
  }
  const file = path.join(config.dataDir, ...SECRETS_FILE);
  const kept = await readSecrets(file);
  const secrets: Record<string, string> = {};
  for (const id of fleetRobotIds('tonypi_sim_', config.simulator.robots)) {
    const secret = await opts.robotAdmin.provisionSimulated(id, kept[id]);
    if (secret === undefined) logger.warn({ robot_id: id }, 'simulated robot deleted by an admin: left out');
    else secrets[id] = secret;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  const ids = Object.keys(secrets);
  if (ids.length === 0) throw new Error('Every simulated robot was deleted: set SIMULATED_ROBOTS=0');
  return Fleet.start({
    ...common,
    robots: ids.length,
    robotIds: ids,
    credentials: (robot_id) => ({ username: robot_id, password: secrets[robot_id]! }),
  });
}

async function readSecrets(file: string): Promise<Record<string, string>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return {};
    throw err;
  }
}
