import { describe, expect, it } from 'vitest';
import type { Database } from '../db/database';
import type { OpenTestDatabase } from '../db/test-databases';
import { capturingLogger } from '../test-fakes';
import { type AuditEntry, AuditTrail } from './audit-trail';

const entry: AuditEntry = {
  actor: { type: 'user', id: 'u1', name: 'alice' },
  action: 'user.create',
  target: { type: 'user', id: 'u2' },
  outcome: 'success',
  address: '127.0.0.1',
  user_agent: 'curl/8',
};

async function rows(db: Database) {
  return (
    await db.query<Record<string, unknown>>(
      'SELECT actor_name, action, target_id, user_agent, details FROM audit_events ORDER BY id',
    )
  ).rows;
}

export function describeAuditTrailContract(open: OpenTestDatabase): void {
  describe('AuditTrail', () => {
    it('writes who, what, the target, the outcome and from where', async () => {
      const db = await open();
      const audit = new AuditTrail(db, capturingLogger().logger);
      await audit.record({ ...entry, details: { role: 'viewer' } });
      expect(await rows(db)).toEqual([
        {
          actor_name: 'alice',
          action: 'user.create',
          target_id: 'u2',
          user_agent: 'curl/8',
          details: { role: 'viewer' },
        },
      ]);
      expect(audit.counters.recorded).toBe(1);
    });

    it('redacts the values of secret-looking keys at any depth, whatever the case', async () => {
      const db = await open();
      const audit = new AuditTrail(db, capturingLogger().logger);
      await audit.record({
        ...entry,
        details: {
          username: 'bob',
          password: 'hunter2-hunter2',
          nested: { Api_Key: 'tpk_abc', list: [{ token: 't0k3n', ok: 1 }], client_secret: 's3cr3t' },
          password_hash: '$argon2id$…',
          must_change_password: true,
        },
      });
      const [row] = await rows(db);
      expect(row?.details).toEqual({
        username: 'bob',
        password: '[redacted]',
        nested: {
          Api_Key: '[redacted]',
          list: [{ token: '[redacted]', ok: 1 }],
          client_secret: '[redacted]',
        },
        password_hash: '[redacted]',
        must_change_password: '[redacted]',
      });
      for (const secret of ['hunter2', 'tpk_abc', 't0k3n', 's3cr3t', 'argon2id']) {
        expect(JSON.stringify(row)).not.toContain(secret);
      }
    });

    it('clips long strings to their column and long detail values to 1,000 characters', async () => {
      const db = await open();
      const audit = new AuditTrail(db, capturingLogger().logger);
      await audit.record({
        ...entry,
        actor: { type: 'user', id: 'u'.repeat(100), name: 'n'.repeat(500) },
        action: `user.${'x'.repeat(100)}`,
        target: { type: 't'.repeat(50), id: 'i'.repeat(500) },
        user_agent: 'a'.repeat(10_000),
        details: {
          note: 'd'.repeat(5000),
          deep: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } },
        },
      });
      const { rows: stored } = await db.query<Record<string, string>>(
        `SELECT actor_id, actor_name, action, target_type, target_id, user_agent, details->>'note' AS note,
                details->'deep'->'a'->'b'->'c'->'d'->'e'->'f'->'g'->>'h' AS deepest FROM audit_events`,
      );
      const row = stored[0]!;
      expect(
        [row.actor_id, row.actor_name, row.action, row.target_type, row.target_id, row.user_agent].map(
          (v) => v?.length,
        ),
      ).toEqual([64, 100, 64, 32, 128, 256]);
      expect(row.note).toBe(`${'d'.repeat(1000)}…`);
      expect(row.deepest).toBe('[nested too deep]');
    });

    it('is append-only: the database refuses UPDATE and DELETE of its rows', async () => {
      const db = await open();
      const audit = new AuditTrail(db, capturingLogger().logger);
      await audit.record(entry);
      await expect(db.query(`UPDATE audit_events SET outcome = 'failure'`)).rejects.toThrow(/append-only/);
      await expect(db.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
      expect(await rows(db)).toHaveLength(1);
    });

    it('outside a transaction, logs and counts a failed write instead of throwing it', async () => {
      const db = await open();
      const { logger, lines } = capturingLogger();
      const audit = new AuditTrail(db, logger);
      await db.query('ALTER TABLE audit_events RENAME TO audit_events_gone');
      await expect(audit.record(entry)).resolves.toBeUndefined();
      expect(audit.counters).toEqual({ recorded: 0, write_errors: 1 });
      expect(lines.find((l) => l.msg === 'audit: event not written')).toMatchObject({
        action: 'user.create',
      });
    });

    it('inside a transaction, throws a failed write so the change it belongs to is undone', async () => {
      const db = await open();
      const audit = new AuditTrail(db, capturingLogger().logger);
      await expect(
        db.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO users (id, username, email, password_hash) VALUES ('x', 'x', 'x@x', 'h')`,
          );
          await audit.record({ ...entry, outcome: 'bogus' as never }, tx);
        }),
      ).rejects.toThrow();
      expect((await db.query('SELECT id FROM users')).rows).toEqual([]);
    });
  });
}
