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
  --username U        MQTT username (canonical protocol)
  --password P        MQTT password (canonical protocol)
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
  const broker = values.broker ?? 'mqtt://127.0.0.1:1883';
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
