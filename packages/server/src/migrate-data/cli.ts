/**
 * `npm run migrate-data -- --data-dir … --to-database postgres://… --to-telemetry influx://…`: the command
 * around migrateData. Progress goes to stderr, the summary to stdout. Exit codes: 0 copied and verified,
 * 1 a failure (unreachable target, locked data dir, a difference found by the verification), 2 a usage error.
 */
import { parseArgs, USAGE, UsageError } from './args';
import { migrateData } from './migrate-data';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`migrate-data: ${err.message} (--help for usage)\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const result = await migrateData({
      dataDir: args.dataDir,
      toDatabase: args.toDatabase,
      toTelemetry: args.toTelemetry,
      restart: args.restart,
      batchSize: args.batchSize,
    });
    const out = (line: string) => process.stdout.write(`${line}\n`);
    for (const note of result.notes) out(`note: ${note}`);
    if (result.problems.length > 0) {
      out(`Verification failed: ${result.problems.length} difference(s):`);
      for (const p of result.problems) out(`  ${p}`);
      return 1;
    }
    const rows = Object.values(result.tables).reduce((a, b) => a + b, 0);
    const points = Object.values(result.telemetry).reduce((a, b) => a + b, 0);
    out(
      `Copied and verified: ${rows} rows in ${Object.keys(result.tables).length} tables, ${points} telemetry rows.`,
    );
    for (const line of result.secrets) out(line);
    out('Then start the servers with DATABASE_URL and TELEMETRY_URL set to the targets.');
    return 0;
  } catch (err) {
    // One line: a driver's message may carry a detail or a hint on further lines.
    const message = ((err as Error).message ?? String(err)).split('\n')[0]!.trim();
    process.stderr.write(`migrate-data: ${message}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2), process.env);
process.exit(code);
