import { decodeAlertCursor, encodeAlertCursor } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import type { Database } from '../db/database';
import type { OpenTestDatabase } from '../db/test-databases';
import { type AlertRecord, AlertsRepository } from './alerts.repository';

const T0 = '2026-11-30 12:00:00+00';

/** Alerts one microsecond apart from T0 (the n-th at T0 + n µs), with the given fields; returns their ids. */
async function seed(db: Database, rows: ReadonlyArray<Record<string, unknown>>): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, r] of rows.entries()) {
    const { rows: out } = await db.query<{ id: number }>(
      `INSERT INTO alerts (robot_id, alert_type, severity, state, title, message, muted, acknowledged, resolved, created_at)
       VALUES ($1, $2, $3, $4::varchar, $5, $6, $7, $4::varchar = 'acknowledged', $4::varchar = 'resolved',
               timestamptz '${T0}' + $8::int * interval '1 microsecond') RETURNING id`,
      [
        r.robot_id === undefined ? 'r1' : r.robot_id,
        r.alert_type ?? 'threshold',
        r.severity ?? 'warning',
        r.state ?? 'open',
        r.title ?? 'CPU high',
        r.message ?? 'cpu 91',
        r.muted ?? false,
        i + 1,
      ],
    );
    ids.push(Number(out[0]?.id));
  }
  return ids;
}

async function walk(repo: AlertsRepository, filter: Parameters<AlertsRepository['page']>[0], limit: number) {
  const ids: number[] = [];
  let cursor: ReturnType<typeof decodeAlertCursor>;
  for (;;) {
    const rows: AlertRecord[] = await repo.page(filter, limit, cursor);
    const page = rows.slice(0, limit);
    ids.push(...page.map((r) => r.view.id));
    const last = page.at(-1);
    if (rows.length <= limit || !last) return ids;
    // Through the opaque form, as a client hands it back.
    cursor = decodeAlertCursor(
      encodeAlertCursor({ created_us: last.created_us, id: last.view.id, total: 0, capped: false }),
    );
  }
}

/** The alerts API's SQL, on every engine (PGlite here, PostgreSQL in the services tests). */
export function describeAlertsRepositoryContract(open: OpenTestDatabase): void {
  describe('AlertsRepository', () => {
    it('pages newest first by (created_at, id), exact to the microsecond, ties broken by id', async () => {
      const db = await open();
      const ids = await seed(
        db,
        Array.from({ length: 7 }, () => ({})),
      );
      // Three more in one instant: the same created_at as the last one above.
      await db.query(
        `INSERT INTO alerts (robot_id, alert_type, severity, title, message, created_at)
         SELECT 'r1', 'threshold', 'info', 'x', 'y', timestamptz '${T0}' + interval '7 microseconds' FROM generate_series(1, 3)`,
      );
      const repo = new AlertsRepository(db);
      const all = (await repo.page({}, 100)).map((r) => r.view.id);
      expect(all).toHaveLength(10);
      expect(all.slice(3)).toEqual([...ids].reverse());
      expect(await walk(repo, {}, 3)).toEqual(all);
      expect(await walk(repo, {}, 1)).toEqual(all);
      const first = (await repo.page({}, 1))[0] as AlertRecord;
      expect(first.created_us).toBe(String(Date.parse('2026-11-30T12:00:00Z') * 1000 + 7));
    });

    it('filters by several robots, severities, states and types at once, and by time', async () => {
      const db = await open();
      const [a, b, c, d] = await seed(db, [
        { robot_id: 'r1', severity: 'info' },
        { robot_id: 'r2', severity: 'critical', state: 'acknowledged' },
        { robot_id: 'r3', severity: 'critical', alert_type: 'robot_offline', state: 'resolved' },
        { robot_id: null, severity: 'warning', muted: true },
      ]);
      const repo = new AlertsRepository(db);
      const ids = async (f: Parameters<AlertsRepository['page']>[0]) =>
        (await repo.page(f, 10)).map((r) => r.view.id);
      expect(await ids({ robot_ids: ['r1', 'r3'] })).toEqual([c, a]);
      expect(await ids({ severities: ['critical', 'info'] })).toEqual([c, b, a]);
      expect(await ids({ states: ['open', 'acknowledged'] })).toEqual([d, b, a]);
      expect(await ids({ alert_types: ['robot_offline', 'nothing'] })).toEqual([c]);
      expect(await ids({ muted: true })).toEqual([d]);
      expect(await ids({ resolved: false, severities: ['critical'] })).toEqual([b]);
      const t0 = Date.parse('2026-11-30T12:00:00Z');
      // Every alert lies within the first millisecond after T0; 1 ms later none is left.
      expect(await ids({ from: t0, to: t0 + 1 })).toEqual([d, c, b, a]);
      expect(await ids({ from: t0 + 1 })).toEqual([]);
    });

    it('searches the title and the message in any case, % and _ taken literally', async () => {
      const db = await open();
      const [pct, under] = await seed(db, [
        { title: 'Battery 100% drained' },
        { title: 'x', message: 'SERVO_3 stalled' },
        { title: 'Battery 1000 cycles', message: 'servo 3 worn' },
      ]);
      const repo = new AlertsRepository(db);
      const ids = async (search: string) => (await repo.page({ search }, 10)).map((r) => r.view.id);
      expect(await ids('100%')).toEqual([pct]);
      expect(await ids('servo_')).toEqual([under]);
      expect(await ids('battery')).toHaveLength(2);
      // Not across the title and the message.
      expect(await ids('x servo')).toEqual([]);
    });

    it('counts up to the cap and says whether it stopped there', async () => {
      const db = await open();
      await seed(
        db,
        Array.from({ length: 5 }, () => ({})),
      );
      const repo = new AlertsRepository(db);
      expect(await repo.count({}, 5)).toEqual({ total: 5, capped: false });
      expect(await repo.count({}, 4)).toEqual({ total: 4, capped: true });
      expect(await repo.count({ robot_ids: ['nobody'] })).toEqual({ total: 0, capped: false });
    });

    it('counts by severity, state, type, robot and muted in one pass', async () => {
      const db = await open();
      await seed(db, [
        { robot_id: 'r1', severity: 'critical' },
        { robot_id: 'r1', severity: 'warning', state: 'resolved', muted: true },
        { robot_id: 'r2', severity: 'info', alert_type: 'robot_offline', state: 'acknowledged' },
        { robot_id: null, severity: 'critical', alert_type: 'manual' },
      ]);
      const stats = await new AlertsRepository(db).stats({}, 2);
      expect(stats).toEqual({
        total: 4,
        critical: 2,
        warning: 1,
        info: 1,
        unacknowledged: 2,
        unresolved: 3,
        muted: 1,
        by_severity: { info: 1, warning: 1, critical: 2 },
        by_state: { open: 2, acknowledged: 1, resolved: 1 },
        by_type: { threshold: 2, robot_offline: 1, manual: 1 },
        by_robot: [
          { robot_id: 'r1', total: 2, unresolved: 1 },
          { robot_id: null, total: 1, unresolved: 1 },
        ],
      });
    });

    it('acknowledges only open alerts, resolves only unresolved ones, and keeps the seed booleans in step', async () => {
      const db = await open();
      const [open1, open2, acked, resolved] = await seed(db, [
        {},
        { robot_id: 'r2' },
        { state: 'acknowledged' },
        { state: 'resolved' },
      ]);
      const repo = new AlertsRepository(db);
      const ack = await db.transaction((tx) => repo.acknowledge(tx, open1 as number, 'ann', 'on it'));
      expect(ack).toMatchObject({ state: 'acknowledged', acknowledged_by: 'ann', acknowledge_note: 'on it' });
      expect(
        await db.transaction((tx) => repo.acknowledge(tx, open1 as number, 'bob', null)),
      ).toBeUndefined();
      expect(
        await db.transaction((tx) => repo.acknowledge(tx, resolved as number, 'bob', null)),
      ).toBeUndefined();

      const many = await db.transaction((tx) =>
        repo.acknowledgeMany(tx, { ids: [open2 as number, acked as number, resolved as number] }, 'cy', null),
      );
      expect(many.map((a) => a.id)).toEqual([open2]);

      const done = await db.transaction((tx) => repo.resolve(tx, acked as number, 'dee', 'fixed'));
      expect(done).toMatchObject({ state: 'resolved', resolved_by: 'dee', resolve_note: 'fixed' });
      expect(await db.transaction((tx) => repo.resolve(tx, acked as number, 'eve', null))).toBeUndefined();
      const { rows } = await db.query<{ id: number; acknowledged: boolean; resolved: boolean }>(
        'SELECT id, acknowledged, resolved FROM alerts ORDER BY id',
      );
      expect(rows.map((r) => [r.acknowledged, r.resolved])).toEqual([
        [true, false],
        [true, false],
        [true, true],
        [false, true],
      ]);
    });

    it('inserts a manual alert open and without a dedup key, and deletes it once', async () => {
      const db = await open();
      const repo = new AlertsRepository(db);
      const alert = await db.transaction((tx) =>
        repo.insert(tx, {
          robot_id: null,
          alert_type: 'manual',
          severity: 'info',
          title: 't',
          message: 'm',
          source: null,
          value: 1.5,
          threshold: null,
          details: { a: [1, { b: 'c' }] },
        }),
      );
      expect(alert).toMatchObject({
        state: 'open',
        value: 1.5,
        details: { a: [1, { b: 'c' }] },
        muted: false,
      });
      expect(await repo.findById(alert.id)).toEqual(alert);
      expect(await db.transaction((tx) => repo.remove(tx, alert.id))).toEqual(alert);
      expect(await db.transaction((tx) => repo.remove(tx, alert.id))).toBeUndefined();
    });
  });
}
