import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StartupError } from '../startup-error';

/**
 * A lock file that keeps two processes from opening one PGlite directory: PGlite itself takes no lock,
 * and two writers corrupt the data. A lock left by a process that no longer runs on this host is taken over.
 */
export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

interface LockOwner {
  pid: number;
  hostname: string;
}

export class DirectoryLockedError extends StartupError {
  constructor(
    readonly directory: string,
    readonly lockPath: string,
    readonly owner: LockOwner | undefined,
  ) {
    const who = owner ? `process ${owner.pid} on host ${owner.hostname}` : 'another process';
    super(
      `The embedded database in ${directory} is in use by ${who}. Stop that server, or give this one another ` +
        `DATA_DIR. If you are sure no server uses it, delete ${lockPath} and start again.`,
    );
    this.name = 'DirectoryLockedError';
  }
}

/** Lock files this process holds, by path. */
const heldHere = new Set<string>();

/** Told when a stale lock (its process has exited) is taken over, so the operator learns of the unclean stop. */
export type StaleLockListener = (stale: { lockPath: string; pid: number; hostname: string }) => void;

export function acquireDirectoryLock(
  directory: string,
  lockPath: string,
  onStaleLock?: StaleLockListener,
): DirectoryLock {
  const me: LockOwner = { pid: process.pid, hostname: hostname() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      heldHere.add(lockPath);
      let released = false;
      return {
        path: lockPath,
        release: () => {
          if (released) return;
          released = true;
          heldHere.delete(lockPath);
          rmSync(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(lockPath);
      if (owner && isStale(owner, me, lockPath)) {
        rmSync(lockPath, { force: true });
        onStaleLock?.({ lockPath, pid: owner.pid, hostname: owner.hostname });
        continue;
      }
      throw new DirectoryLockedError(directory, lockPath, owner);
    }
  }
  throw new DirectoryLockedError(directory, lockPath, readOwner(lockPath));
}

function readOwner(lockPath: string): LockOwner | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(lockPath, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'pid' in parsed &&
      'hostname' in parsed &&
      typeof parsed.pid === 'number' &&
      typeof parsed.hostname === 'string'
    ) {
      return { pid: parsed.pid, hostname: parsed.hostname };
    }
  } catch {
    // Unreadable or half-written lock file: treated as held, the message tells how to clear it.
  }
  return undefined;
}

/**
 * Stale: written on this host by a process that has exited. A lock with our own pid that this process does
 * not hold was left by an earlier run that had the same pid (a restarted container's server is often pid 1).
 */
function isStale(owner: LockOwner, me: LockOwner, lockPath: string): boolean {
  if (owner.hostname !== me.hostname) return false;
  if (owner.pid === me.pid) return !heldHere.has(lockPath);
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
