import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openTestPGlite } from '../db/test-databases';
import { logEntry } from './log-entry';
import { LogWriter } from './log-writer';
import { LogsRepository } from './logs.repository';
import { LogsService } from './logs.service';

const logger = pino({ level: 'silent' });

describe('the embedded engine’s ANALYZE after a burst of logs (no autovacuum)', () => {
  it('analyses once the writer has written the threshold since the last ANALYZE, and not before', async () => {
    const db = await openTestPGlite();
    const repo = new LogsRepository(db);
    const writer = new LogWriter({ repo, logger, queueLimit: 10_000 });
    const logs = new LogsService({ repo, writer, logger, retentionMs: 86_400_000, analyzeAfterRows: 300 });
    const analysed = async () =>
      (
        await db.query<{ n: number | null }>(
          `SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'system_logs'`,
        )
      ).rows[0]?.n;
    const write = async (n: number) => {
      for (let i = 0; i < n; i++)
        writer.add(
          logEntry({ ts: Date.now(), level: 'INFO', category: 'robot', source: 't', message: `m${i}` }),
        );
      await writer.flush();
    };
    const before = await analysed();
    await write(299);
    expect(await logs.analyzeIfGrown()).toBe(false);
    expect(await analysed()).toBe(before);
    await write(1);
    expect(await logs.analyzeIfGrown()).toBe(true);
    expect(await analysed()).toBe(300);
    expect(logs.counters.analyses).toBe(1);
    // Counted from that ANALYZE on; the hourly job's ANALYZE resets the count too.
    await write(200);
    expect(await logs.analyzeIfGrown()).toBe(false);
    await logs.maintain();
    expect(await analysed()).toBe(500);
    await write(299);
    expect(await logs.analyzeIfGrown()).toBe(false);
    expect(logs.counters.analyses).toBe(2);
    await db.close();
  });

  it('counts a failed ANALYZE as not done and keeps going', async () => {
    const db = await openTestPGlite();
    const repo = new LogsRepository(db);
    const writer = new LogWriter({ repo, logger, queueLimit: 100 });
    const failing = Object.assign(Object.create(repo) as LogsRepository, {
      analyze: () => Promise.reject(new Error('disk full')),
    });
    const logs = new LogsService({
      repo: failing,
      writer,
      logger,
      retentionMs: 86_400_000,
      analyzeAfterRows: 1,
    });
    writer.add(logEntry({ ts: Date.now(), level: 'INFO', category: 'robot', source: 't', message: 'x' }));
    await writer.flush();
    expect(await logs.analyzeIfGrown()).toBe(true);
    expect(logs.counters.analyses).toBe(0);
    await db.close();
  });
});
