import { describe, expect, it } from 'vitest';
import type { Database } from '../db/database';
import type { OpenTestDatabase } from '../db/test-databases';
import { escapeLike, type RobotSeen, RobotsRepository } from './robots.repository';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

async function withRobots(db: Database, ids: readonly string[]): Promise<RobotsRepository> {
  const robots = new RobotsRepository(db);
  await robots.registerMany(ids.map((robot_id) => ({ robot_id, protocol: 'canonical', seen_at: t0 })));
  return robots;
}

export function describeRobotsRepositoryContract(open: OpenTestDatabase): void {
  describe('RobotsRepository', () => {
    describe('registerMany', () => {
      it('creates a robot on first contact, offline until it says otherwise', async () => {
        const robots = new RobotsRepository(await open());
        const created = await robots.registerMany([
          { robot_id: 'tonypi_01', protocol: 'legacy', seen_at: t0 },
        ]);
        expect(created).toEqual(['tonypi_01']);
        const robot = await robots.findByRobotId('tonypi_01');
        expect(robot).toMatchObject({
          robot_id: 'tonypi_01',
          protocol: 'legacy',
          status: 'offline',
          first_seen: t0,
          last_seen: t0,
          name: null,
          location: null,
          settings: null,
          is_active: true,
          battery_threshold_low: 20,
          battery_threshold_critical: 10,
          temp_threshold_warning: 70,
          temp_threshold_critical: 80,
        });
        expect(robot?.id).toEqual(expect.any(Number));
        expect(robot?.created_at).toBeInstanceOf(Date);
      });

      it('returns only the robot_ids it created and leaves known robots unchanged', async () => {
        const robots = await withRobots(await open(), ['tonypi_01']);
        const created = await robots.registerMany([
          { robot_id: 'tonypi_01', protocol: 'legacy', seen_at: at(60) },
          { robot_id: 'tonypi_02', protocol: 'canonical', seen_at: at(60) },
          { robot_id: 'tonypi_02', protocol: 'canonical', seen_at: at(30) },
        ]);
        expect(created).toEqual(['tonypi_02']);
        expect(await robots.findByRobotId('tonypi_01')).toMatchObject({
          protocol: 'canonical',
          first_seen: t0,
        });
        expect(await robots.findByRobotId('tonypi_02')).toMatchObject({ first_seen: at(30) });
      });

      it('does nothing for an empty batch', async () => {
        const robots = new RobotsRepository(await open());
        expect(await robots.registerMany([])).toEqual([]);
      });

      it('creates a few hundred robots in one call', async () => {
        const robots = new RobotsRepository(await open());
        const ids = Array.from({ length: 300 }, (_, i) => `robot_${String(i).padStart(3, '0')}`);
        const created = await robots.registerMany(
          ids.map((robot_id) => ({ robot_id, protocol: 'canonical', seen_at: t0 })),
        );
        expect(created.sort()).toEqual(ids);
        expect((await robots.list({ limit: 1 })).total).toBe(300);
      });
    });

    describe('recordSeen', () => {
      it('updates only the fields given and keeps the others', async () => {
        const robots = await withRobots(await open(), ['tonypi_01']);
        await robots.recordSeen([
          {
            robot_id: 'tonypi_01',
            last_seen: at(1),
            status: 'online',
            ip_address: '10.0.0.5',
            camera_url: 'http://10.0.0.5:8081/?action=stream',
            location: { x: 1, y: 2, z: 0, heading: 90 },
          },
        ]);
        const updated = await robots.recordSeen([{ robot_id: 'tonypi_01', last_seen: at(2) }]);
        expect(updated).toEqual(['tonypi_01']);
        const robot = await robots.findByRobotId('tonypi_01');
        expect(robot).toMatchObject({
          last_seen: at(2),
          status: 'online',
          ip_address: '10.0.0.5',
          camera_url: 'http://10.0.0.5:8081/?action=stream',
          location: { x: 1, y: 2, z: 0, heading: 90 },
          protocol: 'canonical',
        });
        expect(robot?.updated_at).toBeInstanceOf(Date);
      });

      it('applies a batch for many robots in one call, skipping unknown robots', async () => {
        const robots = await withRobots(await open(), ['a', 'b']);
        const updated = await robots.recordSeen([
          { robot_id: 'a', last_seen: at(5), status: 'online' },
          { robot_id: 'b', last_seen: at(6), location: { x: 3, y: 4, z: 5 } },
          { robot_id: 'ghost', last_seen: at(7), status: 'online' },
        ]);
        expect(updated.sort()).toEqual(['a', 'b']);
        expect(await robots.findByRobotId('a')).toMatchObject({
          status: 'online',
          last_seen: at(5),
          location: null,
        });
        expect(await robots.findByRobotId('b')).toMatchObject({
          status: 'offline',
          location: { x: 3, y: 4, z: 5 },
        });
        expect(await robots.findByRobotId('ghost')).toBeUndefined();
      });

      it('merges several sightings of one robot, the later fields winning', async () => {
        const robots = await withRobots(await open(), ['a']);
        await robots.recordSeen([
          { robot_id: 'a', last_seen: at(3), status: 'online', ip_address: '10.0.0.1' },
          { robot_id: 'a', last_seen: at(2), status: 'error' },
          { robot_id: 'a', last_seen: at(1), protocol: 'legacy' },
        ]);
        expect(await robots.findByRobotId('a')).toMatchObject({
          last_seen: at(3),
          status: 'error',
          ip_address: '10.0.0.1',
          protocol: 'legacy',
        });
      });

      it('never moves last_seen backwards', async () => {
        const robots = await withRobots(await open(), ['a']);
        await robots.recordSeen([{ robot_id: 'a', last_seen: at(10) }]);
        await robots.recordSeen([{ robot_id: 'a', last_seen: at(5), status: 'online' }]);
        expect(await robots.findByRobotId('a')).toMatchObject({ last_seen: at(10), status: 'online' });
      });

      it('cuts over-long strings to the column size instead of failing the batch', async () => {
        const robots = await withRobots(await open(), ['a', 'b']);
        const longUrl = `http://x/${'a'.repeat(400)}`;
        await robots.recordSeen([
          { robot_id: 'a', last_seen: at(1), camera_url: longUrl },
          { robot_id: 'b', last_seen: at(1), status: 'online' },
        ]);
        expect((await robots.findByRobotId('a'))?.camera_url).toBe(longUrl.slice(0, 255));
        expect((await robots.findByRobotId('b'))?.status).toBe('online');
      });

      it('stores hostile strings verbatim', async () => {
        const hostile = "x'); DROP TABLE robots; --";
        const robots = await withRobots(await open(), [hostile]);
        const sighting: RobotSeen = {
          robot_id: hostile,
          last_seen: at(1),
          ip_address: "1'--",
          camera_url: 'http://h/"\\\'{}[]',
          location: { x: 1, y: 2, z: 3 },
        };
        await robots.recordSeen([sighting]);
        expect(await robots.findByRobotId(hostile)).toMatchObject({
          robot_id: hostile,
          ip_address: "1'--",
          camera_url: 'http://h/"\\\'{}[]',
        });
        expect((await robots.list()).total).toBe(1);
      });
    });

    describe('registration', () => {
      it('stores a robot registered on first contact as pending, and a confirmation as active', async () => {
        const robots = await withRobots(await open(), ['tonypi_01', 'tonypi_02']);
        expect((await robots.findByRobotId('tonypi_01'))?.registration).toBe('pending');
        await robots.recordSeen([
          { robot_id: 'tonypi_01', last_seen: at(60), registration: 'active' },
          { robot_id: 'tonypi_02', last_seen: at(60) },
        ]);
        expect((await robots.findByRobotId('tonypi_01'))?.registration).toBe('active');
        expect((await robots.findByRobotId('tonypi_02'))?.registration).toBe('pending');
      });

      it('filters the list by registration, with the total of the matches', async () => {
        const robots = await withRobots(await open(), ['a1', 'a2', 'p1']);
        await robots.recordSeen([
          { robot_id: 'a1', last_seen: at(1), registration: 'active' },
          { robot_id: 'a2', last_seen: at(1), registration: 'active' },
        ]);
        const pending = await robots.list({ registration: 'pending' });
        expect(pending.items.map((r) => r.robot_id)).toEqual(['p1']);
        expect(pending.total).toBe(1);
        expect((await robots.list({ registration: 'active' })).total).toBe(2);
      });

      it('refuses a registration state it does not know (a CHECK constraint)', async () => {
        const db = await open();
        await withRobots(db, ['tonypi_01']);
        await expect(
          db.query(`UPDATE robots SET registration = 'claimed' WHERE robot_id = 'tonypi_01'`),
        ).rejects.toThrow();
      });
    });

    describe('markOffline and markAllOffline', () => {
      it('marks the given robots offline and returns those that changed', async () => {
        const robots = await withRobots(await open(), ['a', 'b', 'c']);
        await robots.recordSeen([
          { robot_id: 'a', last_seen: at(1), status: 'online' },
          { robot_id: 'b', last_seen: at(1), status: 'online' },
        ]);
        expect(await robots.markOffline(['a', 'c', 'ghost'])).toEqual(['a']);
        expect((await robots.findByRobotId('a'))?.status).toBe('offline');
        expect((await robots.findByRobotId('b'))?.status).toBe('online');
        expect(await robots.markOffline([])).toEqual([]);
      });

      it('marks every robot offline at start-up except those in maintenance', async () => {
        const db = await open();
        const robots = await withRobots(db, ['a', 'b', 'c', 'd']);
        await robots.recordSeen([
          { robot_id: 'a', last_seen: at(1), status: 'online' },
          { robot_id: 'b', last_seen: at(1), status: 'emergency_stopped' },
          { robot_id: 'c', last_seen: at(1), status: 'maintenance' },
        ]);
        expect(await robots.markAllOffline()).toBe(2);
        const { items } = await robots.list();
        expect(items.map((r) => [r.robot_id, r.status])).toEqual([
          ['a', 'offline'],
          ['b', 'offline'],
          ['c', 'maintenance'],
          ['d', 'offline'],
        ]);
      });
    });

    describe('list', () => {
      async function fleet(): Promise<RobotsRepository> {
        const db = await open();
        const robots = await withRobots(db, [
          'tonypi_01',
          'tonypi_02',
          'tonypi_10',
          'rover_1',
          'percent%bot',
          'under_bot',
        ]);
        await db.query(`UPDATE robots SET name = 'Warehouse 50% Tony' WHERE robot_id = 'tonypi_10'`);
        await db.query(`UPDATE robots SET name = 'Alpha' WHERE robot_id = 'rover_1'`);
        await robots.recordSeen([
          { robot_id: 'tonypi_01', last_seen: at(30), status: 'online' },
          { robot_id: 'tonypi_02', last_seen: at(10), status: 'online' },
          { robot_id: 'rover_1', last_seen: at(20), status: 'error' },
        ]);
        return robots;
      }
      const ids = (page: { items: { robot_id: string }[] }) => page.items.map((r) => r.robot_id);

      it('lists every robot by robot_id with the total', async () => {
        const robots = await fleet();
        const page = await robots.list();
        expect(ids(page)).toEqual([
          'percent%bot',
          'rover_1',
          'tonypi_01',
          'tonypi_02',
          'tonypi_10',
          'under_bot',
        ]);
        expect(page.total).toBe(6);
      });

      it('filters by status', async () => {
        const robots = await fleet();
        const page = await robots.list({ status: 'online' });
        expect(ids(page)).toEqual(['tonypi_01', 'tonypi_02']);
        expect(page.total).toBe(2);
      });

      it('searches robot_id and name case-insensitively', async () => {
        const robots = await fleet();
        expect(ids(await robots.list({ search: 'TONYPI_0' }))).toEqual(['tonypi_01', 'tonypi_02']);
        expect(ids(await robots.list({ search: 'alp' }))).toEqual(['rover_1']);
        expect(ids(await robots.list({ search: 'warehouse' }))).toEqual(['tonypi_10']);
      });

      it('matches % and _ literally in a search', async () => {
        const robots = await fleet();
        expect(ids(await robots.list({ search: '%' }))).toEqual(['percent%bot', 'tonypi_10']);
        expect(ids(await robots.list({ search: 'r_b' }))).toEqual(['under_bot']);
        expect(ids(await robots.list({ search: '_' }))).toEqual([
          'rover_1',
          'tonypi_01',
          'tonypi_02',
          'tonypi_10',
          'under_bot',
        ]);
        expect(ids(await robots.list({ search: '\\' }))).toEqual([]);
      });

      it('combines status and search filters', async () => {
        const robots = await fleet();
        const page = await robots.list({ status: 'online', search: '01' });
        expect(ids(page)).toEqual(['tonypi_01']);
        expect(page.total).toBe(1);
      });

      it('sorts by last_seen, most recent first', async () => {
        const robots = await fleet();
        const page = await robots.list({ sort: 'last_seen', order: 'desc' });
        expect(ids(page).slice(0, 3)).toEqual(['tonypi_01', 'rover_1', 'tonypi_02']);
      });

      it('sorts by name with unnamed robots last, then by robot_id', async () => {
        const robots = await fleet();
        expect(ids(await robots.list({ sort: 'name', order: 'asc' }))).toEqual([
          'rover_1',
          'tonypi_10',
          'percent%bot',
          'tonypi_01',
          'tonypi_02',
          'under_bot',
        ]);
        expect(ids(await robots.list({ sort: 'name', order: 'desc' })).slice(0, 2)).toEqual([
          'tonypi_10',
          'rover_1',
        ]);
      });

      it('sorts by status', async () => {
        const robots = await fleet();
        expect(ids(await robots.list({ sort: 'status', order: 'asc' }))).toEqual([
          'rover_1',
          'percent%bot',
          'tonypi_10',
          'under_bot',
          'tonypi_01',
          'tonypi_02',
        ]);
      });

      it('pages with limit and offset, the total counting every match', async () => {
        const robots = await fleet();
        const first = await robots.list({ limit: 4, offset: 0 });
        const second = await robots.list({ limit: 4, offset: 4 });
        expect(ids(first)).toEqual(['percent%bot', 'rover_1', 'tonypi_01', 'tonypi_02']);
        expect(ids(second)).toEqual(['tonypi_10', 'under_bot']);
        expect([first.total, second.total]).toEqual([6, 6]);
        expect(await robots.list({ limit: 4, offset: 40 })).toEqual({ items: [], total: 6 });
      });
    });

    it('escapes LIKE wildcards and the escape character', () => {
      expect(escapeLike('50%_a\\b')).toBe('50\\%\\_a\\\\b');
    });
  });
}
