import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StartupError } from './startup-error';

/** DATA_DIR cannot be used; the message names the variable, its value and what to do. */
export class DataDirError extends StartupError {
  constructor(
    readonly dataDir: string,
    problem: string,
    readonly code?: string,
  ) {
    super(
      `DATA_DIR=${dataDir} ${problem}. Set DATA_DIR to a directory the server may write (it is created if missing).`,
    );
    this.name = 'DataDirError';
  }
}

/**
 * Makes sure DATA_DIR is a directory this process can write, creating it (and its parents) if
 * missing, before the databases open in it — so a file in its place or a read-only location is
 * one clear start-up message, not an ENOENT or EEXIST from deep inside an engine.
 *
 * The parents are created one by one rather than with `mkdir -p` (`recursive: true`): Node's
 * recursive mkdir never returns under a read-only pseudo file system such as /proc.
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  const target = path.resolve(dataDir);
  const missing: string[] = [];
  for (let dir = target; ; dir = path.dirname(dir)) {
    const kind = await kindOf(dir, dataDir);
    if (kind === 'directory') break;
    if (kind === 'other') {
      throw new DataDirError(
        dataDir,
        dir === target
          ? 'is a file, not a directory'
          : `cannot be created: ${dir} is a file, not a directory`,
        'ENOTDIR',
      );
    }
    missing.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Created meanwhile by someone else: fine if it is a directory, checked on the next step.
      if (code === 'EEXIST' && (await kindOf(dir, dataDir)) === 'directory') continue;
      throw new DataDirError(dataDir, `cannot be created: ${describe(code, path.dirname(dir))}`, code);
    }
  }
  // A directory that exists can still refuse new files (read-only mount, permissions, /proc).
  const probe = path.join(target, `.write-test-${process.pid}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST')
      throw new DataDirError(dataDir, `is not writable: ${describe(code, target)}`, code);
  }
  await rm(probe, { force: true });
}

async function kindOf(p: string, dataDir: string): Promise<'directory' | 'other' | 'missing'> {
  try {
    return (await stat(p)).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; the walk up finds and names it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw new DataDirError(dataDir, `cannot be inspected: ${describe(code, p)}`, code);
  }
}

function describe(code: string | undefined, dir: string): string {
  switch (code) {
    case 'EROFS':
      return `${dir} is on a read-only file system (EROFS)`;
    case 'EACCES':
    case 'EPERM':
      return `this user may not write in ${dir} (${code})`;
    case 'ENOSPC':
      return `the disk holding ${dir} is full (ENOSPC)`;
    default:
      // procfs and similar refuse new entries with ENOENT even where the directory exists.
      return `${dir} does not take new files (${code ?? 'unknown error'}): it is read-only or not a real directory`;
  }
}
