import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDirectoryLock, DirectoryLockedError } from './directory-lock';

describe('acquireDirectoryLock', () => {
  let dir: string;
  let lockPath: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tonypi-lock-'));
    lockPath = join(dir, 'pg.lock');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const owner = async () => JSON.parse(await readFile(lockPath, 'utf8')) as unknown;

  it('writes this process as the owner and removes the file on release', async () => {
    const lock = acquireDirectoryLock(dir, lockPath);
    expect(await owner()).toEqual({ pid: process.pid, hostname: hostname() });
    lock.release();
    lock.release();
    await expect(readFile(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a lock this process holds', () => {
    const lock = acquireDirectoryLock(dir, lockPath);
    try {
      expect(() => acquireDirectoryLock(dir, lockPath)).toThrow(DirectoryLockedError);
    } finally {
      lock.release();
    }
  });

  it('refuses a lock held by a live process, naming the directory, the owner and the lock file', async () => {
    const live = process.ppid;
    await writeFile(lockPath, JSON.stringify({ pid: live, hostname: hostname() }));
    expect(() => acquireDirectoryLock(dir, lockPath)).toThrow(
      `The embedded database in ${dir} is in use by process ${live} on host ${hostname()}`,
    );
    expect(() => acquireDirectoryLock(dir, lockPath)).toThrow(`delete ${lockPath}`);
  });

  it('refuses a lock from another host, whose process it cannot check', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: 1, hostname: 'elsewhere' }));
    expect(() => acquireDirectoryLock(dir, lockPath)).toThrow('process 1 on host elsewhere');
  });

  it('refuses an unreadable lock file', async () => {
    await writeFile(lockPath, '{"pid":');
    expect(() => acquireDirectoryLock(dir, lockPath)).toThrow('in use by another process');
  });

  it('takes over a lock left by a process that has exited, and says so', async () => {
    const dead = 2 ** 22 + 12345;
    await writeFile(lockPath, JSON.stringify({ pid: dead, hostname: hostname() }));
    const stale: unknown[] = [];
    const lock = acquireDirectoryLock(dir, lockPath, (s) => stale.push(s));
    expect(await owner()).toMatchObject({ pid: process.pid });
    expect(stale).toEqual([{ lockPath, pid: dead, hostname: hostname() }]);
    lock.release();
  });

  it('says nothing when there was no lock to take over', () => {
    const stale: unknown[] = [];
    acquireDirectoryLock(dir, lockPath, (s) => stale.push(s)).release();
    expect(stale).toEqual([]);
  });

  it('takes over a lock with its own pid left by an earlier run (a restarted container)', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: process.pid, hostname: hostname() }));
    const lock = acquireDirectoryLock(dir, lockPath);
    expect(await owner()).toMatchObject({ pid: process.pid });
    lock.release();
  });
});
