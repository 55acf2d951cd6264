import { describe, expect, it } from 'vitest';
import type { Queryable } from '../db/database';
import { capturingLogger } from '../test-fakes';
import { SessionStore } from './session-store';

/** A database that answers the session read with one open row and counts the queries it gets. */
interface Row {
  user_id: string;
  end_reason: string | null;
  is_active: boolean;
  must_change_password: boolean;
}

function countingDb(row: Row | undefined) {
  const queries: string[] = [];
  const db: Queryable = {
    query: async <T>(sql: string) => {
      queries.push(sql.trim().split(/\s+/)[0] ?? '');
      return { rows: (sql.includes('SELECT s.user_id') && row ? [row] : []) as T[], rowCount: row ? 1 : 0 };
    },
  };
  return { db, queries };
}

function setup(row: Row = { user_id: 'u1', end_reason: null, is_active: true, must_change_password: false }) {
  let now = 1_800_000_000_000;
  const { db, queries } = countingDb(row);
  const store = new SessionStore({ db, logger: capturingLogger().logger, cacheTtlMs: 5000, now: () => now });
  return { store, queries, advance: (ms: number) => (now += ms) };
}

describe('SessionStore', () => {
  it('reads a session from the database once per cache period, however many requests check it', async () => {
    const { store, queries, advance } = setup();
    const states = await Promise.all(Array.from({ length: 50 }, () => store.state('s1')));
    for (let i = 0; i < 100; i++) await store.state('s1');
    expect(states[0]).toEqual({ userId: 'u1', endReason: null, userActive: true, mustChangePassword: false });
    expect(queries).toEqual(['SELECT']);
    advance(5001);
    await store.state('s1');
    expect(queries).toEqual(['SELECT', 'SELECT']);
  });

  it('answers a session it just opened without a read', async () => {
    const { store, queries } = setup();
    store.remember('s2', 'u2');
    expect(await store.state('s2')).toEqual({
      userId: 'u2',
      endReason: null,
      userActive: true,
      mustChangePassword: false,
    });
    store.remember('s3', 'u3', true);
    expect((await store.state('s3'))?.mustChangePassword).toBe(true);
    expect(queries).toEqual([]);
  });

  it("reads the user's must_change_password in the same query as the session", async () => {
    const { store, queries } = setup({
      user_id: 'u1',
      end_reason: null,
      is_active: true,
      must_change_password: true,
    });
    expect((await store.state('s1'))?.mustChangePassword).toBe(true);
    expect(queries).toEqual(['SELECT']);
  });

  it("lifts must_change_password from the user's cached sessions at once when the password is changed", async () => {
    const { store, queries } = setup();
    store.remember('a', 'u9', true);
    store.remember('c', 'u8', true);
    store.markPasswordChanged('u9');
    expect((await store.state('a'))?.mustChangePassword).toBe(false);
    expect((await store.state('c'))?.mustChangePassword).toBe(true);
    expect(queries).toEqual([]);
  });

  it('holds an end noted here as final, past the cache period', async () => {
    const { store, queries, advance } = setup();
    await store.state('s1');
    store.markEnded(['s1'], 'logout');
    advance(3_600_000);
    expect(await store.state('s1')).toMatchObject({ endReason: 'logout' });
    expect(queries).toEqual(['SELECT']);
  });

  it('ends every cached session of a user on a revocation, but the one excepted', async () => {
    const { store } = setup();
    store.remember('a', 'u9');
    store.remember('b', 'u9');
    store.remember('c', 'u8');
    store.markEnded([], 'user_deleted', { userId: 'u9', exceptSessionId: 'b' });
    expect((await store.state('a'))?.endReason).toBe('user_deleted');
    expect((await store.state('b'))?.endReason).toBeNull();
    expect((await store.state('c'))?.endReason).toBeNull();
  });

  it('does not keep a must_change_password read that overlapped the password change', async () => {
    let release = () => {};
    const queries: string[] = [];
    const db: Queryable = {
      query: async <T>(sql: string) => {
        queries.push(sql.trim().split(/\s+/)[0] ?? '');
        const row = {
          user_id: 'u1',
          end_reason: null,
          is_active: true,
          must_change_password: queries.length === 1,
        };
        if (queries.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return { rows: [row] as T[], rowCount: 1 };
      },
    };
    const store = new SessionStore({ db, logger: capturingLogger().logger, cacheTtlMs: 5000 });
    const during = store.state('s1');
    await Promise.resolve();
    store.markPasswordChanged('u1');
    release();
    expect((await during)?.mustChangePassword).toBe(true);
    expect((await store.state('s1'))?.mustChangePassword).toBe(false);
    expect(queries).toEqual(['SELECT', 'SELECT']);
  });

  it('writes last_seen_at once per session per flush, not per request', async () => {
    const { store, queries } = setup();
    for (let i = 0; i < 1000; i++) store.touch('s1');
    store.touch('s2');
    await store.stop();
    expect(queries).toEqual(['UPDATE', 'UPDATE']);
  });
});
