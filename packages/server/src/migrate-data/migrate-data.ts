/**
 * Moving an embedded installation (PGlite + DuckDB in DATA_DIR) onto PostgreSQL + InfluxDB: open both sides,
 * copy the relational rows, then the telemetry, then verify both, with a checkpoint after every batch so an
 * interrupted run continues where it stopped. The source is only read (both engines are opened as the server
 * opens them, so a WAL left by a killed server is replayed first); the embedded database's lock
 * (db/directory-lock.ts) is taken like a server takes it, so a running server makes this refuse at once, and
 * no server can start on the data dir while the copy runs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { DirectoryLockedError } from '../db/directory-lock';
import { PGliteDatabase } from '../db/pglite-database';
import { PostgresDatabase } from '../db/postgres-database';
import { redactUrl } from '../logger';
import { InfluxHttp } from '../telemetry/influx-http';
import { tierDatabases } from '../telemetry/influx-schema';
import { InfluxTelemetryStore, influxOptionsFromUrl } from '../telemetry/influx-telemetry-store';
import { InfluxWriter } from '../telemetry/influx-writer';
import { checkpointPath, chooseCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoint';
import { type Progress, stderrProgress } from './progress';
import { copySequences, copyTables, fillDeferred, verifyTables } from './relational-copy';
import { planCopy, readTables } from './relational-schema';
import { clearTarget, migrateTarget } from './relational-target';
import { secretsAdvice } from './secrets-advice';
import {
  copyExtras,
  copyRaw,
  copyRollups,
  copyWatermarks,
  readRawSources,
  type TelemetryCopyOptions,
} from './telemetry-copy';
import { compareTotals, duckTotals, duplicateNotes, influxTotals } from './telemetry-verify';

export interface MigrateDataOptions {
  dataDir: string;
  toDatabase: string;
  toTelemetry: string;
  restart?: boolean;
  batchSize?: number;
  progress?: Progress;
  /** Called after every batch once its checkpoint is saved; throwing interrupts the run there (tests). */
  afterBatch?: () => void;
  now?: () => number;
}

export interface MigrateDataResult {
  resumed: boolean;
  /** Rows copied per table, points/values per telemetry stream (this run and earlier ones of the checkpoint). */
  tables: Record<string, number>;
  telemetry: Record<string, number>;
  /** What differs between source and target after the copy; empty when verified. */
  problems: string[];
  /** Lines about the secret files to move (never their values). */
  secrets: string[];
  notes: string[];
}

/** A failure the operator can act on: one line, exit code 1. */
export class MigrateDataError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrateDataError';
  }
}

export async function migrateData(o: MigrateDataOptions): Promise<MigrateDataResult> {
  const progress = o.progress ?? stderrProgress();
  const batchSize = o.batchSize ?? 5000;
  const now = o.now ?? Date.now;
  const dataDir = path.resolve(o.dataDir);
  const pgDir = path.join(dataDir, 'pg');
  const duckFile = path.join(dataDir, 'telemetry.duckdb');
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
    throw new MigrateDataError(`${dataDir} holds no installation: ${pgDir} is not an embedded database`);
  }
  if (!existsSync(duckFile)) {
    throw new MigrateDataError(`${dataDir} holds no embedded telemetry: ${duckFile} is missing`);
  }
  const target = { database: redactUrl(o.toDatabase), telemetry: redactUrl(o.toTelemetry) };
  const file = checkpointPath(dataDir);
  const chosen = chooseCheckpoint(await readCheckpoint(file), target, o.restart ?? false);
  const checkpoint = chosen.checkpoint;
  const save = () => saveCheckpoint(file, checkpoint);
  const notes: string[] = [];

  const opened: (() => Promise<void> | void)[] = [];
  try {
    const source = await step('open the embedded database', () => PGliteDatabase.open({ dataDir: pgDir }));
    opened.push(() => source.close());
    const duckInstance = await step('open the telemetry file', () => DuckDBInstance.create(duckFile));
    opened.push(() => duckInstance.closeSync());
    const duck = await duckInstance.connect();
    opened.push(() => duck.closeSync());
    const targetDb = await step('--to-database', () => PostgresDatabase.open({ url: o.toDatabase }));
    opened.push(() => targetDb.close());
    const influxOptions = influxOptionsFromUrl(o.toTelemetry);
    const store = new InfluxTelemetryStore({ ...influxOptions, requestTimeoutMs: 60_000 });
    await step('--to-telemetry', () => store.init());
    opened.push(() => store.close());
    const http = new InfluxHttp({ ...influxOptions, timeoutMs: 60_000 });
    const dbs = tierDatabases(influxOptions.db ?? 'fleet');

    if (chosen.resumed)
      progress.line(`Resuming the run started ${checkpoint.startedAt} (checkpoint ${file})`);
    else if (chosen.ignored)
      progress.line(`Starting over: the checkpoint in ${file} is not used (${chosen.ignored})`);

    // Both targets are checked before anything is copied.
    if (!checkpoint.telemetryPrepared) await refuseFilledInflux(http, Object.values(dbs), target.telemetry);
    const { existed } = await migrateTarget(source, targetDb);
    const plan = planCopy(await readTables(source));
    if (!checkpoint.targetPrepared) {
      await clearTarget(targetDb, plan, existed, target.database);
      checkpoint.targetPrepared = true;
      await save();
    }
    if (!checkpoint.telemetryPrepared) {
      checkpoint.telemetryPrepared = true;
      await save();
    }
    const rel = {
      source,
      target: targetDb,
      plan,
      checkpoint,
      save,
      progress,
      batchSize,
      afterBatch: o.afterBatch,
    };
    await copyTables(rel);
    await fillDeferred(rel);
    await copySequences(rel);

    // Telemetry.
    const sources = await readRawSources(duck);
    const tel: TelemetryCopyOptions = {
      duck,
      store,
      writer: new InfluxWriter(http),
      dbs,
      checkpoint,
      save,
      progress,
      batchSize,
      now: now(),
      afterBatch: o.afterBatch,
    };
    const dirty = await pendingLateMinutes(duck);
    if (dirty > 0) {
      notes.push(
        `${dirty} minute(s) received late points after they were rolled up and were not recomputed yet: their minute roll-ups are copied as the source had them`,
      );
    }
    await copyRaw(tel, sources);
    await copyExtras(tel);
    await copyRollups(tel);
    await copyWatermarks(tel);

    // Verification.
    progress.line('Verifying …');
    const problems = await verifyTables(source, targetDb, plan.order, progress);
    problems.push(...(await verifyTelemetry(duck, http, dbs, sources, progress, notes)));
    return {
      resumed: chosen.resumed,
      tables: Object.fromEntries(Object.entries(checkpoint.tables).map(([k, v]) => [k, v.rows])),
      telemetry: Object.fromEntries(Object.entries(checkpoint.telemetry).map(([k, v]) => [k, v.rows])),
      problems,
      secrets: secretsAdvice(dataDir),
      notes,
    };
  } finally {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch {
        // Closing after a failure: the failure is what the operator needs to read.
      }
    }
  }
}

/** Runs one opening step; its failure becomes a one-line MigrateDataError naming the step. */
async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DirectoryLockedError) {
      const who = err.owner ? `process ${err.owner.pid} on host ${err.owner.hostname}` : 'another process';
      throw new MigrateDataError(
        `the data dir is in use by ${who} (a server running on it?): stop it first. If you are sure none runs, delete ${err.lockPath}`,
        { cause: err },
      );
    }
    const message = (err as Error).message ?? String(err);
    if (/Could not set lock|Conflicting lock/i.test(message)) {
      throw new MigrateDataError(
        `the telemetry file is in use by another process (a server running on this data dir?): stop it first. (${firstLine(message)})`,
        { cause: err },
      );
    }
    throw new MigrateDataError(`${what}: ${firstLine(message.replace(/^TELEMETRY_URL:\s*/, ''))}`, {
      cause: err,
    });
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

async function refuseFilledInflux(http: InfluxHttp, dbs: readonly string[], label: string): Promise<void> {
  const filled: string[] = [];
  for (const db of dbs) {
    const series = await http.query(db, 'SHOW MEASUREMENTS LIMIT 1');
    if (series.length > 0 && series[0]!.values.length > 0) filled.push(db);
  }
  if (filled.length > 0) {
    throw new MigrateDataError(
      `the target InfluxDB ${label} already holds telemetry in ${filled.join(', ')}: copy into a new db= prefix, or drop those databases`,
    );
  }
}

async function pendingLateMinutes(duck: DuckDBConnection): Promise<number> {
  const rows = (await duck.runAndReadAll('SELECT count(*) FROM rollup_dirty')).getRows();
  return Number(rows[0]?.[0] ?? 0);
}

async function verifyTelemetry(
  duck: DuckDBConnection,
  http: InfluxHttp,
  dbs: ReturnType<typeof tierDatabases>,
  sources: Awaited<ReturnType<typeof readRawSources>>,
  progress: Progress,
  notes: string[],
): Promise<string[]> {
  const expected = await duckTotals(duck, sources);
  notes.push(...duplicateNotes(expected.raw));
  const problems: string[] = [];
  for (const tier of ['raw', '1m', '1h'] as const) {
    const measurements = new Set([...expected[tier].keys(), ...sources.map((s) => s.measurement)]);
    const actual = await influxTotals(http, dbs[tier], measurements, tier !== 'raw');
    const found = compareTotals(tier === 'raw' ? 'raw' : `roll-up ${tier}`, expected[tier], actual);
    problems.push(...found);
    if (found.length === 0) {
      let values = 0;
      for (const fields of expected[tier].values()) for (const t of fields.values()) values += t.count;
      progress.line(
        `verified telemetry ${tier}: ${values.toLocaleString('en')} values in ${measurements.size} measurements`,
      );
    }
  }
  return problems;
}
