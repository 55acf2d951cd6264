import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killLeftovers, logLines, spawnServer } from './helpers/server-process';
import { waitFor } from './helpers/test-server';

/** A start on a busy machine (the first one creates the database) and a clean shutdown. */
const START_AND_STOP_MS = 120_000;

describe('npm start', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-npm-start-'));
  });
  afterAll(async () => {
    killLeftovers();
    await rm(dataDir, { recursive: true, force: true });
  });
  const lockPath = () => path.join(dataDir, 'pg.lock');
  const stoppedCleanly = (output: string) => logLines(output).some((l) => l.msg === 'stopped');

  const groupSignals = [
    { signal: 'SIGTERM', from: 'systemd, docker stop' },
    { signal: 'SIGINT', from: 'Ctrl-C in a terminal' },
  ] as const;
  for (const { signal, from } of groupSignals) {
    it(
      `shuts the server down cleanly when the whole process group gets ${signal} (${from})`,
      async () => {
        const npm = await spawnServer(dataDir, { command: 'npm', args: ['start'], detached: true });
        process.kill(-npm.child.pid!, signal);
        expect(await npm.exited, npm.output()).toBe(0);
        expect(stoppedCleanly(npm.output())).toBe(true);
        expect(existsSync(lockPath())).toBe(false);
      },
      START_AND_STOP_MS,
    );
  }

  it(
    'passes a SIGTERM sent to npm alone on to the server and waits for its clean shutdown',
    async () => {
      const npm = await spawnServer(dataDir, { command: 'npm', args: ['start'], detached: true });
      npm.child.kill('SIGTERM');
      expect(await npm.exited, npm.output()).toBe(0);
      expect(stoppedCleanly(npm.output())).toBe(true);
      expect(existsSync(lockPath())).toBe(false);
    },
    START_AND_STOP_MS,
  );

  it(
    'does not leave the server running as an orphan when npm itself is killed',
    async () => {
      const npm = await spawnServer(dataDir, { command: 'npm', args: ['start'], detached: true });
      expect(existsSync(lockPath())).toBe(true);
      npm.child.kill('SIGKILL');
      expect(await npm.exited).toBe('SIGKILL');
      // The server, alone now, notices and stops as after a signal: flushed, lock released.
      await waitFor(() => stoppedCleanly(npm.output()), 30_000, 'the orphaned server to stop');
      await waitFor(() => !existsSync(lockPath()), 30_000, 'the lock to be released');
      expect(logLines(npm.output()).find((l) => l.msg === 'shutting down: flushing buffers')).toMatchObject({
        signal: 'parent exited',
      });
    },
    START_AND_STOP_MS,
  );
});
