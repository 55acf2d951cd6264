import { describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../db/test-databases';
import { capturingLogger } from '../test-fakes';
import { AuditLog } from './audit-log';
import { type AuditEntry, AuditTrail } from './audit-trail';

const by = (name: string): AuditEntry['actor'] => ({ type: 'user', id: `id-${name}`, name });

export function describeAuditLogContract(open: OpenTestDatabase): void {
  async function seeded(open: OpenTestDatabase) {
    const db = await open();
    const audit = new AuditTrail(db, capturingLogger().logger);
    const events: AuditEntry[] = [
      { actor: by('alice'), action: 'user.create', target: { type: 'user', id: 'u1' }, outcome: 'success' },
      {
        actor: by('alice'),
        action: 'user.password.reset',
        target: { type: 'user', id: 'u1' },
        outcome: 'success',
      },
      { actor: by('bob'), action: 'user.delete', target: { type: 'user', id: 'u1' }, outcome: 'denied' },
      {
        actor: by('bob'),
        action: 'robot.register',
        target: { type: 'robot', id: 'tonypi_01' },
        outcome: 'failure',
      },
      { actor: { type: 'anonymous', id: null, name: null }, action: 'userx.odd', outcome: 'failure' },
    ];
    for (const e of events) await audit.record(e);
    return { db, log: new AuditLog(db) };
  }

  const actions = (page: { items: Array<{ action: string }> }) => page.items.map((e) => e.action);

  describe('AuditLog', () => {
    it('lists newest first with the total', async () => {
      const { log } = await seeded(open);
      const page = await log.query();
      expect(actions(page)).toEqual([
        'userx.odd',
        'robot.register',
        'user.delete',
        'user.password.reset',
        'user.create',
      ]);
      expect(page).toMatchObject({ total: 5, next_before_id: null });
      expect(page.items[4]).toMatchObject({
        actor: { type: 'user', id: 'id-alice', name: 'alice' },
        target: { type: 'user', id: 'u1' },
        outcome: 'success',
        details: null,
      });
      expect(page.items[0]?.target).toBeNull();
    });

    it('filters by actor id or name, exact action or prefix, target, outcome', async () => {
      const { log } = await seeded(open);
      expect(actions(await log.query({ actor: 'bob' }))).toEqual(['robot.register', 'user.delete']);
      expect(actions(await log.query({ actor: 'id-alice' }))).toEqual(['user.password.reset', 'user.create']);
      expect(actions(await log.query({ action: 'user.delete' }))).toEqual(['user.delete']);
      expect(actions(await log.query({ action: 'user.' }))).toEqual([
        'user.delete',
        'user.password.reset',
        'user.create',
      ]);
      expect(actions(await log.query({ action: 'user.*' }))).toEqual([
        'user.delete',
        'user.password.reset',
        'user.create',
      ]);
      expect((await log.query({ action: 'user' })).total).toBe(0);
      expect((await log.query({ action: '%.' })).total).toBe(0);
      expect(actions(await log.query({ target_type: 'robot', target_id: 'tonypi_01' }))).toEqual([
        'robot.register',
      ]);
      expect(actions(await log.query({ outcome: 'failure', actor: 'bob' }))).toEqual(['robot.register']);
    });

    it('filters by time, both ends included', async () => {
      const { db, log } = await seeded(open);
      const { rows } = await db.query<{ ts: Date }>('SELECT ts FROM audit_events ORDER BY id');
      const first = rows[0]!.ts.getTime();
      expect((await log.query({ from: first })).total).toBe(5);
      expect((await log.query({ to: first - 1 })).total).toBe(0);
      expect((await log.query({ from: Date.now() + 60_000 })).total).toBe(0);
    });

    it('pages with limit and offset, or with the before_id cursor', async () => {
      const { log } = await seeded(open);
      const first = await log.query({ limit: 2 });
      expect(actions(first)).toEqual(['userx.odd', 'robot.register']);
      expect(first.total).toBe(5);
      const second = await log.query({ limit: 2, before_id: first.next_before_id! });
      expect(actions(second)).toEqual(['user.delete', 'user.password.reset']);
      const last = await log.query({ limit: 2, before_id: second.next_before_id! });
      expect(actions(last)).toEqual(['user.create']);
      expect(last.next_before_id).toBeNull();
      expect(actions(await log.query({ limit: 2, offset: 2 }))).toEqual([
        'user.delete',
        'user.password.reset',
      ]);
    });
  });

  describe('AuditLog with hostile strings', () => {
    it('stores SQL and script strings verbatim and finds them only by exact match', async () => {
      const { db, log } = await seeded(open);
      const audit = new AuditTrail(db, capturingLogger().logger);
      const name = "x'); DELETE FROM audit_events; --";
      await audit.record({
        actor: { type: 'user', id: name, name: '<script>alert(1)</script>' },
        action: 'user.create',
        target: { type: 'user', id: "1' OR '1'='1" },
        outcome: 'success',
        details: { username: '<img src=x onerror=alert(1)>' },
      });
      const found = await log.query({ actor: name });
      expect(found.items).toEqual([
        expect.objectContaining({
          actor: { type: 'user', id: name, name: '<script>alert(1)</script>' },
          target: { type: 'user', id: "1' OR '1'='1" },
          details: { username: '<img src=x onerror=alert(1)>' },
        }),
      ]);
      expect((await log.query({ target_id: "1' OR '1'='1" })).total).toBe(1);
      expect((await log.query({ actor: "' OR 1=1 --" })).total).toBe(0);
      expect((await log.query()).total).toBe(6);
    });
  });
}
