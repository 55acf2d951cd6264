import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../test-fakes';
import type { Database } from './database';
import { migrate } from './migrate';
import { PGliteDatabase } from './pglite-database';
import { TouchBuffer } from './touch-buffer';

let db: Database;
// Opened in a hook (its time limit is the longer one): migrating takes a while on a busy machine.
beforeAll(async () => {
  db = await PGliteDatabase.open();
  await migrate(db);
  await db.query(
    `INSERT INTO users (id, username, email, password_hash) VALUES ('u1', 'u1', 'u1@example.com', 'x')`,
  );
  await db.query(
    `INSERT INTO sessions (id, user_id, expires_at) VALUES ('s1', 'u1', now() + interval '1 hour')`,
  );
});
afterAll(async () => {
  await db?.close();
});

const lastSeen = async () =>
  (await db.query<{ last_seen_at: Date | null }>("SELECT last_seen_at FROM sessions WHERE id = 's1'")).rows[0]
    ?.last_seen_at;

describe('TouchBuffer', () => {
  it('writes the latest time held on flush, and never moves a time back', async () => {
    const buffer = new TouchBuffer({
      db,
      table: 'sessions',
      column: 'last_seen_at',
      flushEveryMs: 60_000,
      logger: capturingLogger().logger,
    });
    buffer.touch('s1', Date.parse('2030-01-01T00:00:00Z'));
    buffer.touch('s1', Date.parse('2030-01-01T00:00:05Z'));
    expect(await lastSeen()).toBeNull();
    await buffer.flush();
    expect((await lastSeen())?.toISOString()).toBe('2030-01-01T00:00:05.000Z');
    buffer.touch('s1', Date.parse('2029-12-31T00:00:00Z'));
    buffer.touch('no-such-row');
    await buffer.stop();
    expect((await lastSeen())?.toISOString()).toBe('2030-01-01T00:00:05.000Z');
    expect(buffer.counters).toEqual({ updates: 3, write_errors: 0 });
  });
});
