/**
 * The checkpoint of a migration (`DATA_DIR/migrate-data.checkpoint.json`): which target it writes to and how
 * far each table and measurement got, saved after every batch (write to a temp file, then rename, so an
 * interruption leaves the old or the new file, never half of one). A second run continues from it; a run
 * against another target, or with `--restart`, starts over.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const CHECKPOINT_FILE = 'migrate-data.checkpoint.json';
const VERSION = 1;

export interface Checkpoint {
  version: number;
  /** Where the copy goes, credentials removed: a checkpoint for other targets is not resumed. */
  target: { database: string; telemetry: string };
  startedAt: string;
  /** Per table: the primary key of the last row copied, and whether the table is complete. */
  tables: Record<string, { lastKey: unknown[] | null; done: boolean; rows: number }>;
  /** Columns copied as NULL first (a foreign-key cycle) and set once every table is in: done or not. */
  deferredDone: boolean;
  /** The target database was checked (empty, or only what migrations insert, which was removed). */
  targetPrepared: boolean;
  /** The target InfluxDB was checked to hold no telemetry yet. */
  telemetryPrepared: boolean;
  sequencesDone: boolean;
  /**
   * Per telemetry stream (`raw_<measurement>`, `raw_extra`, `rollup_1m`, `rollup_1h`): every row with a time
   * up to `lastTs` is written.
   */
  telemetry: Record<string, { lastTs: number | null; done: boolean; rows: number }>;
  watermarksDone: boolean;
}

export function newCheckpoint(target: Checkpoint['target'], now = new Date()): Checkpoint {
  return {
    version: VERSION,
    target,
    startedAt: now.toISOString(),
    tables: {},
    deferredDone: false,
    targetPrepared: false,
    telemetryPrepared: false,
    sequencesDone: false,
    telemetry: {},
    watermarksDone: false,
  };
}

export function checkpointPath(dataDir: string): string {
  return path.join(dataDir, CHECKPOINT_FILE);
}

/**
 * The checkpoint to continue from: the saved one when it is for the same target and `restart` is false, else
 * a new one. `resumed` says which; `ignored` why a saved one was not used.
 */
export function chooseCheckpoint(
  saved: unknown,
  target: Checkpoint['target'],
  restart: boolean,
  now = new Date(),
): { checkpoint: Checkpoint; resumed: boolean; ignored?: string } {
  if (saved === undefined) return { checkpoint: newCheckpoint(target, now), resumed: false };
  if (restart) return { checkpoint: newCheckpoint(target, now), resumed: false, ignored: '--restart' };
  if (!isCheckpoint(saved)) {
    return { checkpoint: newCheckpoint(target, now), resumed: false, ignored: 'unreadable checkpoint' };
  }
  if (saved.target.database !== target.database || saved.target.telemetry !== target.telemetry) {
    return {
      checkpoint: newCheckpoint(target, now),
      resumed: false,
      ignored: `it was for ${saved.target.database} and ${saved.target.telemetry}`,
    };
  }
  return { checkpoint: saved, resumed: true };
}

function isCheckpoint(value: unknown): value is Checkpoint {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Partial<Checkpoint>;
  return (
    c.version === VERSION &&
    typeof c.target?.database === 'string' &&
    typeof c.target.telemetry === 'string' &&
    typeof c.tables === 'object' &&
    c.tables !== null &&
    typeof c.telemetry === 'object' &&
    c.telemetry !== null
  );
}

/** The saved checkpoint as parsed JSON, or undefined when there is none. */
export async function readCheckpoint(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export async function saveCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(checkpoint, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

export async function removeCheckpoint(file: string): Promise<void> {
  await rm(file, { force: true });
}
