import type { AlertView, LiveChannel, TelemetryPoint } from '@tonypi/contracts';
import { describe, expect, it, vi } from 'vitest';
import { capturingLogger, FakeLiveSocket } from '../test-fakes';
import { LiveHub } from './live-hub';

const SOFT = 1_000;
const HARD = 10_000;
const T0 = Date.parse('2026-11-24T10:00:00Z');

function setup() {
  const hub = new LiveHub({ softBufferBytes: SOFT, hardBufferBytes: HARD });
  const connect = (robots: readonly string[] = ['*'], channels: readonly LiveChannel[] = ['telemetry']) => {
    const socket = new FakeLiveSocket();
    const client = hub.add(socket);
    hub.subscribe(client, robots, channels);
    return { socket, client };
  };
  return { hub, connect };
}

const battery = (robot_id: string, percent: number, ts = T0): TelemetryPoint => ({
  measurement: 'battery',
  robot_id,
  ts,
  fields: { percent },
});

const location = (robot_id: string, x_m: number, ts = T0): TelemetryPoint => ({
  measurement: 'location',
  robot_id,
  ts,
  fields: { x_m, y_m: 0 },
});

const servo = (robot_id: string, servo_id: string, position: number): TelemetryPoint => ({
  measurement: 'servos',
  robot_id,
  ts: T0,
  tags: { servo_id },
  fields: { position },
});

const status = (robot_id: string, s: 'online' | 'offline' = 'online') => ({ robot_id, status: s, ts: T0 });

const alert = (id: number, robot_id: string | null): AlertView => ({
  id,
  robot_id,
  alert_type: 'threshold',
  severity: 'warning',
  state: 'open',
  title: `alert ${id}`,
  message: 'cpu high',
  rule_id: null,
  source: 'cpu',
  value: 91,
  threshold: 90,
  muted: false,
  acknowledged_by: null,
  acknowledged_at: null,
  acknowledge_note: null,
  resolved_by: null,
  resolved_at: null,
  created_at: new Date(T0).toISOString(),
  updated_at: new Date(T0).toISOString(),
  details: null,
});

describe('LiveHub', () => {
  describe('telemetry throttling', () => {
    it('sends one frame per series between flushes, carrying the newest value (latest-value)', () => {
      const { hub, connect } = setup();
      const { socket } = connect();
      for (let i = 1; i <= 50; i++) hub.telemetry(battery('r1', i, T0 + i));
      hub.flush();
      hub.flush();

      const frames = socket.framesOf('telemetry');
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ robot_id: 'r1', measurement: 'battery', fields: { percent: 50 } });
      expect(frames[0]?.ts).toBe(T0 + 50);
    });

    it('keeps robots, measurements and servos apart as separate series', () => {
      const { hub, connect } = setup();
      const { socket } = connect();
      hub.telemetry(battery('r1', 10));
      hub.telemetry(battery('r2', 20));
      hub.telemetry(servo('r1', '1', 500));
      hub.telemetry(servo('r1', '2', 600));
      hub.telemetry(servo('r1', '1', 510));
      hub.flush();
      hub.flush();

      const frames = socket.framesOf('telemetry');
      expect(frames).toHaveLength(4);
      expect(frames.map((f) => [f.robot_id, f.measurement, f.tags, f.fields])).toEqual(
        expect.arrayContaining([
          ['r1', 'battery', undefined, { percent: 10 }],
          ['r2', 'battery', undefined, { percent: 20 }],
          ['r1', 'servos', { servo_id: '1' }, { position: 510 }],
          ['r1', 'servos', { servo_id: '2' }, { position: 600 }],
        ]),
      );
    });

    it('flushes location every tick (20 Hz) and other telemetry every second tick (10 Hz)', () => {
      const { hub, connect } = setup();
      const { socket } = connect();
      const perTick: Array<{ location: number[]; battery: number[] }> = [];
      for (let tick = 1; tick <= 4; tick++) {
        hub.telemetry(location('r1', tick));
        hub.telemetry(battery('r1', tick));
        const before = socket.sent.length;
        hub.flush();
        const sent = socket.sent.slice(before).map((s) => JSON.parse(s) as Record<string, unknown>);
        const values = (m: string, f: string) =>
          sent.filter((s) => s.measurement === m).map((s) => (s.fields as Record<string, number>)[f]!);
        perTick.push({ location: values('location', 'x_m'), battery: values('battery', 'percent') });
      }

      expect(perTick).toEqual([
        { location: [1], battery: [] },
        { location: [2], battery: [2] },
        { location: [3], battery: [] },
        { location: [4], battery: [4] },
      ]);
    });

    it('on its own timer, sends a series at most 10 times a second (location 20) however fast points come, the newest last', () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      try {
        const { hub, connect } = setup();
        const { socket } = connect();
        hub.start();
        // 200 points of each series in one second: one every 5 ms.
        for (let i = 1; i <= 200; i++) {
          hub.telemetry(battery('r1', i));
          hub.telemetry(location('r1', i));
          vi.advanceTimersByTime(5);
        }
        hub.stop();
        vi.advanceTimersByTime(1000);
        const of = (m: string) => socket.framesOf('telemetry').filter((f) => f.measurement === m);
        expect(of('battery')).toHaveLength(10);
        expect(of('location')).toHaveLength(20);
        expect(of('battery').at(-1)).toMatchObject({ fields: { percent: 200 } });
        expect(of('location').at(-1)).toMatchObject({ fields: { x_m: 200 } });
      } finally {
        vi.useRealTimers();
      }
    });

    it('sends nothing on a flush when nothing new arrived', () => {
      const { hub, connect } = setup();
      const { socket } = connect();
      hub.telemetry(location('r1', 1));
      hub.flush();
      hub.flush();
      hub.flush();
      expect(socket.framesOf('telemetry')).toHaveLength(1);
    });

    it('keeps no telemetry while nobody is connected', () => {
      const { hub, connect } = setup();
      hub.telemetry(battery('r1', 1));
      const { socket } = connect();
      hub.flush();
      hub.flush();
      expect(socket.sent).toEqual([]);
    });
  });

  describe('telemetry filters (measurements and rate)', () => {
    const system = (robot_id: string, cpu_percent: number, ts = T0): TelemetryPoint => ({
      measurement: 'system',
      robot_id,
      ts,
      fields: { cpu_percent },
    });
    /** One telemetry turn at the hub's 10 Hz (two 20 Hz ticks). */
    const turn = (hub: LiveHub) => {
      hub.flush();
      hub.flush();
    };

    it('sends only the measurements a client asked for, and serialises nothing for the rest', () => {
      const { hub, connect } = setup();
      const narrow = connect();
      hub.subscribe(narrow.client, ['*'], ['telemetry'], { measurements: ['battery', 'system'] });
      hub.telemetry(battery('r1', 50));
      hub.telemetry(system('r1', 12));
      hub.telemetry(servo('r1', '1', 500));
      hub.telemetry(location('r1', 3));
      turn(hub);

      expect(narrow.socket.framesOf('telemetry').map((f) => f.measurement)).toEqual(['battery', 'system']);
      expect(hub.describe(narrow.client)).toEqual({
        robots: ['*'],
        channels: ['telemetry'],
        telemetry_robots: ['*'],
        measurements: ['battery', 'system'],
        telemetry_hz: null,
      });
      expect(hub.counters.frames_sent).toBe(2);
    });

    it("sends one robot's telemetry while status still comes for every robot (a robot's page)", () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['*'], ['telemetry', 'status']);
      hub.subscribe(client, ['*'], ['telemetry'], { telemetry_robots: ['r2'] });
      hub.telemetry(battery('r1', 1));
      hub.telemetry(battery('r2', 2));
      hub.event('status', status('r1'));
      turn(hub);
      expect(socket.frames().map((f) => [f.type, f.robot_id])).toEqual([
        ['status', 'r1'],
        ['telemetry', 'r2'],
      ]);
      expect(hub.describe(client).telemetry_robots).toEqual(['r2']);
      hub.subscribe(client, ['*'], ['telemetry'], { telemetry_robots: ['*'] });
      hub.telemetry(battery('r1', 3));
      turn(hub);
      expect(socket.framesOf('telemetry').map((f) => f.robot_id)).toEqual(['r2', 'r1']);
    });

    it('replaces the filter on each subscribe that carries one; `*` is every measurement again', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect();
      hub.subscribe(client, ['*'], ['telemetry'], { measurements: ['battery'] });
      hub.subscribe(client, ['*'], ['status']);
      hub.telemetry(system('r1', 1));
      hub.telemetry(battery('r1', 1));
      turn(hub);
      expect(socket.framesOf('telemetry').map((f) => f.measurement)).toEqual(['battery']);

      hub.subscribe(client, ['*'], ['telemetry'], { measurements: ['*'] });
      hub.telemetry(system('r1', 2));
      turn(hub);
      expect(socket.framesOf('telemetry').map((f) => f.measurement)).toEqual(['battery', 'system']);
      expect(hub.describe(client).measurements).toEqual(['*']);
    });

    it('at a lower rate sends the newest point of each series once per turn, missing no series', () => {
      const { hub, connect } = setup();
      const slow = connect();
      const fast = connect();
      hub.subscribe(slow.client, ['*'], ['telemetry'], { telemetry_hz: 2 });
      // 10 turns of the hub's 10 Hz = 1 s: system changes every turn, battery once, in the first turn.
      for (let i = 1; i <= 10; i++) {
        hub.telemetry(system('r1', i, T0 + i));
        if (i === 1) hub.telemetry(battery('r1', 77, T0 + i));
        turn(hub);
      }

      expect(fast.socket.framesOf('telemetry')).toHaveLength(11);
      const frames = slow.socket.framesOf('telemetry');
      // 2 Hz: at once after subscribing, then every fifth turn with the newest value of each series that
      // changed (the battery, which changed once, is not sent again).
      expect(frames.map((f) => [f.measurement, f.fields])).toEqual([
        ['system', { cpu_percent: 1 }],
        ['battery', { percent: 77 }],
        ['system', { cpu_percent: 6 }],
      ]);
      expect(hub.describe(slow.client).telemetry_hz).toBe(2);
    });

    it('throttles location (20 Hz) to the asked rate too', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect();
      hub.subscribe(client, ['*'], ['telemetry'], { telemetry_hz: 5 });
      for (let i = 1; i <= 20; i++) {
        hub.telemetry(location('r1', i, T0 + i));
        hub.flush();
      }
      expect(socket.framesOf('telemetry').map((f) => (f.fields as Record<string, number>).x_m)).toEqual([
        1, 5, 9, 13, 17,
      ]);
    });

    it('does not send a held series once the filter no longer wants it', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect();
      hub.subscribe(client, ['*'], ['telemetry'], { telemetry_hz: 1 });
      hub.telemetry(battery('r1', 1));
      hub.telemetry(system('r1', 1));
      turn(hub);
      hub.telemetry(battery('r1', 2));
      hub.telemetry(system('r1', 2));
      turn(hub);
      // Both held for the next turn; then the page asks for system only.
      hub.subscribe(client, ['*'], ['telemetry'], { measurements: ['system'] });
      turn(hub);
      expect(socket.framesOf('telemetry').map((f) => [f.measurement, f.fields])).toEqual([
        ['battery', { percent: 1 }],
        ['system', { cpu_percent: 1 }],
        ['system', { cpu_percent: 2 }],
      ]);
    });

    it('skips a backed-up slow client at its turn (counted), then carries on', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect();
      hub.subscribe(client, ['*'], ['telemetry'], { telemetry_hz: 5 });
      socket.bufferedAmount = SOFT + 1;
      hub.telemetry(battery('r1', 1));
      hub.telemetry(battery('r2', 1));
      turn(hub);
      turn(hub);
      expect(socket.framesOf('telemetry')).toHaveLength(0);
      expect(hub.counters.frames_skipped).toBe(2);
      socket.bufferedAmount = 0;
      hub.telemetry(battery('r1', 2));
      turn(hub);
      turn(hub);
      expect(socket.framesOf('telemetry').map((f) => (f.fields as Record<string, number>).percent)).toEqual([
        2,
      ]);
    });

    it('drops a point that cannot be serialised once, however many clients hold it', () => {
      const { hub, connect } = setup();
      const a = connect();
      const b = connect();
      hub.subscribe(a.client, ['*'], ['telemetry'], { telemetry_hz: 5 });
      hub.subscribe(b.client, ['*'], ['telemetry'], { telemetry_hz: 2 });
      hub.telemetry({
        measurement: 'battery',
        robot_id: 'r1',
        ts: T0,
        fields: { percent: BigInt(1) as unknown as number },
      });
      for (let i = 0; i < 5; i++) turn(hub);
      expect(hub.counters.frames_dropped).toBe(1);
      expect(a.socket.sent).toEqual([]);
      expect(b.socket.sent).toEqual([]);
    });
  });

  describe('subscriptions', () => {
    it('sends telemetry only to clients subscribed to the telemetry channel and that robot', () => {
      const { hub, connect } = setup();
      const all = connect(['*'], ['telemetry']);
      const onlyR1 = connect(['r1'], ['telemetry']);
      const statusOnly = connect(['*'], ['status']);
      hub.telemetry(battery('r1', 1));
      hub.telemetry(battery('r2', 2));
      hub.flush();
      hub.flush();

      expect(all.socket.framesOf('telemetry').map((f) => f.robot_id)).toEqual(['r1', 'r2']);
      expect(onlyR1.socket.framesOf('telemetry').map((f) => f.robot_id)).toEqual(['r1']);
      expect(statusOnly.socket.sent).toEqual([]);
    });

    it('sends events only to clients subscribed to their channel and robot', () => {
      const { hub, connect } = setup();
      const everyStatus = connect(['*'], ['status']);
      const r1Status = connect(['r1', 'r3'], ['status']);
      const logsOnly = connect(['*'], ['log']);
      hub.event('status', status('r1'));
      hub.event('status', status('r2'));
      hub.event('log', { robot_id: 'r2', ts: T0, level: 'info', message: 'hello' });

      expect(everyStatus.socket.framesOf('status').map((f) => f.robot_id)).toEqual(['r1', 'r2']);
      expect(r1Status.socket.frames().map((f) => [f.type, f.robot_id])).toEqual([['status', 'r1']]);
      expect(logsOnly.socket.frames().map((f) => [f.type, f.robot_id])).toEqual([['log', 'r2']]);
    });

    it('sends events that belong to no channel to every client', () => {
      const { hub, connect } = setup();
      const a = connect(['r1'], ['status']);
      const b = connect(['*'], ['telemetry']);
      hub.event('heartbeat', { ts: T0 });
      expect(a.socket.framesOf('heartbeat')).toHaveLength(1);
      expect(b.socket.framesOf('heartbeat')).toHaveLength(1);
    });

    it('widens to every robot when `*` is subscribed after named robots', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['r1'], ['status']);
      hub.subscribe(client, ['*'], ['status']);
      hub.event('status', status('r2'));
      expect(hub.describe(client)).toEqual({
        robots: ['*'],
        channels: ['status'],
        telemetry_robots: ['*'],
        measurements: ['*'],
        telemetry_hz: null,
      });
      expect(socket.framesOf('status').map((f) => f.robot_id)).toEqual(['r2']);
    });

    it('stops sending a robot once it is unsubscribed', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['r1', 'r2'], ['telemetry', 'status']);
      hub.unsubscribe(client, ['r1'], ['telemetry', 'status']);
      hub.event('status', status('r1'));
      hub.event('status', status('r2'));
      hub.telemetry(battery('r1', 1));
      hub.telemetry(battery('r2', 2));
      hub.flush();
      hub.flush();

      expect(hub.describe(client)).toEqual({
        robots: ['r2'],
        channels: ['telemetry', 'status'],
        telemetry_robots: ['*'],
        measurements: ['*'],
        telemetry_hz: null,
      });
      expect(socket.frames().map((f) => [f.type, f.robot_id])).toEqual([
        ['status', 'r2'],
        ['telemetry', 'r2'],
      ]);
    });

    it('stops sending a channel once it is unsubscribed for every robot (`*`)', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['*'], ['telemetry', 'status']);
      hub.unsubscribe(client, ['*'], ['telemetry']);
      hub.event('status', status('r1'));
      hub.telemetry(battery('r1', 1));
      hub.flush();
      hub.flush();

      expect(hub.describe(client).channels).toEqual(['status']);
      expect(socket.frames().map((f) => f.type)).toEqual(['status']);
    });

    it('forgets a removed client', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['*'], ['telemetry', 'status']);
      hub.remove(client);
      hub.event('status', status('r1'));
      hub.telemetry(battery('r1', 1));
      hub.flush();
      hub.flush();
      expect(hub.clientCount).toBe(0);
      expect(socket.sent).toEqual([]);
    });
  });

  describe('alert frames', () => {
    it('sends every alert change at once, none coalesced: 100 changes of one robot in a burst are 100 frames', () => {
      const { hub, connect } = setup();
      const { socket } = connect(['r1'], ['alert', 'telemetry']);
      for (let i = 1; i <= 100; i++) {
        hub.event('alert', { change: 'updated', alert: alert(i, 'r1') });
        hub.telemetry(battery('r1', i));
      }
      // Before any flush: the alerts are out, the telemetry waits for its tick (and is then one frame).
      expect(socket.framesOf('alert').map((f) => (f.alert as AlertView).id)).toEqual(
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      hub.flush();
      hub.flush();
      expect(socket.framesOf('telemetry')).toHaveLength(1);
    });

    it("filters alerts by their alert's robot, and sends a fleet alert (robot_id null) to every alert subscriber", () => {
      const { hub, connect } = setup();
      const r1 = connect(['r1'], ['alert']);
      const every = connect(['*'], ['alert']);
      const noAlerts = connect(['*'], ['status']);
      hub.event('alert', { change: 'raised', alert: alert(1, 'r1') });
      hub.event('alert', { change: 'raised', alert: alert(2, 'r2') });
      hub.event('alert', { change: 'raised', alert: alert(3, null) });

      const ids = (c: { socket: FakeLiveSocket }) =>
        c.socket.framesOf('alert').map((f) => (f.alert as AlertView).id);
      expect(ids(r1)).toEqual([1, 3]);
      expect(ids(every)).toEqual([1, 2, 3]);
      expect(noAlerts.socket.sent).toEqual([]);
    });

    it('still sends alerts to a client above the soft buffer limit (they are never skipped like telemetry)', () => {
      const { hub, connect } = setup();
      const slow = connect(['*'], ['alert']);
      slow.socket.bufferedAmount = SOFT + 1;
      hub.event('alert', { change: 'raised', alert: alert(1, 'r1') });
      expect(slow.socket.framesOf('alert')).toHaveLength(1);
      expect(hub.counters.frames_skipped).toBe(0);
    });
  });

  describe('slow clients', () => {
    it('skips telemetry for a client above the soft buffer limit, counted, but still sends it status events', () => {
      const { hub, connect } = setup();
      const slow = connect(['*'], ['telemetry', 'status']);
      const fast = connect(['*'], ['telemetry', 'status']);
      slow.socket.bufferedAmount = SOFT + 1;
      hub.telemetry(battery('r1', 1));
      hub.telemetry(location('r1', 1));
      hub.flush();
      hub.flush();
      hub.event('status', status('r1', 'offline'));

      expect(slow.socket.frames().map((f) => f.type)).toEqual(['status']);
      expect(fast.socket.framesOf('telemetry')).toHaveLength(2);
      expect(hub.counters.frames_skipped).toBe(2);
      expect(hub.counters.frames_sent).toBe(2 + 2);
      expect(hub.clientCount).toBe(2);
    });

    it('keeps every robot after `*` when a robot is named later', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['*'], ['status']);
      hub.subscribe(client, ['r1'], ['log']);
      hub.event('status', { robot_id: 'r2', status: 'online', ts: T0 });
      expect(socket.framesOf('status')).toHaveLength(1);
      expect(hub.describe(client)).toEqual({
        robots: ['*'],
        channels: ['status', 'log'],
        telemetry_robots: ['*'],
        measurements: ['*'],
        telemetry_hz: null,
      });
    });

    it('refuses to follow more than 1000 robots by name, changing nothing', () => {
      const { hub, connect } = setup();
      const { client } = connect(['r0'], ['status']);
      const many = Array.from({ length: 1000 }, (_, i) => `r${i + 1}`);
      expect(hub.subscribe(client, many, ['log'])).toBe(false);
      expect(hub.describe(client)).toEqual({
        robots: ['r0'],
        channels: ['status'],
        telemetry_robots: ['*'],
        measurements: ['*'],
        telemetry_hz: null,
      });
      expect(hub.subscribe(client, many.slice(0, 999), ['log'])).toBe(true);
    });

    it('counts as skipped only the frames a slow client subscribed to', () => {
      const { hub, connect } = setup();
      const slow = connect(['r1'], ['telemetry']);
      slow.socket.bufferedAmount = SOFT + 1;
      hub.telemetry(location('r1', 1));
      hub.telemetry(location('r2', 1));
      hub.telemetry(location('r3', 1));
      hub.flush();

      expect(hub.counters.frames_skipped).toBe(1);
    });

    it('sends a slow client the newest values again once it has caught up', () => {
      const { hub, connect } = setup();
      const { socket } = connect(['*'], ['telemetry']);
      socket.bufferedAmount = SOFT + 1;
      hub.telemetry(battery('r1', 1));
      hub.flush();
      hub.flush();
      socket.bufferedAmount = 0;
      hub.telemetry(battery('r1', 2));
      hub.flush();
      hub.flush();

      expect(socket.framesOf('telemetry').map((f) => f.fields)).toEqual([{ percent: 2 }]);
    });

    it('closes a client above the hard buffer limit with 1013 on the next event, removes and counts it', () => {
      const { hub, connect } = setup();
      const stuck = connect(['*'], ['status']);
      const healthy = connect(['*'], ['status']);
      stuck.socket.bufferedAmount = HARD + 1;

      hub.event('status', status('r1'));
      expect(stuck.socket.closed?.code).toBe(1013);
      expect(stuck.socket.sent).toEqual([]);
      expect(hub.clientCount).toBe(1);
      expect(hub.counters.clients_dropped).toBe(1);

      hub.event('status', status('r2'));
      expect(stuck.socket.sent).toEqual([]);
      expect(hub.counters.clients_dropped).toBe(1);
      expect(healthy.socket.framesOf('status').map((f) => f.robot_id)).toEqual(['r1', 'r2']);
    });

    it('keeps a client between the soft and the hard limit connected', () => {
      const { hub, connect } = setup();
      const { socket } = connect(['*'], ['status']);
      socket.bufferedAmount = HARD;
      hub.event('status', status('r1'));
      expect(socket.closed).toBeUndefined();
      expect(socket.framesOf('status')).toHaveLength(1);
    });
  });

  describe('frames', () => {
    it('are JSON objects with the event type beside the event body', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['*'], ['telemetry', 'status', 'scan']);
      hub.event('status', { robot_id: 'r1', status: 'error', ts: T0, reason: 'servo 3 overheated' });
      hub.event('scan', { robot_id: 'r1', ts: T0, code: 'QR-1', station_name: 'dock' });
      hub.telemetry(servo('r1', '3', 420));
      hub.flush();
      hub.flush();
      hub.reply(client, 'pong', { id: 'p1', ts: T0 });

      expect(socket.sent.map((s) => JSON.parse(s))).toEqual([
        { type: 'status', robot_id: 'r1', status: 'error', ts: T0, reason: 'servo 3 overheated' },
        { type: 'scan', robot_id: 'r1', ts: T0, code: 'QR-1', station_name: 'dock' },
        {
          type: 'telemetry',
          robot_id: 'r1',
          measurement: 'servos',
          ts: T0,
          tags: { servo_id: '3' },
          fields: { position: 420 },
        },
        { type: 'pong', id: 'p1', ts: T0 },
      ]);
    });
  });

  describe('a frame that cannot be serialised', () => {
    /** Built in memory, past the ingest's depth check: JSON.stringify's recursion overflows on it. */
    function tooDeepForStringify(levels = 100_000): unknown {
      let v: unknown = [];
      for (let i = 0; i < levels; i++) v = [v];
      return v;
    }

    it('is dropped and counted, and the other frames and clients carry on', () => {
      const { logger, lines } = capturingLogger();
      let clock = T0;
      const hub = new LiveHub({ softBufferBytes: SOFT, hardBufferBytes: HARD, logger, now: () => clock });
      const a = new FakeLiveSocket();
      const b = new FakeLiveSocket();
      hub.subscribe(hub.add(a), ['*'], ['job', 'vision']);
      hub.subscribe(hub.add(b), ['r1'], ['job']);

      expect(() =>
        hub.event('job', { robot_id: 'r1', ts: T0, data: { last_item: tooDeepForStringify() } }),
      ).not.toThrow();
      hub.event('vision', { robot_id: 'r1', ts: T0, data: { big: BigInt(1) } as Record<string, unknown> });
      hub.event('job', { robot_id: 'r1', ts: T0, data: { status: 'working' } });

      expect(hub.counters.frames_dropped).toBe(2);
      expect(a.frames()).toEqual([{ type: 'job', robot_id: 'r1', ts: T0, data: { status: 'working' } }]);
      expect(b.frames()).toEqual([{ type: 'job', robot_id: 'r1', ts: T0, data: { status: 'working' } }]);

      // Logged at once, then at most once per 10 s with the number not logged in between.
      const dropped = () => lines.filter((l) => l.msg === 'live: frame dropped, it cannot be serialised');
      expect(dropped()).toHaveLength(1);
      expect(dropped()[0]).toMatchObject({ level: 50, type: 'job', robot_id: 'r1', suppressed: 0 });
      clock += 10_000;
      hub.event('job', { robot_id: 'r1', ts: T0, data: { n: BigInt(2) } as Record<string, unknown> });
      expect(dropped()).toHaveLength(2);
      expect(dropped()[1]).toMatchObject({ suppressed: 1 });
      expect(hub.counters.frames_dropped).toBe(3);
    });

    it('as a reply is dropped and counted, and the client keeps its connection', () => {
      const { hub, connect } = setup();
      const { socket, client } = connect(['*'], ['status']);
      hub.reply(client, 'error', { code: 'bad_request', message: BigInt(3) as unknown as string });
      hub.reply(client, 'pong', { id: 'p1', ts: T0 });
      expect(hub.counters.frames_dropped).toBe(1);
      expect(socket.frames()).toEqual([{ type: 'pong', id: 'p1', ts: T0 }]);
      expect(socket.closed).toBeUndefined();
    });

    it('as telemetry drops that series only; the others of the same flush are sent', () => {
      const { hub, connect } = setup();
      const { socket } = connect();
      hub.telemetry({
        measurement: 'battery',
        robot_id: 'r1',
        ts: T0,
        fields: { percent: BigInt(1) as unknown as number },
      });
      hub.telemetry(battery('r2', 50));
      hub.flush();
      hub.flush();
      expect(hub.counters.frames_dropped).toBe(1);
      expect(socket.framesOf('telemetry').map((f) => f.robot_id)).toEqual(['r2']);
    });

    it('does not have to be serialised while no client wants it (a socket still authenticating)', () => {
      const hub = new LiveHub();
      hub.add(new FakeLiveSocket());
      hub.event('job', { robot_id: 'r1', ts: T0, data: { last_item: tooDeepForStringify() } });
      expect(hub.counters).toMatchObject({ frames_sent: 0, frames_dropped: 0 });
    });
  });

  describe('writes to the socket', () => {
    /** Records cork, send and uncork in order, as the socket sees them. */
    class CorkingSocket extends FakeLiveSocket {
      readonly steps: string[] = [];
      cork(): void {
        this.steps.push('cork');
      }
      uncork(): void {
        this.steps.push('uncork');
      }
      override send(data: string): void {
        super.send(data);
        this.steps.push('send');
      }
    }
    const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

    it("puts a drain's frames for a client and a burst of events in one write each (corked until the code that sent them has run)", async () => {
      const hub = new LiveHub();
      const socket = new CorkingSocket();
      hub.subscribe(hub.add(socket), ['*'], ['telemetry', 'status']);
      for (let r = 1; r <= 3; r++) hub.telemetry(battery(`r${r}`, 50));
      hub.flush();
      hub.flush();
      expect(socket.steps).toEqual(['cork', 'send', 'send', 'send']);
      await nextTick();
      expect(socket.steps.at(-1)).toBe('uncork');

      socket.steps.length = 0;
      hub.event('status', status('r1'));
      hub.event('status', status('r2', 'offline'));
      await nextTick();
      expect(socket.steps).toEqual(['cork', 'send', 'send', 'uncork']);
      expect(socket.framesOf('status').map((f) => f.robot_id)).toEqual(['r1', 'r2']);
    });

    it('writes frame by frame to a socket that cannot be corked', () => {
      const { hub, connect } = setup();
      const { socket } = connect(['*'], ['status']);
      hub.event('status', status('r1'));
      expect(socket.framesOf('status')).toHaveLength(1);
    });
  });
});
