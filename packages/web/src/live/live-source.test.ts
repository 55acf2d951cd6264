import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../test/fake-socket';
import { LiveSource } from './live-source';

function setup(opts: { silenceMs?: number } = {}) {
  let pending: (() => void) | undefined;
  const source = new LiveSource({
    url: 'ws://test/api/v1/stream',
    createSocket: (url) => new FakeSocket(url),
    schedule: (flush) => {
      pending = flush;
    },
    backoffMs: { first: 1000, max: 8000 },
    random: () => 1,
    ...opts,
  });
  /** Runs the animation frame the source asked for, if any. */
  const frame = () => {
    const f = pending;
    pending = undefined;
    f?.();
  };
  return { source, frame };
}

const telemetry = (robot_id: string, ts: number, cpu: number) => ({
  type: 'telemetry',
  robot_id,
  measurement: 'system',
  ts,
  fields: { cpu_percent: cpu },
});

describe('LiveSource', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('subscribes to the channels pages need once the server says hello, and only then', () => {
    const { source } = setup();
    source.need(['telemetry', 'status']);
    source.start();
    const socket = FakeSocket.latest();
    expect(socket.url).toBe('ws://test/api/v1/stream');
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(source.connection().state).toBe('live');
    expect(socket.sent).toEqual([{ type: 'subscribe', robots: ['*'], channels: ['telemetry', 'status'] }]);
  });

  it('counts users of a channel: unsubscribes when the last one lets go', () => {
    const { source } = setup();
    source.start();
    const socket = FakeSocket.latest();
    socket.open();
    const a = source.need(['alert']);
    const b = source.need(['alert', 'log']);
    a();
    a();
    expect(socket.sent).toEqual([
      { type: 'subscribe', robots: ['*'], channels: ['alert'] },
      { type: 'subscribe', robots: ['*'], channels: ['log'] },
    ]);
    b();
    expect(socket.sent.at(-1)).toEqual({ type: 'unsubscribe', robots: ['*'], channels: ['alert', 'log'] });
  });

  it('asks for the union of what telemetry users show, and widens or narrows as they come and go', () => {
    const { source } = setup();
    const overview = source.need(['telemetry', 'status'], { measurements: ['system', 'battery'], hz: 2 });
    source.start();
    const socket = FakeSocket.latest();
    socket.open();
    expect(socket.sent).toEqual([
      {
        type: 'subscribe',
        robots: ['*'],
        channels: ['telemetry', 'status'],
        telemetry_robots: ['*'],
        measurements: ['battery', 'system'],
        telemetry_hz: 2,
      },
    ]);
    // A second narrow user: the union, the higher rate.
    const card = source.need(['telemetry'], { measurements: ['job'], hz: 5 });
    expect(socket.sent.at(-1)).toEqual({
      type: 'subscribe',
      robots: ['*'],
      channels: ['telemetry'],
      telemetry_robots: ['*'],
      measurements: ['battery', 'job', 'system'],
      telemetry_hz: 5,
    });
    // A user of everything (of one robot: its page) widens it; when it leaves, the narrow ones are left.
    const robotPage = source.need(['telemetry', 'log'], { robots: ['r7'] });
    expect(socket.sent.at(-1)).toEqual({
      type: 'subscribe',
      robots: ['*'],
      channels: ['log'],
      telemetry_robots: ['*'],
      measurements: ['*'],
      telemetry_hz: 20,
    });
    robotPage();
    expect(socket.sent.slice(-2)).toEqual([
      { type: 'unsubscribe', robots: ['*'], channels: ['log'] },
      {
        type: 'subscribe',
        robots: ['*'],
        channels: ['telemetry'],
        telemetry_robots: ['*'],
        measurements: ['battery', 'job', 'system'],
        telemetry_hz: 5,
      },
    ]);
    card();
    overview();
    expect(socket.sent.at(-1)).toEqual({
      type: 'unsubscribe',
      robots: ['*'],
      channels: ['telemetry', 'status'],
    });
    const sent = socket.sent.length;
    // Nothing changes for a channel without telemetry.
    source.need(['alert']);
    expect(socket.sent.slice(sent)).toEqual([{ type: 'subscribe', robots: ['*'], channels: ['alert'] }]);
  });

  it('asks a new socket again for the narrowed telemetry after a reconnect', () => {
    const { source } = setup();
    source.need(['telemetry'], { robots: ['r7'], measurements: ['battery'], hz: 2 });
    source.start();
    FakeSocket.latest().open();
    FakeSocket.latest().drop(1006);
    vi.advanceTimersByTime(1000);
    const second = FakeSocket.latest();
    second.open();
    expect(second.sent).toEqual([
      {
        type: 'subscribe',
        robots: ['*'],
        channels: ['telemetry'],
        telemetry_robots: ['r7'],
        measurements: ['battery'],
        telemetry_hz: 2,
      },
    ]);
  });

  it('applies a burst of frames in one batch per animation frame: listeners hear once, the newest value wins', () => {
    const { source, frame } = setup();
    source.start();
    const socket = FakeSocket.latest();
    socket.open();
    const heard = vi.fn();
    source.store.subscribe(heard);
    const batches: number[] = [];
    source.listen('telemetry', (frames) => batches.push(frames.length));
    socket.frame(telemetry('r1', 1000, 10));
    socket.frame(telemetry('r1', 1100, 20));
    socket.frame(telemetry('r1', 1050, 99)); // older than the newest: not the current value
    socket.frame(telemetry('r2', 1000, 30));
    expect(source.store.value('r1', 'system', 'cpu_percent')).toBeUndefined();
    frame();
    expect(heard).toHaveBeenCalledTimes(1);
    expect(batches).toEqual([4]);
    expect(source.store.value('r1', 'system', 'cpu_percent')).toBe(20);
    expect(source.store.value('r2', 'system', 'cpu_percent')).toBe(30);
  });

  it('keeps servos apart by servo id and records status changes', () => {
    const { source, frame } = setup();
    source.start();
    const socket = FakeSocket.latest();
    socket.open();
    socket.frame({
      type: 'telemetry',
      robot_id: 'r1',
      measurement: 'servos',
      tags: { servo_id: '3' },
      ts: 1,
      fields: { temperature_c: 41 },
    });
    socket.frame({
      type: 'telemetry',
      robot_id: 'r1',
      measurement: 'servos',
      tags: { servo_id: '4' },
      ts: 1,
      fields: { temperature_c: 52 },
    });
    socket.frame({ type: 'status', robot_id: 'r1', status: 'emergency_stopped', ts: 2, reason: 'aisle' });
    frame();
    expect(source.store.value('r1', 'servos', 'temperature_c', '3')).toBe(41);
    expect(source.store.value('r1', 'servos', 'temperature_c', '4')).toBe(52);
    expect(source.store.get('r1')?.status).toEqual({ status: 'emergency_stopped', ts: 2, reason: 'aisle' });
  });

  it('ignores frames that are not JSON text, and stays up', () => {
    const { source, frame } = setup();
    source.start();
    const socket = FakeSocket.latest();
    socket.open();
    socket.raw('{not json');
    socket.raw(new ArrayBuffer(4));
    socket.frame(telemetry('r1', 1, 5));
    frame();
    expect(source.store.value('r1', 'system', 'cpu_percent')).toBe(5);
    expect(source.connection().state).toBe('live');
  });

  it('reconnects with growing delays after a drop, and subscribes again to what is needed', () => {
    const { source } = setup();
    source.need(['telemetry']);
    source.start();
    FakeSocket.latest().open();
    FakeSocket.latest().drop(1006);
    expect(source.connection()).toMatchObject({ state: 'reconnecting', attempts: 1 });
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.latest().drop(1006);
    expect(source.connection()).toMatchObject({ state: 'reconnecting', attempts: 2 });
    vi.advanceTimersByTime(1999);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    const third = FakeSocket.latest();
    expect(FakeSocket.all).toHaveLength(3);
    third.open();
    expect(source.connection()).toMatchObject({ state: 'live', attempts: 0 });
    expect(third.sent).toEqual([{ type: 'subscribe', robots: ['*'], channels: ['telemetry'] }]);
  });

  it('caps the delay, and "retry now" skips the wait', () => {
    const { source } = setup();
    source.start();
    for (let i = 0; i < 6; i++) {
      FakeSocket.latest().drop();
      vi.advanceTimersByTime(8000);
    }
    FakeSocket.latest().drop();
    const info = source.connection();
    expect(info.state).toBe('reconnecting');
    expect((info.retryAt ?? 0) - Date.now()).toBeLessThanOrEqual(8000);
    const before = FakeSocket.all.length;
    source.retryNow();
    expect(FakeSocket.all.length).toBe(before + 1);
  });

  it('stops for good when the server refuses the session (4401), without retrying', () => {
    const { source } = setup();
    source.start();
    FakeSocket.latest().open();
    FakeSocket.latest().drop(4401, 'Session expired');
    expect(source.connection()).toMatchObject({ state: 'unauthorized', reason: 'Session expired' });
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('takes a socket that went silent (no heartbeat) as dead and replaces it', () => {
    const { source } = setup({ silenceMs: 5000 });
    source.start();
    const first = FakeSocket.latest();
    first.open();
    vi.advanceTimersByTime(4000);
    first.frame({ type: 'heartbeat', ts: 1 });
    vi.advanceTimersByTime(4000);
    expect(source.connection().state).toBe('live');
    vi.advanceTimersByTime(1000);
    expect(first.closed?.code).toBe(4000);
    expect(source.connection()).toMatchObject({
      state: 'reconnecting',
      reason: 'no heartbeat from the server',
    });
  });

  it('closes the socket and never retries after stop (sign-out)', () => {
    const { source } = setup();
    source.start();
    const socket = FakeSocket.latest();
    socket.open();
    source.stop();
    expect(socket.closed?.code).toBe(1000);
    expect(source.connection().state).toBe('stopped');
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});

describe('LiveSource stopped while connecting', () => {
  beforeEach(() => {
    FakeSocket.all = [];
  });

  it('closes the socket once it opens rather than while it connects (no browser warning)', () => {
    const source = new LiveSource({
      url: 'ws://t',
      createSocket: (u) => new FakeSocket(u),
      schedule: () => {},
    });
    source.start();
    const socket = FakeSocket.latest();
    source.stop();
    expect(socket.closed).toBeUndefined();
    socket.readyState = 1;
    socket.onopen?.({});
    expect(socket.closed?.code).toBe(1000);
  });
});
