import { LIVE_CLOSE, PROTOCOL_VERSION, type Role } from '@tonypi/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { presentedToken } from '../auth/auth';
import { type SessionClaims, Sessions } from '../auth/sessions';
import { capturingLogger, FakeLiveSocket } from '../test-fakes';
import { sessionsLiveAuth } from './live.routes';
import { LiveHub } from './live-hub';
import { LIVE_AUTH_TIMEOUT_MS, LIVE_HEARTBEAT_MS, LiveSession } from './live-session';

const T0 = Date.parse('2026-11-24T10:00:00Z');

beforeEach(() => {
  // setImmediate stays real: settle() uses it to let every pending promise run.
  vi.useFakeTimers({
    now: T0,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Lets every promise that can run now run (signing in and checks are asynchronous). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Moves the fake clock on, then lets what the timers started finish. */
async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await settle();
}

/** Tokens are opaque names here; the "signature check" looks them up. */
let tokens: Map<string, SessionClaims & { iat: number; exp: number }>;
beforeEach(() => {
  tokens = new Map();
});
function token(lifetimeS: number, role: Role = 'viewer', username = 'ada'): string {
  const iat = Math.floor(Date.now() / 1000);
  const name = `token-${tokens.size + 1}`;
  tokens.set(name, { sub: '1', sid: name, username, role, iat, exp: iat + lifetimeS });
  return name;
}

/** A socket whose peer answers every ping, unless `deadPeer`. */
function setup(opts: { authorization?: string; authTimeoutMs?: number; deadPeer?: boolean } = {}) {
  const hub = new LiveHub();
  const sessions = new Sessions({
    verifySignature: (t) => {
      const claims = tokens.get(t);
      if (!claims) throw new Error('bad signature');
      return claims;
    },
    ttlS: 24 * 3600,
  });
  const socket = new FakeLiveSocket();
  const { logger, lines } = capturingLogger();
  const session = new LiveSession(socket, {
    hub,
    auth: sessionsLiveAuth(sessions, presentedToken({ authorization: opts.authorization })),
    logger,
    authTimeoutMs: opts.authTimeoutMs,
  });
  if (!opts.deadPeer) socket.onPing = () => session.pong();
  const send = (message: unknown) =>
    session.message(Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)), false);
  /** Sends and lets the session handle it. */
  const says = async (message: unknown) => {
    send(message);
    await settle();
  };
  return { hub, sessions, socket, session, send, says, lines };
}

describe('LiveSession: signing in', () => {
  it('greets an unauthenticated socket, then signs in with an auth message', async () => {
    const { socket, says, session } = setup();
    await settle();
    expect(socket.frames()).toEqual([
      { type: 'hello', protocol_version: PROTOCOL_VERSION, server_time: T0, authenticated: false },
    ]);
    await says({ type: 'auth', token: token(3600) });
    expect(socket.framesOf('hello').at(-1)).toMatchObject({ authenticated: true });
    expect(session.authenticated).toBe(true);
  });

  it('signs in with the upgrade’s bearer header, greeting it authenticated', async () => {
    const { socket, session } = setup({ authorization: `Bearer ${token(3600)}` });
    await settle();
    expect(socket.frames()).toEqual([
      { type: 'hello', protocol_version: PROTOCOL_VERSION, server_time: T0, authenticated: true },
    ]);
    expect(session.authenticated).toBe(true);
  });

  it.each([
    ['a token that does not verify', 'Bearer forged'],
    ['a header that is not a bearer token', 'Basic YWRhOnB3'],
  ])(
    'closes at once with 4401 Unauthorized for %s on the upgrade, after an error frame',
    async (_, header) => {
      const { socket } = setup({ authorization: header });
      await settle();
      expect(socket.frames()).toEqual([
        { type: 'error', code: 'unauthorized', message: 'Session token is invalid: sign in again' },
      ]);
      expect(socket.closed).toEqual(LIVE_CLOSE.unauthorized);
    },
  );

  it('closes with 4401 Unauthorized on an auth message with a bad token', async () => {
    const { socket, says } = setup();
    await says({ type: 'auth', token: 'forged' });
    expect(socket.last()).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(socket.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('refuses a token whose role the contracts do not know, like a forged one', async () => {
    const { socket, says } = setup();
    await says({ type: 'auth', token: token(3600, 'superuser' as Role) });
    expect(socket.last()).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(socket.closed).toEqual(LIVE_CLOSE.unauthorized);
  });

  it('refuses messages before signing in, and keeps the socket for the auth message', async () => {
    const { socket, says } = setup();
    await says({ type: 'subscribe', robots: ['*'], channels: ['telemetry'] });
    expect(socket.last()).toEqual({ type: 'error', code: 'unauthorized', message: 'Authenticate first' });
    expect(socket.closed).toBeUndefined();
  });

  it('closes a socket that has not signed in when the auth window ends, not before', async () => {
    const { socket } = setup();
    await elapse(LIVE_AUTH_TIMEOUT_MS - 1);
    expect(socket.closed).toBeUndefined();
    await elapse(1);
    expect(socket.last()).toEqual({
      type: 'error',
      code: 'unauthorized',
      message: 'No auth message within 5 s',
    });
    expect(socket.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('keeps a socket that signed in within the auth window', async () => {
    const { socket, says } = setup();
    await elapse(LIVE_AUTH_TIMEOUT_MS - 100);
    await says({ type: 'auth', token: token(3600) });
    await elapse(1000);
    expect(socket.closed).toBeUndefined();
  });

  it('handles a subscribe sent right behind the auth message in order, with the session in place', async () => {
    const { socket, send } = setup();
    send({ type: 'auth', token: token(3600) });
    send({ type: 'subscribe', robots: ['r1'], channels: ['status'] });
    await settle();
    expect(socket.frames().map((f) => f.type)).toEqual(['hello', 'hello', 'subscribed']);
  });
});

describe('LiveSession: messages', () => {
  async function signedIn() {
    const s = setup({ authorization: `Bearer ${token(3600)}` });
    await settle();
    return s;
  }

  it('subscribes and unsubscribes, answering with what the client now gets', async () => {
    const { socket, says, hub } = await signedIn();
    await says({ type: 'subscribe', robots: ['r1', 'r2'], channels: ['telemetry', 'status'] });
    expect(socket.last()).toEqual({
      type: 'subscribed',
      robots: ['r1', 'r2'],
      channels: ['telemetry', 'status'],
      telemetry_robots: ['*'],
      measurements: ['*'],
      telemetry_hz: null,
    });
    await says({ type: 'unsubscribe', robots: ['r2'] });
    expect(socket.last()).toEqual({
      type: 'subscribed',
      robots: ['r1'],
      channels: ['telemetry', 'status'],
      telemetry_robots: ['*'],
      measurements: ['*'],
      telemetry_hz: null,
    });
    hub.event('status', { robot_id: 'r2', status: 'online', ts: T0 });
    hub.event('status', { robot_id: 'r1', status: 'online', ts: T0 });
    expect(socket.framesOf('status')).toEqual([{ type: 'status', robot_id: 'r1', status: 'online', ts: T0 }]);
  });

  it('narrows telemetry to measurements and a rate, and answers with them', async () => {
    const { socket, says, hub } = await signedIn();
    await says({
      type: 'subscribe',
      channels: ['telemetry'],
      telemetry_robots: ['*'],
      measurements: ['battery', 'system'],
      telemetry_hz: 2,
    });
    expect(socket.last()).toEqual({
      type: 'subscribed',
      robots: ['*'],
      channels: ['telemetry'],
      telemetry_robots: ['*'],
      measurements: ['battery', 'system'],
      telemetry_hz: 2,
    });
    hub.telemetry({ measurement: 'sensors', robot_id: 'r1', ts: T0, fields: { roll_deg: 1 } });
    hub.telemetry({ measurement: 'battery', robot_id: 'r1', ts: T0, fields: { percent: 50 } });
    for (let i = 0; i < 10; i++) hub.flush();
    expect(socket.framesOf('telemetry').map((f) => f.measurement)).toEqual(['battery']);
  });

  it('refuses following more than 1000 robots by name, changing nothing', async () => {
    const { socket, says } = await signedIn();
    const many = Array.from({ length: 1000 }, (_, i) => `r${i}`);
    await says({ type: 'subscribe', robots: many, channels: ['status'] });
    await says({ type: 'subscribe', robots: ['one_more'], channels: ['status'] });
    expect(socket.last()).toEqual({
      type: 'error',
      code: 'validation_error',
      message: 'Follow at most 1000 robots by name; subscribe to "*" for all',
    });
  });

  it('answers a ping with a pong carrying its id and the time', async () => {
    const { socket, says } = await signedIn();
    await says({ type: 'ping', id: 'p1' });
    expect(socket.last()).toEqual({ type: 'pong', id: 'p1', ts: T0 });
  });

  it.each([
    ['text that is not JSON', 'not json', { code: 'bad_request', message: 'Not JSON' }],
    [
      'a message of the wrong shape, naming the field',
      { type: 'subscribe', channels: ['weather'] },
      { code: 'validation_error', message: expect.stringContaining('channels.0') },
    ],
    [
      'an unknown measurement, naming it',
      { type: 'subscribe', channels: ['telemetry'], measurements: ['weather'] },
      { code: 'validation_error', message: expect.stringContaining('measurements.0') },
    ],
    [
      'an empty telemetry robot list',
      { type: 'subscribe', channels: ['telemetry'], telemetry_robots: [] },
      { code: 'validation_error', message: expect.stringContaining('telemetry_robots') },
    ],
    [
      'a telemetry rate above 20 Hz',
      { type: 'subscribe', channels: ['telemetry'], telemetry_hz: 50 },
      { code: 'validation_error', message: expect.stringContaining('telemetry_hz') },
    ],
    [
      'an unknown message type',
      { type: 'teleport' },
      { code: 'validation_error', message: expect.stringContaining('type') },
    ],
  ])('answers %s with an error frame and keeps the socket', async (_, message, error) => {
    const { socket, says } = await signedIn();
    await says(message);
    expect(socket.last()).toEqual({ type: 'error', ...error });
    await says({ type: 'ping' });
    expect(socket.last()).toMatchObject({ type: 'pong' });
    expect(socket.closed).toBeUndefined();
  });

  it('refuses binary frames and frames over 16 KiB with bad_request', async () => {
    const { socket, session } = await signedIn();
    session.message(Buffer.from('{"type":"ping"}'), true);
    session.message(Buffer.from(JSON.stringify({ type: 'ping', id: 'x'.repeat(16 * 1024) })), false);
    await settle();
    expect(socket.framesOf('error')).toEqual([
      { type: 'error', code: 'bad_request', message: 'Send JSON text frames of at most 16 KiB' },
      { type: 'error', code: 'bad_request', message: 'Send JSON text frames of at most 16 KiB' },
    ]);
    expect(socket.closed).toBeUndefined();
  });
});

describe('LiveSession: a session that ends while the socket is open', () => {
  it('is closed with 4401 "Session expired" at the token’s expiry, after an error frame, and not before', async () => {
    // 50 s: between two heartbeats (which check the session too), so the expiry timer is what closes it.
    const { socket } = setup({ authorization: `Bearer ${token(50)}` });
    await settle();
    await elapse(49_999);
    expect(socket.closed).toBeUndefined();
    await elapse(1);
    expect(socket.last()).toEqual({
      type: 'error',
      code: 'unauthorized',
      message: 'Session expired: sign in again',
    });
    expect(socket.closed).toEqual({ code: 4401, reason: 'Session expired' });
  });

  it('closes a session that expires before the first heartbeat at its expiry', async () => {
    const { socket } = setup({ authorization: `Bearer ${token(10)}` });
    await settle();
    await elapse(9_999);
    expect(socket.closed).toBeUndefined();
    await elapse(1);
    expect(socket.closed).toEqual(LIVE_CLOSE.expired);
    expect(socket.pings).toBe(0);
  });

  it('stays open past the first token’s expiry when the client renews with a new token', async () => {
    const { socket, says } = setup({ authorization: `Bearer ${token(60)}` });
    await settle();
    await elapse(30_000);
    await says({ type: 'auth', token: token(3600) });
    await elapse(60_000);
    expect(socket.closed).toBeUndefined();
    expect(socket.framesOf('hello')).toHaveLength(2);
  });

  it('is closed with "Session revoked" when a check refuses it on recheckAll(), the others stay', async () => {
    const signedOut = new Set<string>();
    const { sessions, socket } = setup({ authorization: `Bearer ${token(3600, 'viewer', 'leaver')}` });
    sessions.addCheck((s) => (signedOut.has(s.username) ? 'You signed out' : undefined));
    await settle();
    sessions.recheckAll();
    await settle();
    expect(socket.closed).toBeUndefined();
    signedOut.add('leaver');
    sessions.recheckAll();
    await settle();
    expect(socket.last()).toEqual({ type: 'error', code: 'unauthorized', message: 'You signed out' });
    expect(socket.closed).toEqual(LIVE_CLOSE.revoked);
  });

  it('sees a revocation made without recheckAll() at the next heartbeat', async () => {
    let revoked = false;
    const { sessions, socket } = setup({ authorization: `Bearer ${token(3600)}` });
    sessions.addCheck(() => (revoked ? 'Your account was disabled' : undefined));
    await settle();
    revoked = true;
    await elapse(LIVE_HEARTBEAT_MS);
    expect(socket.closed).toEqual(LIVE_CLOSE.revoked);
  });

  it('keeps a session renewed while the old one was being checked, when that check refuses the old one', async () => {
    let holdOld = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { sessions, socket, says } = setup({ authorization: `Bearer ${token(3600, 'viewer', 'old')}` });
    sessions.addCheck(async (s) => {
      if (s.username !== 'old' || !holdOld) return undefined;
      await gate;
      return 'Old session gone';
    });
    await settle();
    holdOld = true;
    sessions.recheckAll();
    await says({ type: 'auth', token: token(3600, 'viewer', 'new') });
    release();
    await settle();
    expect(socket.closed).toBeUndefined();
    expect(socket.framesOf('hello').at(-1)).toMatchObject({ authenticated: true });
  });
});

describe('LiveSession: heartbeat and closing', () => {
  it('pings every 15 s and sends a signed-in client a heartbeat frame; a peer that answers stays', async () => {
    const { socket } = setup({ authorization: `Bearer ${token(3600)}` });
    await settle();
    await elapse(LIVE_HEARTBEAT_MS - 1);
    expect(socket.pings).toBe(0);
    await elapse(1);
    expect(socket.pings).toBe(1);
    expect(socket.last()).toEqual({ type: 'heartbeat', ts: T0 + LIVE_HEARTBEAT_MS });
    await elapse(LIVE_HEARTBEAT_MS * 10);
    expect(socket.pings).toBe(11);
    expect(socket.terminated).toBe(false);
  });

  it('pings a socket that has not signed in, without a heartbeat frame', async () => {
    const { socket } = setup({ authTimeoutMs: LIVE_HEARTBEAT_MS * 2 });
    await settle();
    await elapse(LIVE_HEARTBEAT_MS);
    expect(socket.pings).toBe(1);
    expect(socket.framesOf('heartbeat')).toEqual([]);
  });

  it('terminates a peer that answered neither ping nor with any frame for a whole beat', async () => {
    const { socket, hub } = setup({ authorization: `Bearer ${token(3600)}`, deadPeer: true });
    await settle();
    await elapse(LIVE_HEARTBEAT_MS);
    expect(socket.terminated).toBe(false);
    await elapse(LIVE_HEARTBEAT_MS);
    expect(socket.terminated).toBe(true);
    expect(hub.clientCount).toBe(0);
  });

  it('counts any frame from the peer as a sign of life', async () => {
    const { socket, send } = setup({ authorization: `Bearer ${token(3600)}`, deadPeer: true });
    await settle();
    await elapse(LIVE_HEARTBEAT_MS);
    send({ type: 'ping' });
    await elapse(LIVE_HEARTBEAT_MS);
    expect(socket.terminated).toBe(false);
  });

  it('stops every timer and leaves the hub when the socket closes', async () => {
    const { socket, session, hub, sessions } = setup();
    await settle();
    session.ended();
    expect(hub.clientCount).toBe(0);
    sessions.recheckAll();
    await elapse(LIVE_HEARTBEAT_MS * 3);
    expect(vi.getTimerCount()).toBe(0);
    expect(socket.closed).toBeUndefined();
    expect(socket.pings).toBe(0);
  });

  it('logs a sign-in that fails for another reason than a refusal, and sends no greeting', async () => {
    const hub = new LiveHub();
    const socket = new FakeLiveSocket();
    const { logger, lines } = capturingLogger();
    new LiveSession(socket, {
      hub,
      logger,
      auth: {
        authenticate: async () => {
          throw new Error('database down');
        },
        recheck: async () => undefined,
        remainingMs: () => 0,
        watch: () => () => undefined,
      },
    });
    await settle();
    expect(socket.frames()).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'live stream message failed' }));
  });
});
