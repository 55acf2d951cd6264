import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from './migrate';
import { describeMigrationsContract } from './migrate.contract';
import { openTestPGlite } from './test-databases';

describeMigrationsContract(openTestPGlite);

describe('loadMigrations', () => {
  async function withFiles(files: Record<string, string>, fn: (dir: URL) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'tonypi-migrations-'));
    try {
      for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
      await fn(pathToFileURL(`${dir}/`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('reads the bundled migrations in version order', async () => {
    const migrations = await loadMigrations();
    expect(migrations[0]).toMatchObject({ version: 1, name: '0001_initial' });
    const versions = migrations.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it('orders files by version and ignores other files', async () => {
    await withFiles({ '0002_b.sql': 'B', '0001_a.sql': 'A', 'README.md': '' }, async (dir) => {
      expect(await loadMigrations(dir)).toEqual([
        { version: 1, name: '0001_a', sql: 'A' },
        { version: 2, name: '0002_b', sql: 'B' },
      ]);
    });
  });

  it('rejects a badly named file', async () => {
    await withFiles({ '1_a.sql': '' }, async (dir) => {
      await expect(loadMigrations(dir)).rejects.toThrow(
        'Migration file 1_a.sql is not named NNNN_lowercase_words.sql',
      );
    });
  });

  it('rejects two files with one version', async () => {
    await withFiles({ '0001_a.sql': '', '0001_b.sql': '' }, async (dir) => {
      await expect(loadMigrations(dir)).rejects.toThrow('share version 1');
    });
  });
});
