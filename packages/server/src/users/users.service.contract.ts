import { describe, expect, it } from 'vitest';
import { AuditTrail } from '../audit/audit-trail';
import type { SessionRevoker } from '../core/module';
import type { Database } from '../db/database';
import type { OpenTestDatabase } from '../db/test-databases';
import { ApiError } from '../errors';
import { capturingLogger } from '../test-fakes';
import { verifyPassword } from './passwords';
import { type Requester, UsersService } from './users.service';

/** A revoker that remembers whose sessions it was asked to end. */
class FakeRevoker implements SessionRevoker {
  readonly calls: string[] = [];
  async revokeAllForUser(userId: string): Promise<number> {
    this.calls.push(userId);
    return 1;
  }
}

/** The statement that reads (and locks) the active admins. */
const ADMINS_QUERY = /role = 'admin' AND is_active/;

const system: Requester = { actor: { type: 'system', id: null, name: 'test' } };
const as = (id: string, name = 'someone'): Requester => ({
  actor: { type: 'user', id, name },
  address: '127.0.0.1',
});
// A fast stand-in for argon2id: these tests are about the rules, passwords.test.ts about the hash.
const fastHash = async (p: string) => `plain:${p}`;

async function setup(
  open: OpenTestDatabase,
  opts: { revoker?: SessionRevoker | undefined; meetAt?: RegExp } = {},
) {
  const opened = await open();
  const db = opts.meetAt ? meetingAt(opened, opts.meetAt) : opened;
  const { logger, lines } = capturingLogger();
  const audit = new AuditTrail(db, logger);
  const revoker = 'revoker' in opts ? opts.revoker : new FakeRevoker();
  const users = new UsersService({ db, audit, sessions: () => revoker, logger, hash: fastHash });
  const admin = (
    await users.create(
      { username: 'root', email: 'root@example.com', role: 'admin', password: 'p'.repeat(12) },
      system,
    )
  ).user;
  return { db, users, audit, revoker: revoker as FakeRevoker, admin, lines };
}

/**
 * On PostgreSQL, holds each transaction's first statement matching `pattern` until `parties` transactions
 * have reached it, so they run it at the same moment: without a lock both would read the same rows. PGlite
 * runs one transaction at a time, so there the transactions are left as they come.
 */
function meetingAt(db: Database, pattern: RegExp, parties = 2): Database {
  if (db.kind !== 'postgres') return db;
  let arrived = 0;
  let release: () => void = () => {};
  const everyone = new Promise<void>((resolve) => {
    release = resolve;
  });
  const wrapped: Pick<Database, 'query' | 'transaction'> = {
    query: (sql, params) => db.query(sql, params),
    transaction: (fn) =>
      db.transaction((tx) => {
        let met = false;
        return fn({
          ...tx,
          query: async (sql, params) => {
            if (!met && pattern.test(sql)) {
              met = true;
              if (++arrived === parties) release();
              await everyone;
            }
            return tx.query(sql, params);
          },
        } as typeof tx);
      }),
  };
  return Object.assign(Object.create(db) as Database, wrapped);
}

async function auditRows(db: Database) {
  const { rows } = await db.query<{
    action: string;
    outcome: string;
    target_id: string | null;
    details: Record<string, unknown> | null;
  }>('SELECT action, outcome, target_id, details FROM audit_events ORDER BY id');
  return rows;
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

export function describeUsersServiceContract(open: OpenTestDatabase): void {
  describe('UsersService', () => {
    it('creates a user with a generated temporary password that must be changed', async () => {
      const { db, users } = await setup(open);
      const { user, temporary_password } = await users.create(
        { username: 'alice', email: 'alice@example.com', role: 'viewer' },
        system,
      );
      expect(user).toMatchObject({
        username: 'alice',
        role: 'viewer',
        is_active: true,
        must_change_password: true,
      });
      expect(temporary_password).toMatch(/^[A-Za-z0-9_-]{20}$/);
      const { rows } = await db.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [user.id],
      );
      expect(rows[0]?.password_hash).toBe(`plain:${temporary_password}`);
    });

    it('hashes with argon2id by default', async () => {
      const db = await open();
      const { logger } = capturingLogger();
      const users = new UsersService({
        db,
        audit: new AuditTrail(db, logger),
        sessions: () => undefined,
        logger,
      });
      const { user } = await users.create(
        { username: 'bob', email: 'bob@example.com', role: 'viewer', password: 'a-long-password' },
        system,
      );
      const { rows } = await db.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [user.id],
      );
      expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$/);
      expect(await verifyPassword(rows[0]!.password_hash, 'a-long-password')).toBe(true);
    });

    it('refuses a taken username or e-mail in any case, naming which, and audits the refusal', async () => {
      const { db, users } = await setup(open);
      const err = await refusal(
        users.create({ username: 'ROOT', email: 'Root@Example.com', role: 'viewer' }, system),
      );
      expect(err).toMatchObject({
        statusCode: 409,
        code: 'conflict',
        details: { fields: ['username', 'email'] },
      });
      expect(err.message).toBe('The username and e-mail address are already taken');
      const email = await refusal(
        users.create({ username: 'other', email: 'root@example.com', role: 'viewer' }, system),
      );
      expect(email.details).toEqual({ fields: ['email'] });
      expect((await auditRows(db)).filter((r) => r.outcome === 'failure').map((r) => r.action)).toEqual([
        'user.create',
        'user.create',
      ]);
    });

    it('writes the change and its audit event together: an audit write that fails undoes the change', async () => {
      const { users, audit } = await setup(open);
      const original = audit.record.bind(audit);
      audit.record = async (entry, tx) => {
        if (tx) throw new Error('audit write failed');
        return original(entry, tx);
      };
      await expect(
        users.create({ username: 'carol', email: 'carol@example.com', role: 'viewer' }, system),
      ).rejects.toThrow('audit write failed');
      expect((await users.list({})).items.map((u) => u.username)).toEqual(['root']);
    });

    it('ends the sessions of a user who is disabled, gets another role, a new password or is deleted', async () => {
      const { users, revoker, admin } = await setup(open);
      const { user } = await users.create(
        { username: 'dave', email: 'dave@example.com', role: 'viewer' },
        system,
      );
      await users.update(user.id, { email: 'dave2@example.com' }, as(admin.id));
      expect(revoker.calls).toEqual([]);
      await users.update(user.id, { role: 'operator' }, as(admin.id));
      expect(revoker.calls).toEqual([user.id]);
      await users.update(user.id, { is_active: false }, as(admin.id));
      await users.resetPassword(user.id, {}, as(admin.id));
      await users.delete(user.id, as(admin.id));
      expect(revoker.calls).toEqual([user.id, user.id, user.id, user.id]);
    });

    it('still makes the change when no module ends sessions yet, or the revoker fails (logged)', async () => {
      const none = await setup(open, { revoker: undefined });
      const { user } = await none.users.create(
        { username: 'erin', email: 'erin@example.com', role: 'viewer' },
        system,
      );
      await none.users.update(user.id, { is_active: false }, as(none.admin.id));
      expect((await none.users.get(user.id)).is_active).toBe(false);

      const failing = await setup(open, {
        revoker: { revokeAllForUser: async () => Promise.reject(new Error('sessions store down')) },
      });
      const other = (
        await failing.users.create({ username: 'fay', email: 'fay@example.com', role: 'viewer' }, system)
      ).user;
      await failing.users.update(other.id, { is_active: false }, as(failing.admin.id));
      expect((await failing.users.get(other.id)).is_active).toBe(false);
      expect(failing.lines.some((l) => l.msg === 'users: sessions not ended after a change')).toBe(true);
    });

    it('refuses to let anyone disable or delete themself (409 conflict saying why)', async () => {
      const { users, admin } = await setup(open);
      await users.create(
        { username: 'admin2', email: 'a2@example.com', role: 'admin', password: 'x'.repeat(12) },
        system,
      );
      const disable = await refusal(users.update(admin.id, { is_active: false }, as(admin.id)));
      expect(disable).toMatchObject({
        statusCode: 409,
        message: 'You cannot disable yourself: ask another admin',
      });
      const del = await refusal(users.delete(admin.id, as(admin.id)));
      expect(del).toMatchObject({
        statusCode: 409,
        message: 'You cannot delete yourself: ask another admin',
      });
      expect((await users.get(admin.id)).is_active).toBe(true);
    });

    it('never disables, demotes or deletes the last active admin', async () => {
      const { users, admin, revoker } = await setup(open);
      const disabledAdmin = (
        await users.create(
          { username: 'old', email: 'old@example.com', role: 'admin', password: 'x'.repeat(12) },
          system,
        )
      ).user;
      await users.update(disabledAdmin.id, { is_active: false }, as(admin.id));
      revoker.calls.length = 0;
      for (const attempt of [
        () => users.update(admin.id, { role: 'operator' }, system),
        () => users.update(admin.id, { is_active: false }, system),
        () => users.delete(admin.id, system),
      ]) {
        const err = await refusal(attempt());
        expect(err).toMatchObject({ statusCode: 409, code: 'conflict', details: { reason: 'last_admin' } });
        expect(err.message).toMatch(/^root is the last active admin/);
      }
      expect(await users.get(admin.id)).toMatchObject({ role: 'admin', is_active: true });
      expect(revoker.calls).toEqual([]);
      // A disabled admin does not count, but may itself be deleted or demoted.
      await users.update(disabledAdmin.id, { role: 'viewer' }, as(admin.id));
      await users.delete(disabledAdmin.id, as(admin.id));
    });

    it('leaves one admin when two admins demote each other at the same moment', async () => {
      const { users, admin } = await setup(open, { meetAt: ADMINS_QUERY });
      const other = (
        await users.create(
          { username: 'second', email: 'second@example.com', role: 'admin', password: 'x'.repeat(12) },
          system,
        )
      ).user;
      const results = await Promise.allSettled([
        users.update(other.id, { role: 'viewer' }, as(admin.id)),
        users.update(admin.id, { role: 'viewer' }, as(other.id)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toMatchObject({ statusCode: 409, details: { reason: 'last_admin' } });
      expect((await users.list({ role: 'admin', active: true })).total).toBe(1);
    });

    it('leaves one admin when two admins delete and disable each other at the same moment', async () => {
      const { users, admin } = await setup(open, { meetAt: ADMINS_QUERY });
      const other = (
        await users.create(
          { username: 'second', email: 'second@example.com', role: 'admin', password: 'x'.repeat(12) },
          system,
        )
      ).user;
      await Promise.allSettled([
        users.delete(other.id, as(admin.id)),
        users.update(admin.id, { is_active: false }, as(other.id)),
      ]);
      expect((await users.list({ role: 'admin', active: true })).total).toBe(1);
    });

    it('refuses (409) to delete a user other records still point at, and keeps the user', async () => {
      const { db, users, admin } = await setup(open);
      const { user } = await users.create(
        { username: 'kept', email: 'kept@example.com', role: 'viewer' },
        system,
      );
      // As a later table without ON DELETE CASCADE would (API keys, sessions, acknowledgements …).
      await db.query('CREATE TABLE user_refs (user_id VARCHAR(36) NOT NULL REFERENCES users(id))');
      await db.query('INSERT INTO user_refs VALUES ($1)', [user.id]);
      const err = await refusal(users.delete(user.id, as(admin.id)));
      expect(err).toMatchObject({ statusCode: 409, code: 'conflict', details: { reason: 'referenced' } });
      expect(err.message).toBe('kept is still referenced by other records: disable the user instead');
      expect((await users.get(user.id)).username).toBe('kept');
      const last = (await auditRows(db)).at(-1);
      expect(last).toMatchObject({ action: 'user.delete', outcome: 'failure', target_id: user.id });
    });

    it('answers 404 user_not_found for an unknown id, and audits the attempt', async () => {
      const { db, users } = await setup(open);
      const id = '00000000-0000-4000-8000-000000000000';
      for (const attempt of [
        () => users.get(id),
        () => users.update(id, { role: 'viewer' }, system),
        () => users.resetPassword(id, {}, system),
        () => users.delete(id, system),
      ]) {
        expect(await refusal(attempt())).toMatchObject({ statusCode: 404, code: 'user_not_found' });
      }
      const failures = (await auditRows(db)).filter((r) => r.outcome === 'failure');
      expect(failures.map((r) => [r.action, r.target_id])).toEqual([
        ['user.update', id],
        ['user.password.reset', id],
        ['user.delete', id],
      ]);
    });

    it('audits each change with what changed, never the password', async () => {
      const { db, users, admin } = await setup(open);
      const { user, temporary_password } = await users.create(
        { username: 'gus', email: 'gus@example.com', role: 'viewer' },
        as(admin.id, 'root'),
      );
      await users.update(user.id, { role: 'operator', email: 'gus@example.org' }, as(admin.id, 'root'));
      await users.resetPassword(user.id, { password: 'a-brand-new-secret' }, as(admin.id, 'root'));
      const rows = (await auditRows(db)).slice(1);
      expect(rows.map((r) => [r.action, r.outcome, r.target_id])).toEqual([
        ['user.create', 'success', user.id],
        ['user.update', 'success', user.id],
        ['user.password.reset', 'success', user.id],
      ]);
      expect(rows[1]?.details).toEqual({
        username: 'gus',
        changes: {
          role: { from: 'viewer', to: 'operator' },
          email: { from: 'gus@example.com', to: 'gus@example.org' },
        },
      });
      const all = JSON.stringify(rows);
      expect(all).not.toContain(temporary_password);
      expect(all).not.toContain('a-brand-new-secret');
    });

    it('lists with filters, search in any case, sort, pages and the total', async () => {
      const { users } = await setup(open);
      for (const [username, role] of [
        ['anna', 'viewer'],
        ['Bert', 'operator'],
        ['cleo', 'viewer'],
      ] as const) {
        await users.create({ username, email: `${username.toLowerCase()}@corp.example`, role }, system);
      }
      const viewers = await users.list({ role: 'viewer', sort: 'username', order: 'desc' });
      expect(viewers.items.map((u) => u.username)).toEqual(['cleo', 'anna']);
      expect((await users.list({ search: 'CORP' })).total).toBe(3);
      expect((await users.list({ search: '%' })).total).toBe(0);
      const page = await users.list({ sort: 'email', limit: 2, offset: 1 });
      expect(page).toMatchObject({ total: 4 });
      expect(page.items.map((u) => u.email)).toEqual(['bert@corp.example', 'cleo@corp.example']);
    });
  });
}
