import { LIVE_CHANNELS, MAX_PAYLOAD_BYTES } from '@tonypi/contracts';
import { type Logger, pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../core/event-bus';
import { LiveHub } from '../live/live-hub';
import { relayToLive } from '../live/live-relay';
import { RobotRegistry } from '../robots/robot-registry';
import { capturingLogger, FakeLiveSocket, FakeRobotsRepository, FakeTelemetryStore } from '../test-fakes';
import { IngestPipeline } from './ingest-pipeline';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const logger = pino({ level: 'silent' });

const registries: RobotRegistry[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) await r.stop();
});

function setup(
  opts: { queueLimit?: number; autoRegister?: boolean; maxBatchPoints?: number; logger?: Logger } = {},
) {
  const store = new FakeTelemetryStore();
  const repo = new FakeRobotsRepository();
  const live = new LiveHub();
  const browser = new FakeLiveSocket();
  live.subscribe(live.add(browser), ['*'], LIVE_CHANNELS);
  let clock = T0;
  const now = () => clock;
  // Wired as the robots and live modules wire them: both follow the ingest's events.
  const events = new EventBus({ logger });
  const registry = new RobotRegistry({
    repo: repo.asRepository(),
    logger,
    autoRegister: opts.autoRegister ?? true,
    resetStatusesOnStart: true,
    offlineAfterMs: 30_000,
    events,
    now,
  });
  registry.follow(events);
  relayToLive(events, live);
  registries.push(registry);
  const pipeline = new IngestPipeline({
    store,
    admission: registry,
    events,
    logger: opts.logger ?? logger,
    queueLimit: opts.queueLimit ?? 1000,
    clockSkewMaxMs: 300_000,
    maxBatchPoints: opts.maxBatchPoints,
    now,
  });
  const send = (topic: string, payload: unknown) =>
    pipeline.handle(
      topic,
      Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    );
  /** One message with one battery point; `percent` tells them apart in the store. */
  const sendBattery = (percent: number, robot = 'r1') =>
    send(`tonypi/${robot}/battery`, { ts: clock, percent });
  const storedPercents = () => store.stored.map((p) => p.fields.percent);
  return {
    store,
    repo,
    events,
    live,
    browser,
    registry,
    pipeline,
    send,
    sendBattery,
    storedPercents,
    setClock: (ms: number) => {
      clock = ms;
    },
  };
}

describe('IngestPipeline', () => {
  describe('a valid message', () => {
    it('queues its points for the store and writes them on flush()', async () => {
      const { pipeline, store, send } = setup();
      send('tonypi/r1/telemetry', {
        ts: T0 - 100,
        battery: { percent: 80 },
        location: { x_m: 1, y_m: 2 },
      });
      expect(pipeline.stats()).toMatchObject({
        messages_accepted: 1,
        points_received: 2,
        queue_points: 2,
        points_stored: 0,
      });
      expect(store.stored).toEqual([]);

      await pipeline.flush();
      expect(store.stored.map((p) => [p.robot_id, p.measurement, p.ts, p.fields])).toEqual([
        ['r1', 'battery', T0 - 100, { percent: 80 }],
        ['r1', 'location', T0 - 100, { x_m: 1, y_m: 2 }],
      ]);
      expect(pipeline.stats()).toMatchObject({ points_stored: 2, queue_points: 0, flushes: 1 });
    });

    it('tells the robot registry (online, registered on its flush) and the live stream', async () => {
      const { registry, repo, live, browser, send } = setup();
      send('tonypi/r1/telemetry', { ts: T0, battery: { percent: 80 }, location: { x_m: 1, y_m: 2 } });

      expect(registry.get('r1')).toMatchObject({ status: 'online', messages: 1, location: { x: 1, y: 2 } });
      expect(browser.framesOf('status')).toEqual([
        expect.objectContaining({ robot_id: 'r1', status: 'online' }),
      ]);
      live.flush();
      live.flush();
      expect(browser.framesOf('telemetry').map((f) => [f.measurement, f.fields])).toEqual([
        ['location', { x_m: 1, y_m: 2 }],
        ['battery', { percent: 80 }],
      ]);

      await registry.flush();
      expect(repo.registered.flat().map((r) => r.robot_id)).toEqual(['r1']);
    });

    it('publishes the decoded message, and its structured event by kind, on the event bus', () => {
      const { events, send } = setup();
      const got: Array<[string, unknown]> = [];
      for (const type of ['robot.message', 'robot.log', 'robot.scan', 'robot.command_response'] as const) {
        events.subscribe(type, (e) => got.push([type, e]));
      }
      send('tonypi/r1/log', { ts: T0, level: 'warning', message: 'low battery' });
      send('tonypi/r1/scan', { ts: T0, code: 'QR-7', station_name: 'A' });
      expect(got).toEqual([
        ['robot.message', expect.objectContaining({ robot_id: 'r1', channel: 'log', received_at: T0 })],
        [
          'robot.log',
          { robot_id: 'r1', ts: T0, level: 'warning', message: 'low battery', source: undefined },
        ],
        ['robot.message', expect.objectContaining({ robot_id: 'r1', channel: 'scan' })],
        ['robot.scan', { robot_id: 'r1', ts: T0, code: 'QR-7', station_name: 'A', action: undefined }],
      ]);
    });

    it("publishes a robot's command response for the command domain (it is not stored or relayed live)", async () => {
      const { events, send, pipeline, store, browser, live } = setup();
      const responses: unknown[] = [];
      events.subscribe('robot.command_response', (r) => responses.push(r));
      send('tonypi/r1/command/response', {
        ts: T0,
        command_id: 'cmd-1',
        status: 'succeeded',
        message: 'done',
        result: { moved_m: 0.5 },
      });
      expect(responses).toEqual([
        {
          robot_id: 'r1',
          ts: T0,
          command_id: 'cmd-1',
          status: 'succeeded',
          success: undefined,
          message: 'done',
          data: { command_id: 'cmd-1', status: 'succeeded', message: 'done', result: { moved_m: 0.5 } },
        },
      ]);
      await pipeline.flush();
      live.flush();
      live.flush();
      expect(store.stored).toEqual([]);
      expect(browser.sent.map((f) => JSON.parse(f).type)).toEqual(['status']);
    });

    it('stores and relays a message whose other subscriber throws: the failure is counted, nothing lost', async () => {
      const { events, sendBattery, pipeline, store, registry } = setup();
      events.subscribe('robot.message', () => {
        throw new Error('a buggy subscriber');
      });
      sendBattery(42);
      await pipeline.flush();
      expect(store.stored.map((p) => p.fields.percent)).toEqual([42]);
      expect(registry.get('r1')?.status).toBe('online');
      expect(pipeline.stats().messages_accepted).toBe(1);
      expect(events.subscriberErrors()).toEqual({ 'robot.message': 1 });
    });

    it('writes at once, without waiting for flush(), when maxBatchPoints points are waiting', async () => {
      const { pipeline, store, sendBattery } = setup({ maxBatchPoints: 3 });
      sendBattery(1);
      sendBattery(2);
      expect(store.appendCalls).toBe(0);
      sendBattery(3);
      expect(store.appendCalls).toBe(1);
      await pipeline.flush();
      expect(store.stored).toHaveLength(3);
    });

    it('uses the receive time for a robot clock off by more than clockSkewMaxMs, counted', async () => {
      const { pipeline, store, send } = setup();
      send('tonypi/r1/battery', { ts: T0 - 3_600_000, percent: 50 });
      await pipeline.flush();
      expect(store.stored[0]?.ts).toBe(T0);
      expect(pipeline.stats().clock_skew_corrected).toBe(1);
    });
  });

  describe('rejections', () => {
    const cases: Array<{ reason: string; topic: string; payload: unknown }> = [
      { reason: 'bad_topic', topic: 'devices/r1/battery', payload: { percent: 1 } },
      { reason: 'bad_robot_id', topic: 'tonypi/not ok!/battery', payload: { percent: 1 } },
      { reason: 'unknown_channel', topic: 'tonypi/r1/weather', payload: { percent: 1 } },
      {
        reason: 'oversize',
        topic: 'tonypi/r1/battery',
        payload: `{"note":"${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`,
      },
      { reason: 'bad_json', topic: 'tonypi/r1/battery', payload: '{"percent": ' },
      { reason: 'not_an_object', topic: 'tonypi/r1/battery', payload: '[1, 2]' },
      { reason: 'invalid_payload', topic: 'tonypi/r1/battery', payload: { percent: 'full' } },
      { reason: 'robot_id_mismatch', topic: 'tonypi/r1/battery', payload: { robot_id: 'r2', percent: 1 } },
    ];

    it.each(cases)(
      'counts a $reason message under its reason, without throwing',
      async ({ reason, topic, payload }) => {
        const { pipeline, send, registry, store, browser } = setup();
        expect(() => send(topic, payload)).not.toThrow();
        expect(() => send(topic, payload)).not.toThrow();

        const stats = pipeline.stats();
        expect(stats.rejected).toEqual({ [reason]: 2 });
        expect(stats).toMatchObject({ messages_rejected: 2, messages_accepted: 0, queue_points: 0 });
        await pipeline.flush();
        expect(store.stored).toEqual([]);
        expect(registry.size).toBe(0);
        expect(browser.sent).toEqual([]);
      },
    );

    it('counts a message from an unregistered robot as unknown_robot when auto-registration is off', () => {
      const { pipeline, sendBattery, registry } = setup({ autoRegister: false });
      expect(() => sendBattery(1, 'stranger')).not.toThrow();
      expect(pipeline.stats().rejected).toEqual({ unknown_robot: 1 });
      expect(registry.get('stranger')).toBeUndefined();
    });

    it('refuses a message about robot X from a client whose id is not X as acl_denied: X keeps its state', async () => {
      const { pipeline, registry, store } = setup();
      pipeline.handle('tonypi/r1/status', Buffer.from('{"status":"online"}'), 'all', 'r1');
      pipeline.handle('tonypi/r1/status', Buffer.from('{"status":"maintenance"}'), 'all', 'intruder');
      pipeline.handle('tonypi/status/r1', Buffer.from('{"robot_id":"r1","status":"offline"}'), 'all', 'x');
      pipeline.handle('tonypi/r1/battery', Buffer.from('{"percent":5}'), 'all', 'intruder');
      expect(pipeline.stats().rejected).toEqual({ acl_denied: 3 });
      expect(registry.get('r1')?.status).toBe('online');
      await pipeline.flush();
      expect(store.stored).toEqual([]);
    });

    it('checks the payload robot of the shared legacy topics against the client id too', () => {
      const { pipeline, registry } = setup();
      pipeline.handle('tonypi/battery', Buffer.from('{"robot_id":"r2","percentage":50}'), 'all', 'r1');
      expect(pipeline.stats().rejected).toEqual({ acl_denied: 1 });
      expect(registry.get('r2')).toBeUndefined();
      pipeline.handle('tonypi/battery', Buffer.from('{"robot_id":"r2","percentage":50}'), 'all', 'r2');
      expect(registry.get('r2')?.status).toBe('online');
    });

    it('counts a message it cannot decode because of a bug as invalid_payload, without throwing', () => {
      const { pipeline } = setup();
      expect(() => pipeline.handle('tonypi/r1/battery', undefined as unknown as Buffer)).not.toThrow();
      expect(pipeline.stats().rejected).toEqual({ invalid_payload: 1 });
    });

    it('keeps accepting valid messages after rejected ones', async () => {
      const { pipeline, send, sendBattery, store } = setup();
      send('tonypi/r1/battery', 'not json');
      sendBattery(7);
      await pipeline.flush();
      expect(store.stored.map((p) => p.fields.percent)).toEqual([7]);
    });
  });

  it('ignores server → robot topics, counted as ignored_outbound and not as rejections', () => {
    const { pipeline, send, registry } = setup();
    send('tonypi/r1/command', { command_id: 'c1', type: 'stop' });
    send('tonypi/r1/config', { rate_hz: 5 });
    send('tonypi/commands/r1', { command: 'stop' });
    send('tonypi/system/broadcast', { message: 'hello' });

    expect(pipeline.stats()).toMatchObject({
      ignored_outbound: 4,
      messages_rejected: 0,
      messages_accepted: 0,
      rejected: {},
    });
    expect(registry.size).toBe(0);
  });

  it("does not count the server's own publishes on those topics (a command, an answer to a scan)", () => {
    const { pipeline } = setup();
    const own = (topic: string, payload: unknown) =>
      pipeline.handle(topic, Buffer.from(JSON.stringify(payload)), 'all', undefined, true);
    own('tonypi/r1/command', { command_id: 'c1', type: 'stop' });
    own('tonypi/items/r1', { robot_id: 'r1', qr: 'A-1', found: false, message: 'unknown code' });
    expect(pipeline.stats()).toMatchObject({
      ignored_outbound: 0,
      messages_rejected: 0,
      messages_accepted: 0,
    });
  });

  describe('overload', () => {
    it('sheds points beyond the queue limit while the store is behind, counting the batch being written', async () => {
      const { pipeline, store, sendBattery, storedPercents } = setup({ queueLimit: 5 });
      sendBattery(1);
      sendBattery(2);
      sendBattery(3);
      const slow = store.hold();
      const writing = pipeline.flush();
      // 1-3 are being written and still count: room for two more.
      sendBattery(4);
      sendBattery(5);
      sendBattery(6);
      sendBattery(7);
      sendBattery(8);

      expect(pipeline.stats()).toMatchObject({
        messages_accepted: 8,
        points_received: 8,
        points_shed: 3,
        queue_points: 5,
        rejected: { overload: 3 },
      });

      slow.release();
      await writing;
      expect(pipeline.stats().queue_points).toBe(2);
      await pipeline.flush();
      expect(storedPercents()).toEqual([1, 2, 3, 4, 5]);
      expect(pipeline.stats()).toMatchObject({ points_stored: 5, points_shed: 3, queue_points: 0 });
    });

    it('still applies the status and delivers the events of messages whose points it sheds', () => {
      const { pipeline, registry, browser, send, sendBattery } = setup({ queueLimit: 1 });
      sendBattery(1);
      send('tonypi/r1/status', { status: 'error', cpu_percent: 97, ip_address: '10.0.0.5' });
      send('tonypi/r1/job', { status: 'in_progress', task_name: 'pick', percent: 40 });
      send('tonypi/r1/log', { level: 'warn', message: 'gripper slipping' });
      send('tonypi/r1/scan', { code: 'QR-7', station_name: 'dock' });

      expect(pipeline.stats()).toMatchObject({ points_shed: 2, rejected: { overload: 2 }, queue_points: 1 });
      expect(registry.get('r1')).toMatchObject({ status: 'error', ip_address: '10.0.0.5' });
      expect(browser.framesOf('status').map((f) => f.status)).toEqual(['online', 'error']);
      expect(browser.framesOf('job')).toEqual([
        expect.objectContaining({ robot_id: 'r1', data: expect.objectContaining({ percent: 40 }) }),
      ]);
      expect(browser.framesOf('log')).toEqual([
        expect.objectContaining({ robot_id: 'r1', level: 'warning', message: 'gripper slipping' }),
      ]);
      expect(browser.framesOf('scan')).toEqual([expect.objectContaining({ code: 'QR-7' })]);
    });
  });

  describe('roles, when several servers share an external broker', () => {
    const battery = (percent: number) => Buffer.from(JSON.stringify({ ts: T0, percent }));

    it('observe: updates the registry and the live view, counts rejections, stores nothing', async () => {
      const { pipeline, store, registry, live, browser } = setup();
      pipeline.handle('tonypi/r1/battery', battery(50), 'observe');
      pipeline.handle('tonypi/r1/battery', Buffer.from('{'), 'observe');
      live.flush();
      live.flush();
      await pipeline.flush();

      expect(store.stored).toEqual([]);
      expect(registry.get('r1')?.status).toBe('online');
      expect(browser.framesOf('telemetry')).toHaveLength(1);
      expect(pipeline.stats()).toMatchObject({
        messages_accepted: 1,
        messages_rejected: 1,
        points_received: 0,
      });
    });

    it('store: stores the points only, leaving registry, live view and rejection counts to the observer', async () => {
      const { pipeline, storedPercents, registry, live, browser } = setup();
      pipeline.handle('tonypi/r1/battery', battery(60), 'store');
      pipeline.handle('tonypi/r1/battery', Buffer.from('{'), 'store');
      pipeline.handle('tonypi/r1/command', Buffer.from('{}'), 'store');
      live.flush();
      live.flush();
      await pipeline.flush();

      expect(storedPercents()).toEqual([60]);
      expect(registry.get('r1')).toBeUndefined();
      expect(browser.framesOf('telemetry')).toEqual([]);
      expect(pipeline.stats()).toMatchObject({
        messages_accepted: 0,
        messages_rejected: 0,
        ignored_outbound: 0,
        points_stored: 1,
      });
    });

    it('all (the default): does both', async () => {
      const { pipeline, storedPercents, registry } = setup();
      pipeline.handle('tonypi/r1/battery', battery(70));
      await pipeline.flush();
      expect(storedPercents()).toEqual([70]);
      expect(registry.get('r1')?.status).toBe('online');
    });
  });

  describe('store failures', () => {
    it('keeps a batch whose write failed and writes it, in order, with the next flush', async () => {
      const { pipeline, store, sendBattery, storedPercents } = setup({ queueLimit: 10 });
      sendBattery(1);
      sendBattery(2);
      store.failWith = new Error('disk full');

      await expect(pipeline.flush()).resolves.toBeUndefined();
      expect(pipeline.stats()).toMatchObject({
        store_errors: 1,
        store_ok: false,
        store_error: 'disk full',
        queue_points: 2,
        points_stored: 0,
      });

      sendBattery(3);
      store.failWith = undefined;
      await pipeline.flush();
      expect(storedPercents()).toEqual([1, 2, 3]);
      expect(pipeline.stats()).toMatchObject({
        points_stored: 3,
        points_shed: 0,
        queue_points: 0,
        store_ok: true,
        store_error: null,
      });
    });

    it('writes again only what a partly successful write did not store: none is stored twice', async () => {
      const { pipeline, store, sendBattery, storedPercents } = setup();
      for (const percent of [1, 2, 3, 4, 5]) sendBattery(percent);
      store.storeOnly(2);

      await pipeline.flush();
      expect(storedPercents()).toEqual([1, 2]);
      expect(pipeline.stats()).toMatchObject({
        store_errors: 1,
        store_ok: false,
        points_stored: 2,
        queue_points: 3,
      });

      await pipeline.flush();
      expect(storedPercents()).toEqual([1, 2, 3, 4, 5]);
      expect(pipeline.stats()).toMatchObject({
        points_stored: 5,
        points_shed: 0,
        queue_points: 0,
        store_ok: true,
      });
    });

    it('logs the first store error at once, then one line per 10 s with the count left out', async () => {
      const { logger: capturing, lines } = capturingLogger();
      const { pipeline, store, sendBattery, setClock } = setup({ logger: capturing });
      const storeLines = () => lines.filter((l) => String(l.msg).startsWith('telemetry store'));
      sendBattery(1);
      store.failWith = new Error('disk full');

      // Every flush fails for 9.9 s.
      for (let ms = 0; ms < 10_000; ms += 100) {
        setClock(T0 + ms);
        await pipeline.flush();
      }
      expect(storeLines()).toEqual([
        expect.objectContaining({ level: 50, msg: 'telemetry store write failed', suppressed: 0 }),
      ]);
      expect(pipeline.stats().store_errors).toBe(100);

      setClock(T0 + 10_000);
      await pipeline.flush();
      expect(storeLines()).toHaveLength(2);
      expect(storeLines()[1]).toMatchObject({ level: 50, suppressed: 99, err: { message: 'disk full' } });

      setClock(T0 + 10_100);
      await pipeline.flush();
      store.failWith = undefined;
      setClock(T0 + 10_200);
      await pipeline.flush();
      expect(storeLines().slice(2)).toEqual([
        expect.objectContaining({ level: 30, msg: 'telemetry store writes succeed again', suppressed: 1 }),
      ]);
    });

    it('keeps a failed batch within the queue limit: the batch counted while it was written', async () => {
      const { pipeline, store, sendBattery, storedPercents } = setup({ queueLimit: 4 });
      sendBattery(1);
      sendBattery(2);
      sendBattery(3);
      const slow = store.hold();
      const writing = pipeline.flush();
      sendBattery(4);
      sendBattery(5);
      expect(pipeline.stats()).toMatchObject({ queue_points: 4, points_shed: 1 });
      slow.fail(new Error('connection lost'));
      await writing;

      expect(pipeline.stats()).toMatchObject({
        store_errors: 1,
        points_shed: 1,
        queue_points: 4,
        rejected: { overload: 1 },
      });
      await pipeline.flush();
      expect(storedPercents()).toEqual([1, 2, 3, 4]);
    });
  });

  describe('stop()', () => {
    it('writes everything still waiting, including what arrived during a write in progress', async () => {
      const { pipeline, store, sendBattery, storedPercents } = setup();
      sendBattery(1);
      sendBattery(2);
      const slow = store.hold();
      void pipeline.flush();
      sendBattery(3);
      sendBattery(4);
      const stopping = pipeline.stop();
      slow.release();
      await stopping;

      expect(storedPercents()).toEqual([1, 2, 3, 4]);
      expect(pipeline.stats().queue_points).toBe(0);
    });

    it('waits and tries again while the store fails: a store back in a second loses nothing', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout'] });
      try {
        const { pipeline, store, sendBattery, storedPercents } = setup();
        sendBattery(1);
        sendBattery(2);
        store.failWith = new Error('database is locked');
        setTimeout(() => {
          store.failWith = undefined;
        }, 500);

        const stopping = pipeline.stop();
        await vi.runAllTimersAsync();
        await stopping;
        expect(storedPercents()).toEqual([1, 2]);
        expect(pipeline.stats()).toMatchObject({ points_stored: 2, points_shed: 0, queue_points: 0 });
      } finally {
        vi.useRealTimers();
      }
    });

    it('gives up after four retries, logs the points it lost as an error, counts them as shed', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout'] });
      try {
        const { logger: capturing, lines } = capturingLogger();
        const { pipeline, store, sendBattery } = setup({ logger: capturing });
        sendBattery(1);
        sendBattery(2);
        store.failWith = new Error('disk full');

        const stopping = pipeline.stop();
        await vi.runAllTimersAsync();
        await stopping;
        expect(store.appendCalls).toBe(5);
        expect(pipeline.stats()).toMatchObject({ points_stored: 0, points_shed: 2, queue_points: 0 });
        expect(lines).toContainEqual(
          expect.objectContaining({
            level: 50,
            msg: 'telemetry points not stored at shutdown',
            points: 2,
            store_error: 'disk full',
          }),
        );
      } finally {
        vi.useRealTimers();
      }
    });

    it('ends with the points lost since the start: shed while the queue was full and not stored at the end', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout'] });
      try {
        const { logger: capturing, lines } = capturingLogger();
        const { pipeline, store, sendBattery } = setup({ logger: capturing, queueLimit: 2 });
        store.failWith = new Error('disk full');
        sendBattery(1);
        sendBattery(2);
        sendBattery(3);
        const stopping = pipeline.stop();
        await vi.runAllTimersAsync();
        await stopping;
        expect(lines).toContainEqual(
          expect.objectContaining({
            level: 50,
            msg: 'telemetry points lost since the start: 3 of 3',
            points_received: 3,
            points_stored: 0,
            points_lost: 3,
            shed_queue_full: 1,
            not_stored_at_shutdown: 2,
          }),
        );
      } finally {
        vi.useRealTimers();
      }
    });

    it('says so at the end when every point was stored', async () => {
      const { logger: capturing, lines } = capturingLogger();
      const { pipeline, sendBattery } = setup({ logger: capturing });
      sendBattery(1);
      await pipeline.stop();
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 30,
          msg: 'telemetry points lost since the start: none',
          points_received: 1,
          points_stored: 1,
          points_lost: 0,
        }),
      );
    });

    it('gives a store that waits out a backoff its chance to recover at stop', async () => {
      const { pipeline, store, sendBattery, storedPercents } = setup();
      let retried = 0;
      const unavailable = new Error('telemetry database unavailable; next reopen in 30 s');
      Object.assign(store, { retryNow: () => retried++ });
      store.failWith = unavailable;
      sendBattery(1);
      await pipeline.flush();
      expect(pipeline.stats().queue_points).toBe(1);
      store.failWith = undefined;
      await pipeline.stop();
      expect(retried).toBe(1);
      expect(storedPercents()).toEqual([1]);
    });

    it('reports a store that says it is unavailable as not ok, with its reason, before any write fails', () => {
      const { pipeline, store } = setup();
      let reason: string | null = null;
      Object.assign(store, { unavailable: () => reason });
      expect(pipeline.stats()).toMatchObject({ store_ok: true, store_error: null });
      reason = 'database has been invalidated';
      expect(pipeline.stats()).toMatchObject({
        store_ok: false,
        store_error: 'database has been invalidated',
      });
    });

    it('stops the flush timer that start() set up', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      try {
        const { pipeline, store, sendBattery } = setup();
        pipeline.start();
        sendBattery(1);
        vi.advanceTimersByTime(100);
        expect(store.appendCalls).toBe(1);
        await pipeline.stop();
        sendBattery(2);
        vi.advanceTimersByTime(1000);
        expect(store.appendCalls).toBe(1);
        expect(pipeline.stats().queue_points).toBe(1);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('lag figures', () => {
    it('reports none before the first write, then event time → stored percentiles and the write time', async () => {
      const { pipeline, store, send, setClock } = setup();
      expect(pipeline.stats().store_lag_ms).toEqual({ p50: null, p99: null });

      for (const age of [100, 200, 300]) send('tonypi/r1/battery', { ts: T0 - age, percent: age });
      store.onAppend = () => setClock(T0 + 40);
      await pipeline.flush();

      const stats = pipeline.stats();
      expect(stats.store_lag_ms).toEqual({ p50: 240, p99: 340 });
      expect(stats.last_flush_ms).toBe(40);
    });

    it('takes no samples from a partly stored batch, and the right ones afterwards', async () => {
      const { pipeline, store, send, setClock } = setup();
      for (const age of [100, 200, 300]) send('tonypi/r1/battery', { ts: T0 - age, percent: age });
      store.storeOnly(1);
      await pipeline.flush();
      await pipeline.flush();
      expect(pipeline.stats()).toMatchObject({ points_stored: 3, store_lag_ms: { p50: null, p99: null } });

      send('tonypi/r1/battery', { ts: T0 - 50, percent: 1 });
      setClock(T0 + 10);
      await pipeline.flush();
      expect(pipeline.stats().store_lag_ms).toEqual({ p50: 60, p99: 60 });
    });
  });
});
