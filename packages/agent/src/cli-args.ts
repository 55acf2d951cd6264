import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { FleetOptions } from './fleet';

export const USAGE = `Usage: tonypi-agent simulate [options]

Runs a fleet of simulated TonyPi robots against an MQTT broker.

Options:
  --robots N          number of robots (default 3)
  --rate HZ           telemetry samples per second per robot (default 1)
  --broker URL        broker URL (default mqtt://127.0.0.1:1883)
  --protocol P        canonical (default) or legacy (the seed robot client's format)
  --prefix P          robot id prefix (default tonypi_sim_)
  --no-faults         no simulated faults (overheating, link drops, error logs)
  --no-autonomy       robots only act on commands (no self-started jobs)
  --seed S            PRNG seed: the same seed replays the same fleet
  --username U        MQTT username (canonical protocol); with --robots 1 the robot's id is U (the
                      embedded broker wants username = client id = robot id), else every robot uses it
  --password P        MQTT password (canonical protocol)
  --credentials FILE  per-robot credentials: a JSON file as POST /api/v1/robots answers
                      ({"robot":{…},"mqtt":{"username","password","url"}}), or a list of them; one
                      robot per entry, on the first entry's url unless --broker says otherwise
  --camera-port N     the robots' synthetic MJPEG cameras on 127.0.0.1:N (default: a free port)
  --no-camera         no cameras (the robots report mjpg-streamer's usual URL)
  --duration S        stop after S seconds (default: run until Ctrl-C)
  --stats             print the publish rate every 5 s
  -h, --help          this help
`;

export interface SimulateArgs {
  fleet: Omit<FleetOptions, 'logger'>;
  durationS: number | null;
  stats: boolean;
}

export type ParsedCli = { kind: 'help' } | { kind: 'simulate'; args: SimulateArgs };

export class CliError extends Error {}

/** Parses `simulate …`; throws CliError with a message meant for the person at the terminal. */
export function parseCli(argv: readonly string[]): ParsedCli {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    return { kind: 'help' };
  }
  if (command !== 'simulate') throw new CliError(`unknown command '${command}' (expected: simulate)`);
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(rest).values;
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (values.help) return { kind: 'help' };
  const protocol = values.protocol ?? 'canonical';
  if (protocol !== 'canonical' && protocol !== 'legacy') {
    throw new CliError(`--protocol must be canonical or legacy, got '${protocol}'`);
  }
  if ((values.username === undefined) !== (values.password === undefined)) {
    throw new CliError('--username and --password go together');
  }
  const file = values.credentials === undefined ? undefined : readCredentials(values.credentials);
  if (file) {
    for (const flag of ['username', 'robots', 'prefix'] as const) {
      if (values[flag] !== undefined)
        throw new CliError(`--credentials names the robots: leave out --${flag}`);
    }
  }
  const broker = values.broker ?? file?.[0]?.url ?? 'mqtt://127.0.0.1:1883';
  if (!/^(mqtts?|wss?|tcp|ssl):\/\/[^/\s]+/.test(broker)) {
    throw new CliError(`--broker must be a URL such as mqtt://127.0.0.1:1883, got '${broker}'`);
  }
  const fleet: SimulateArgs['fleet'] = {
    brokerUrl: broker,
    robots: integer('--robots', values.robots, 3, 1, 10_000),
    rateHz: number('--rate', values.rate, 1, 0.01, 1000),
    protocol,
    faults: !values['no-faults'],
    autonomy: !values['no-autonomy'],
  };
  if (values.prefix !== undefined) fleet.idPrefix = values.prefix;
  if (values.seed !== undefined) fleet.seed = integer('--seed', values.seed, 0, 0, 2 ** 32 - 1);
  if (values.username !== undefined) fleet.username = values.username;
  if (values.password !== undefined) fleet.password = values.password;
  if (values.username !== undefined && fleet.robots === 1) fleet.robotIds = [values.username];
  if (file) {
    const secrets = new Map(file.map((c) => [c.username, c.password]));
    fleet.robots = file.length;
    fleet.robotIds = file.map((c) => c.username);
    fleet.credentials = (robot_id) => ({ username: robot_id, password: secrets.get(robot_id) ?? '' });
  }
  if (values['no-camera'] && values['camera-port'] !== undefined) {
    throw new CliError('--no-camera and --camera-port exclude each other');
  }
  if (values['no-camera']) fleet.camera = false;
  if (values['camera-port'] !== undefined) {
    fleet.camera = { port: integer('--camera-port', values['camera-port'], 0, 0, 65_535) };
  }
  const durationS = values.duration === undefined ? null : number('--duration', values.duration, 0, 0.1, 1e9);
  return { kind: 'simulate', args: { fleet, durationS, stats: values.stats ?? false } };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      robots: { type: 'string' },
      rate: { type: 'string' },
      broker: { type: 'string' },
      protocol: { type: 'string' },
      prefix: { type: 'string' },
      'no-faults': { type: 'boolean' },
      'no-autonomy': { type: 'boolean' },
      seed: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      credentials: { type: 'string' },
      'camera-port': { type: 'string' },
      'no-camera': { type: 'boolean' },
      duration: { type: 'string' },
      stats: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function number(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new CliError(`${flag} must be a number, got '${raw}'`);
  if (v < min || v > max) throw new CliError(`${flag} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function integer(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  const v = number(flag, raw, fallback, min, max);
  if (!Number.isInteger(v)) throw new CliError(`${flag} must be a whole number, got ${raw}`);
  return v;
}

interface FileCredentials {
  username: string;
  password: string;
  url?: string;
}

/** A credentials file: one answer of POST /api/v1/robots (`{ robot, mqtt }`), or a list of them. */
export function readCredentials(file: string): FileCredentials[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--credentials ${file}: ${(err as Error).message}`);
  }
  const entries = Array.isArray(parsed) ? parsed : [parsed];
  if (entries.length === 0) throw new CliError(`--credentials ${file}: the list is empty`);
  const out = entries.map((entry, i) => {
    const mqtt = (entry as { mqtt?: Record<string, unknown> } | null)?.mqtt;
    if (typeof mqtt?.username !== 'string' || typeof mqtt.password !== 'string') {
      throw new CliError(
        `--credentials ${file}: entry ${i + 1} has no mqtt.username and mqtt.password (expected what POST /api/v1/robots answers)`,
      );
    }
    return {
      username: mqtt.username,
      password: mqtt.password,
      ...(typeof mqtt.url === 'string' ? { url: mqtt.url } : {}),
    };
  });
  const ids = new Set(out.map((c) => c.username));
  if (ids.size !== out.length) throw new CliError(`--credentials ${file}: a robot appears twice`);
  return out;
}
