import type { DecodedMessage, RobotStatus, StatusUpdate, TelemetryPoint } from '@tonypi/contracts';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../core/event-bus';
import { FakeRobotsRepository } from '../test-fakes';
import { RobotRegistry, type RobotRegistryOptions, type StatusChange } from './robot-registry';
import type { RobotRow } from './robots.repository';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const OFFLINE_AFTER_MS = 30_000;

function row(robot_id: string, status: RobotStatus, last_seen: number | null = T0 - 60_000): RobotRow {
  return {
    id: 1,
    robot_id,
    name: null,
    description: null,
    location: null,
    status,
    ip_address: '10.0.0.7',
    camera_url: null,
    battery_threshold_low: null,
    battery_threshold_critical: null,
    temp_threshold_warning: null,
    temp_threshold_critical: null,
    settings: null,
    last_seen: last_seen === null ? null : new Date(last_seen),
    created_at: new Date(T0 - 86_400_000),
    updated_at: null,
    is_active: true,
    protocol: 'canonical',
    first_seen: new Date(T0 - 86_400_000),
    registration: 'active',
    tags: [],
    deleted_at: null,
  };
}

function message(
  robot_id: string,
  opts: { ts?: number; status?: StatusUpdate; points?: TelemetryPoint[] } = {},
): DecodedMessage {
  const msg: DecodedMessage = {
    robot_id,
    channel: opts.status ? 'status' : 'battery',
    layout: 'canonical',
    ts: opts.ts ?? T0,
    received_at: opts.ts ?? T0,
    skewed: false,
    points: opts.points ?? [],
  };
  if (opts.status) msg.status = opts.status;
  return msg;
}

const registries: RobotRegistry[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) await r.stop();
});

function setup(overrides: Partial<RobotRegistryOptions> = {}) {
  const repo = new FakeRobotsRepository();
  const changes: StatusChange[] = [];
  let clock = T0;
  const events = new EventBus({ logger: pino({ level: 'silent' }) });
  events.subscribe('robot.status', (change) => changes.push(change));
  const registry = new RobotRegistry({
    repo: repo.asRepository(),
    logger: pino({ level: 'silent' }),
    autoRegister: true,
    resetStatusesOnStart: true,
    offlineAfterMs: OFFLINE_AFTER_MS,
    events,
    now: () => clock,
    ...overrides,
  });
  registries.push(registry);
  return {
    repo,
    registry,
    changes,
    setClock: (ms: number) => {
      clock = ms;
    },
  };
}

describe('RobotRegistry', () => {
  describe('an emergency stop held by the server', () => {
    it('shows emergency_stopped from the stop until release, whatever the robot says meanwhile', () => {
      const { registry, changes } = setup();
      registry.observe(message('r1', { status: { status: 'online' } }));
      registry.holdEmergencyStop('r1', 'person in the aisle');
      expect(registry.get('r1')).toMatchObject({
        status: 'emergency_stopped',
        status_reason: 'person in the aisle',
      });
      expect(changes.at(-1)).toMatchObject({ robot_id: 'r1', status: 'emergency_stopped' });

      // A status message sent before the robot got the stop (or a robot that ignores it).
      registry.observe(message('r1', { status: { status: 'online' } }));
      registry.observe(message('r1'));
      expect(registry.get('r1')?.status).toBe('emergency_stopped');
      expect(changes.filter((c) => c.status === 'emergency_stopped')).toHaveLength(1);

      registry.releaseEmergencyStop('r1');
      expect(registry.get('r1')).toMatchObject({ status: 'online', status_reason: 'resumed' });
      expect(registry.isEmergencyHeld('r1')).toBe(false);
    });

    it('lets a held robot go offline, and shows it stopped again when it is back', () => {
      const { registry } = setup();
      registry.observe(message('r1', { status: { status: 'online' } }));
      registry.holdEmergencyStop('r1', 'drill');
      registry.observe(message('r1', { status: { status: 'offline' } }));
      expect(registry.get('r1')?.status).toBe('offline');
      registry.observe(message('r1', { status: { status: 'online' } }));
      expect(registry.get('r1')?.status).toBe('emergency_stopped');
    });

    it('after release, the robot’s own emergency_stopped still counts', () => {
      const { registry } = setup();
      registry.observe(message('r1', { status: { status: 'online' } }));
      registry.holdEmergencyStop('r1', 'drill');
      registry.releaseEmergencyStop('r1');
      registry.observe(message('r1', { status: { status: 'emergency_stopped', reason: 'bumper' } }));
      expect(registry.get('r1')).toMatchObject({ status: 'emergency_stopped', status_reason: 'bumper' });
    });
  });

  describe('first contact', () => {
    it('registers an unknown robot on the next flush and announces it online', async () => {
      const { repo, registry, changes } = setup();
      registry.observe(message('r1'), T0 + 5);

      expect(changes).toEqual([
        {
          robot_id: 'r1',
          status: 'online',
          ts: T0,
          ip_address: undefined,
          camera_url: undefined,
          reason: null,
        },
      ]);
      expect(registry.get('r1')).toMatchObject({ status: 'online', last_seen: T0 + 5, messages: 1 });
      expect(repo.registered).toEqual([]);

      await registry.flush();
      expect(repo.registered).toEqual([
        [{ robot_id: 'r1', protocol: 'canonical', seen_at: new Date(T0 + 5) }],
      ]);
      expect(repo.seen).toEqual([
        [expect.objectContaining({ robot_id: 'r1', status: 'online', last_seen: new Date(T0 + 5) })],
      ]);
      expect(registry.counters.registered).toBe(1);
    });

    it('coalesces many messages into one write per flush', async () => {
      const { repo, registry, changes } = setup();
      for (let i = 0; i < 100; i++) registry.observe(message(i % 2 ? 'r1' : 'r2'), T0 + i);
      await registry.flush();

      expect(changes.map((c) => [c.robot_id, c.status])).toEqual([
        ['r2', 'online'],
        ['r1', 'online'],
      ]);
      expect(repo.registered).toHaveLength(1);
      expect(repo.seen).toHaveLength(1);
      expect(repo.seen[0]?.map((s) => [s.robot_id, s.last_seen.getTime()])).toEqual([
        ['r2', T0 + 98],
        ['r1', T0 + 99],
      ]);
    });

    it('writes nothing when nothing changed', async () => {
      const { repo, registry } = setup();
      await registry.flush();
      expect(repo.registered).toEqual([]);
      expect(repo.seen).toEqual([]);
    });
  });

  describe('status', () => {
    it('announces an explicit offline status', () => {
      const { registry, changes } = setup();
      registry.observe(message('r1'), T0);
      registry.observe(message('r1', { ts: T0 + 10, status: { status: 'offline' } }), T0 + 10);

      expect(changes.map((c) => [c.status, c.ts])).toEqual([
        ['online', T0],
        ['offline', T0 + 10],
      ]);
      expect(registry.get('r1')?.status).toBe('offline');
    });

    it('announces a status with its reason, and the robot address it reported', () => {
      const { registry, changes } = setup();
      registry.observe(
        message('r1', {
          status: { status: 'emergency_stopped', reason: 'bumper', ip_address: '10.0.0.9' },
        }),
        T0,
      );
      expect(changes).toEqual([
        expect.objectContaining({
          robot_id: 'r1',
          status: 'emergency_stopped',
          reason: 'bumper',
          ip_address: '10.0.0.9',
        }),
      ]);
    });

    it('does not announce again while the status stays the same', () => {
      const { registry, changes } = setup();
      for (let i = 0; i < 5; i++) registry.observe(message('r1', { ts: T0 + i }), T0 + i);
      expect(changes).toHaveLength(1);
    });

    it('marks a robot silent for offlineAfterMs offline with a reason, and writes it', async () => {
      const { repo, registry, changes, setClock } = setup();
      registry.observe(message('r1'), T0);
      await registry.flush();

      setClock(T0 + OFFLINE_AFTER_MS - 1);
      registry.sweepSilent();
      expect(registry.get('r1')?.status).toBe('online');

      setClock(T0 + OFFLINE_AFTER_MS);
      registry.sweepSilent();
      expect(changes.at(-1)).toEqual({
        robot_id: 'r1',
        status: 'offline',
        ts: T0 + OFFLINE_AFTER_MS,
        reason: 'no message for 30 s',
      });
      expect(registry.get('r1')).toMatchObject({ status: 'offline', status_reason: 'no message for 30 s' });

      await registry.flush();
      expect(repo.seen.at(-1)).toEqual([expect.objectContaining({ robot_id: 'r1', status: 'offline' })]);

      registry.sweepSilent();
      expect(changes).toHaveLength(2);
    });

    it('brings a robot back online with its next message after it went offline', () => {
      const { registry, changes, setClock } = setup();
      registry.observe(message('r1'), T0);
      setClock(T0 + OFFLINE_AFTER_MS);
      registry.sweepSilent();
      registry.observe(message('r1', { ts: T0 + OFFLINE_AFTER_MS + 1 }), T0 + OFFLINE_AFTER_MS + 1);

      expect(changes.map((c) => [c.status, c.reason])).toEqual([
        ['online', null],
        ['offline', 'no message for 30 s'],
        ['online', null],
      ]);
      expect(registry.onlineCount()).toBe(1);
    });
  });

  describe('latest values', () => {
    it('keeps the newest fields per measurement, merging partial readings, and per servo', () => {
      const { registry } = setup();
      const point = (ts: number, fields: Record<string, number>): TelemetryPoint => ({
        measurement: 'sensors',
        robot_id: 'r1',
        ts,
        fields,
      });
      registry.observe(message('r1', { points: [point(T0, { roll_deg: 1 })] }), T0);
      registry.observe(message('r1', { points: [point(T0 + 1, { pitch_deg: 2 })] }), T0 + 1);
      registry.observe(message('r1', { points: [point(T0 - 1, { roll_deg: 99 })] }), T0 + 2);
      registry.observe(
        message('r1', {
          points: [
            {
              measurement: 'servos',
              robot_id: 'r1',
              ts: T0,
              tags: { servo_id: '3' },
              fields: { position: 7 },
            },
          ],
        }),
        T0 + 3,
      );

      expect(registry.get('r1')?.latest.sensors).toEqual({
        ts: T0 + 1,
        fields: { roll_deg: 1, pitch_deg: 2 },
      });
      expect(registry.get('r1')?.servos).toEqual({ '3': { ts: T0, fields: { position: 7 } } });
    });
  });

  describe('accepts()', () => {
    it('accepts any robot when auto-registration is on', () => {
      const { registry } = setup({ autoRegister: true });
      expect(registry.accepts('never_seen')).toBe(true);
    });

    it('accepts only known robots when auto-registration is off', async () => {
      const { repo, registry } = setup({ autoRegister: false });
      repo.rows = [row('known', 'offline')];
      await registry.start();
      expect(registry.accepts('known')).toBe(true);
      expect(registry.accepts('never_seen')).toBe(false);
    });
  });

  describe('registration limits (robots registering themselves)', () => {
    const limits = { perMinute: 3, pendingMax: 5, confirmAfterMs: 60_000 };

    it('registers at most perMinute new robots at once, then refuses as registration_limited', () => {
      const { registry } = setup({ registration: limits });
      expect(['a', 'b', 'c'].map((id) => registry.admit(id))).toEqual([undefined, undefined, undefined]);
      expect(registry.admit('d')).toEqual({
        reason: 'registration_limited',
        detail: 'more than 3 new robots a minute (ROBOT_AUTO_REGISTER_PER_MIN)',
      });
      expect(registry.get('d')).toBeUndefined();
      // Known robots are never limited.
      expect(registry.admit('a')).toBeUndefined();
      expect(registry.pendingCount).toBe(3);
    });

    it('lets a new robot in again as the minute refills the rate, evenly', () => {
      const { registry, setClock } = setup({ registration: limits });
      for (const id of ['a', 'b', 'c']) registry.admit(id);
      setClock(T0 + 19_000);
      expect(registry.admit('d')?.reason).toBe('registration_limited');
      setClock(T0 + 20_000);
      expect(registry.admit('d')).toBeUndefined();
      expect(registry.admit('e')?.reason).toBe('registration_limited');
    });

    it('refuses new robots while pendingMax robots await confirmation, counting those stored as pending', async () => {
      const { repo, registry, setClock } = setup({ registration: limits });
      repo.rows = [
        { ...row('p1', 'offline'), registration: 'pending' },
        { ...row('p2', 'offline'), registration: 'pending' },
        row('old', 'offline'),
      ];
      await registry.start();
      expect(registry.pendingCount).toBe(2);
      for (const id of ['a', 'b', 'c']) expect(registry.admit(id)).toBeUndefined();
      setClock(T0 + 60_000);
      expect(registry.admit('d')).toEqual({
        reason: 'registration_limited',
        detail: '5 robots await confirmation (ROBOT_PENDING_MAX 5)',
      });
    });

    it('checks without registering when asked not to (the store-only role)', () => {
      const { registry } = setup({ registration: limits });
      expect(registry.admit('a', false)).toBeUndefined();
      expect(registry.get('a')).toBeUndefined();
      expect(registry.pendingCount).toBe(0);
    });

    it('applies the same limits to a robot observed without admit()', () => {
      const { registry } = setup({ registration: { ...limits, perMinute: 1 } });
      registry.observe(message('a'), T0);
      registry.observe(message('b'), T0);
      expect(registry.get('a')?.registration).toBe('pending');
      expect(registry.get('b')).toBeUndefined();
    });

    it('stores a new robot as pending and confirms it once it kept talking confirmAfterMs, written once', async () => {
      const { repo, registry } = setup({ registration: limits });
      registry.observe(message('a'), T0);
      registry.observe(message('a'), T0 + 59_999);
      await registry.flush();
      expect(registry.get('a')?.registration).toBe('pending');
      expect(repo.seen.flat().map((s) => s.registration)).toEqual([undefined]);

      registry.observe(message('a'), T0 + 60_000);
      expect(registry.get('a')?.registration).toBe('active');
      expect(registry.pendingCount).toBe(0);
      await registry.flush();
      registry.observe(message('a'), T0 + 61_000);
      await registry.flush();
      expect(repo.seen.flat().map((s) => s.registration)).toEqual([undefined, 'active', undefined]);
    });

    it('starts the confirmation time again when a pending robot goes offline', () => {
      const { registry, setClock } = setup({ registration: limits });
      registry.observe(message('a'), T0);
      setClock(T0 + 40_000);
      registry.sweepSilent();
      expect(registry.get('a')?.status).toBe('offline');
      registry.observe(message('a'), T0 + 40_000);
      registry.observe(message('a'), T0 + 70_000);
      expect(registry.get('a')?.registration).toBe('pending');
      registry.observe(message('a', { status: { status: 'offline' } }), T0 + 80_000);
      registry.observe(message('a'), T0 + 90_000);
      registry.observe(message('a'), T0 + 149_999);
      expect(registry.get('a')?.registration).toBe('pending');
      registry.observe(message('a'), T0 + 150_000);
      expect(registry.get('a')?.registration).toBe('active');
    });
  });

  describe('database failures', () => {
    it('keeps the changes when a write fails and writes them on the next flush', async () => {
      const { repo, registry } = setup();
      registry.observe(message('r1'), T0);
      repo.failWith = new Error('connection reset');

      await expect(registry.flush()).resolves.toBeUndefined();
      expect(registry.counters.flush_errors).toBe(1);
      expect(repo.registered).toEqual([]);

      repo.failWith = undefined;
      await registry.flush();
      expect(repo.registered).toEqual([[expect.objectContaining({ robot_id: 'r1' })]]);
      expect(repo.seen).toEqual([[expect.objectContaining({ robot_id: 'r1', status: 'online' })]]);
      expect(registry.counters.flushes).toBe(1);
    });
  });

  describe('writes that fail for one robot', () => {
    it('writes the other robots one by one, and gives up on the failing one after three attempts', async () => {
      const { repo, registry } = setup();
      registry.observe(message('good'), T0);
      registry.observe(message('poison'), T0);
      await registry.flush();
      const recordSeen = repo.recordSeen.bind(repo);
      repo.recordSeen = async (updates) => {
        if (updates.some((u) => u.robot_id === 'poison')) throw new Error('invalid byte sequence');
        return recordSeen(updates);
      };
      repo.seen.length = 0;
      for (let i = 0; i < 4; i++) {
        registry.observe(message('good', { ts: T0 + i }), T0 + i);
        if (i === 0) registry.observe(message('poison', { ts: T0 }), T0);
        await registry.flush();
      }
      expect(repo.seen.flat().map((u) => u.robot_id)).toEqual(['good', 'good', 'good', 'good']);
      expect(registry.counters.dropped_writes).toBe(1);
    });
  });

  describe('flush()', () => {
    it('called during a write, also writes what was observed after that write began', async () => {
      const { repo, registry } = setup();
      let release!: () => void;
      const registerMany = repo.registerMany.bind(repo);
      repo.registerMany = async (robots) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return registerMany(robots);
      };
      registry.observe(message('a'), T0);
      const first = registry.flush();
      registry.observe(message('b'), T0);
      const second = registry.flush();
      release();
      await first;
      release();
      await second;
      expect(repo.registered.flat().map((r) => r.robot_id)).toEqual(['a', 'b']);
    });

    it('writes the protocol a robot used last', async () => {
      const { repo, registry } = setup();
      registry.observe({ ...message('r1'), layout: 'legacy' }, T0);
      await registry.flush();
      registry.observe(message('r1'), T0 + 1);
      await registry.flush();
      expect(repo.seen.at(-1)?.[0]).toMatchObject({ robot_id: 'r1', protocol: 'canonical' });
    });
  });

  describe('start()', () => {
    it('with resetStatusesOnStart, marks every robot offline in the database and in memory', async () => {
      const { repo, registry } = setup({ resetStatusesOnStart: true });
      repo.rows = [row('r1', 'online', T0 - 1000), row('r2', 'error')];
      await registry.start();

      expect(repo.markAllOfflineCalls).toBe(1);
      expect(registry.get('r1')).toMatchObject({
        status: 'offline',
        last_seen: T0 - 1000,
        ip_address: '10.0.0.7',
      });
      expect(registry.get('r2')?.status).toBe('offline');
      expect(registry.onlineCount()).toBe(0);
      expect(registry.size).toBe(2);
    });

    it("keeps an operator's maintenance status across a restart, new messages and silence", async () => {
      const { repo, registry, changes, setClock } = setup({ resetStatusesOnStart: true });
      repo.rows = [row('r1', 'maintenance', T0 - 1000)];
      await registry.start();
      expect(registry.get('r1')?.status).toBe('maintenance');

      registry.observe(message('r1'), T0);
      setClock(T0 + OFFLINE_AFTER_MS * 2);
      registry.sweepSilent();
      expect(registry.get('r1')?.status).toBe('maintenance');
      expect(changes).toEqual([]);
    });

    it('without resetStatusesOnStart, keeps the stored statuses', async () => {
      const { repo, registry } = setup({ resetStatusesOnStart: false });
      repo.rows = [row('r1', 'online'), row('r2', 'maintenance'), row('r3', 'offline', null)];
      await registry.start();

      expect(repo.markAllOfflineCalls).toBe(0);
      expect([...registry.all()].map((r) => [r.robot_id, r.status])).toEqual([
        ['r1', 'online'],
        ['r2', 'maintenance'],
        ['r3', 'offline'],
      ]);
      expect(registry.onlineCount()).toBe(2);
    });

    it('does not register known robots again when they speak', async () => {
      const { repo, registry, changes } = setup();
      repo.rows = [row('r1', 'online')];
      await registry.start();
      registry.observe(message('r1'), T0);
      await registry.flush();

      expect(changes.map((c) => [c.robot_id, c.status])).toEqual([['r1', 'online']]);
      expect(repo.registered).toEqual([]);
      expect(repo.seen).toEqual([[expect.objectContaining({ robot_id: 'r1', status: 'online' })]]);
    });
  });

  describe('what an admin does', () => {
    it('claims a pending robot: it becomes active and no longer counts toward pendingMax', async () => {
      const { repo, registry } = setup();
      repo.rows = [{ ...row('p1', 'offline'), registration: 'pending' }];
      await registry.start();
      expect(registry.pendingCount).toBe(1);
      registry.track({ ...row('p1', 'offline'), registration: 'active' });
      expect(registry.get('p1')?.registration).toBe('active');
      expect(registry.pendingCount).toBe(0);
    });

    it("refuses a deleted robot's messages (robot_deleted) until it is restored, and announces it offline", async () => {
      const { repo, registry, changes } = setup();
      repo.rows = [row('d1', 'online'), { ...row('gone', 'offline'), deleted_at: new Date(T0) }];
      await registry.start();
      expect(registry.admit('gone')).toEqual({ reason: 'robot_deleted', detail: expect.any(String) });
      registry.observe(message('d1'), T0 + 1);
      registry.remove('d1');
      expect(changes.at(-1)).toMatchObject({ robot_id: 'd1', status: 'offline', reason: 'robot deleted' });
      expect(registry.get('d1')).toBeUndefined();
      expect(registry.admit('d1')?.reason).toBe('robot_deleted');
      // Its state is not written after the delete.
      await registry.flush();
      expect(repo.seen.flat().map((s) => s.robot_id)).not.toContain('d1');
      registry.track(row('d1', 'offline'));
      expect(registry.admit('d1')).toBeUndefined();
      expect(registry.isDeleted('d1')).toBe(false);
    });
  });
});
