/**
 * `npm run migrate-data -- …`'s flags, parsed by hand (no dependency): pure, so the unit tests pin every
 * usage error the command can print.
 */

export interface MigrateDataArgs {
  /** The embedded installation's DATA_DIR (default: DATA_DIR from the environment, else ./data). */
  dataDir: string;
  /** `postgres://…`: the target of the relational data. */
  toDatabase: string;
  /** `influx://…` or `influxs://…`: the target of the telemetry. */
  toTelemetry: string;
  /** Ignore (and replace) the checkpoint of an earlier run. */
  restart: boolean;
  /** Rows per batch (relational rows, telemetry points). */
  batchSize: number;
  help: boolean;
}

/** A command line that cannot be run as given: exit code 2, the message in one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `Usage: npm run migrate-data -- --data-dir <DATA_DIR> --to-database postgres://… --to-telemetry influx://…
  --data-dir DIR        the embedded installation to copy (default: $DATA_DIR, else ./data); stop its server first
  --to-database URL     the PostgreSQL to copy users, robots, alerts, … into (postgres://user:password@host:5432/db)
  --to-telemetry URL    the InfluxDB to copy telemetry into (influx://user:password@host:8086/?db=fleet, influxs:// for https)
  --restart             ignore the checkpoint of an interrupted run and start over
  --batch-size N        rows or points per batch (default 5000)
  --help                this text`;

const DEFAULT_BATCH_SIZE = 5000;

const VALUE_FLAGS = ['--data-dir', '--to-database', '--to-telemetry', '--batch-size'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): MigrateDataArgs {
  const values: Partial<Record<ValueFlag, string>> = {};
  let restart = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--restart' || name === '--help' || name === '-h') {
      if (eq > 0 && arg.startsWith('--')) throw new UsageError(`${name} takes no value`);
      if (name === '--restart') restart = true;
      else help = true;
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) {
      throw new UsageError(
        arg.startsWith('-') ? `unknown flag ${name}` : `unexpected argument ${JSON.stringify(arg)}`,
      );
    }
    const flag = name as ValueFlag;
    let value: string | undefined;
    if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      i++;
    }
    if (values[flag] !== undefined) throw new UsageError(`${flag} is given twice`);
    values[flag] = value;
  }
  if (help) {
    return { dataDir: '', toDatabase: '', toTelemetry: '', restart, batchSize: DEFAULT_BATCH_SIZE, help };
  }

  const toDatabase = values['--to-database'];
  const toTelemetry = values['--to-telemetry'];
  if (!toDatabase) throw new UsageError('--to-database postgres://… is required');
  if (!toTelemetry) throw new UsageError('--to-telemetry influx://… is required');
  checkUrl('--to-database', toDatabase, ['postgres:', 'postgresql:']);
  checkUrl('--to-telemetry', toTelemetry, ['influx:', 'influxs:']);
  const batchText = values['--batch-size'];
  const batchSize = batchText === undefined ? DEFAULT_BATCH_SIZE : Number(batchText);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new UsageError(`--batch-size must be a whole number from 1 to 100000, not ${batchText}`);
  }
  const dataDir = values['--data-dir'] ?? env.DATA_DIR ?? './data';
  if (dataDir === '') throw new UsageError('--data-dir must not be empty');
  return { dataDir, toDatabase, toTelemetry, restart, batchSize, help };
}

function checkUrl(flag: string, value: string, protocols: readonly string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} is not a URL (expected ${protocols[0]}//…)`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new UsageError(
      `${flag} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, not ${url.protocol}//`,
    );
  }
}
