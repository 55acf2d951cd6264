import {
  LIVE_CLOSE,
  LiveClientMessage,
  type LiveCloseCause,
  type LiveErrorCode,
  PROTOCOL_VERSION,
  roleMay,
} from '@tonypi/contracts';
import {
  type Session,
  type SessionRefusalReason,
  SessionRefused,
  type SessionRestriction,
} from '../auth/sessions';
import { type LiveClient, type LiveHub, type LiveSocket, MAX_ROBOTS_PER_CLIENT } from './live-hub';

/** What a session needs of its socket (the `ws` WebSocket fits). */
export interface LiveSessionSocket extends LiveSocket {
  /** A protocol-level ping; the peer's pong is reported with LiveSession.pong(). */
  ping(): void;
  /** Drops the connection without a close handshake. */
  terminate(): void;
}

/** What a client presents: whatever its upgrade request carried, or the token of an `auth` message. */
export type LiveCredential = { via: 'upgrade' } | { via: 'message'; token: string };

/**
 * Who is on the other end, and whether they still may be. `authenticate` is the one place a
 * credential becomes a session: undefined when the upgrade carried none; throws SessionRefused for
 * a bad one. The session itself checks the `live:read` permission.
 */
export interface LiveAuth {
  authenticate(credential: LiveCredential): Promise<Session | undefined>;
  /** Expiry and revocation; throws SessionRefused. */
  recheck(session: Session): Promise<void>;
  /** Milliseconds until the session expires (≤ 0: expired). */
  remainingMs(session: Session): number;
  /** Calls `onRecheck` whenever every open session should be checked again; returns the unwatch. */
  watch(onRecheck: () => void): () => void;
}

type TimerHandle = ReturnType<typeof setTimeout>;

/** Time as the session sees it (the system clock; tests fake it). */
export interface LiveClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

/** Looks the timer functions up at each call, so fake timers installed later are honoured. */
export const systemClock: LiveClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle),
};

export interface LiveSessionOptions {
  hub: LiveHub;
  auth: LiveAuth;
  logger: { error(obj: object, msg: string): void };
  clock?: LiveClock;
  /** A socket that has not authenticated within this time is closed. */
  authTimeoutMs?: number;
  /** How often the peer is pinged, the browser sent a heartbeat and the session checked again. */
  heartbeatMs?: number;
}

/** A frame as the `ws` library hands it over (text frames are Buffers), or a string. */
export type LiveFrameData = string | Buffer | ArrayBuffer | Buffer[];

export const LIVE_AUTH_TIMEOUT_MS = 5000;
export const LIVE_HEARTBEAT_MS = 15_000;
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
/** setTimeout takes at most 2^31-1 ms; a longer session is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const CLOSE_CAUSE: Record<SessionRefusalReason, LiveCloseCause> = {
  invalid: 'unauthorized',
  expired: 'expired',
  revoked: 'revoked',
};

/**
 * One live-stream connection's protocol, apart from the socket library: the auth window, signing
 * in by the upgrade or an `auth` message (again to renew), subscribe / unsubscribe / ping, bad
 * frames, the heartbeat, and the session checked at expiry, on every beat and on
 * `sessions.recheckAll()`; an ended session gets an `error` frame and close code 4401, a session
 * whose user must first change their temporary password an `error` frame and 4403.
 * Messages are handled one after another, in order: signing in is asynchronous, and a subscribe
 * sent right behind the auth message must find the session in place.
 */
export class LiveSession {
  private readonly hub: LiveHub;
  private readonly auth: LiveAuth;
  private readonly clock: LiveClock;
  private readonly logger: LiveSessionOptions['logger'];
  private readonly client: LiveClient;
  private session: Session | undefined;
  private alive = true;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  private expiryTimer: TimerHandle | undefined;
  private readonly authTimer: TimerHandle;
  private readonly heartbeat: TimerHandle;
  private readonly unwatch: () => void;

  constructor(
    private readonly socket: LiveSessionSocket,
    opts: LiveSessionOptions,
  ) {
    this.hub = opts.hub;
    this.auth = opts.auth;
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    const authTimeoutMs = opts.authTimeoutMs ?? LIVE_AUTH_TIMEOUT_MS;
    this.client = this.hub.add(socket);
    this.unwatch = this.auth.watch(() => void this.revalidate());

    this.enqueue(async () => {
      if (!(await this.signIn({ via: 'upgrade' }))) return;
      this.hello();
    });
    this.authTimer = this.clock.setTimeout(() => {
      if (this.session || this.closed) return;
      this.error('unauthorized', `No auth message within ${authTimeoutMs / 1000} s`);
      this.close('unauthorized');
    }, authTimeoutMs);
    // Protocol-level pings find dead peers; a JSON heartbeat tells browsers the stream is alive.
    // Each beat also checks the session again, so a revocation made elsewhere is seen within one beat.
    this.heartbeat = this.clock.setInterval(() => this.beat(), opts.heartbeatMs ?? LIVE_HEARTBEAT_MS);
  }

  /** Signed in now? */
  get authenticated(): boolean {
    return this.session !== undefined;
  }

  /** A frame from the client. */
  message(data: LiveFrameData, isBinary: boolean): void {
    this.alive = true;
    this.enqueue(() => this.handle(data, isBinary));
  }

  /** The peer answered a ping. */
  pong(): void {
    this.alive = true;
  }

  /** The socket closed (either side): stops every timer and leaves the hub. */
  ended(): void {
    this.closed = true;
    this.clock.clearTimeout(this.authTimer);
    this.clock.clearTimeout(this.expiryTimer);
    this.clock.clearInterval(this.heartbeat);
    this.unwatch();
    this.hub.remove(this.client);
  }

  private enqueue(work: () => Promise<void> | void): void {
    this.queue = this.queue
      .then(work)
      .catch((err: unknown) => this.logger.error({ err }, 'live stream message failed'));
  }

  private beat(): void {
    if (!this.alive) {
      this.closed = true;
      this.hub.remove(this.client);
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
    if (this.session) {
      this.hub.reply(this.client, 'heartbeat', { ts: this.clock.now() });
      void this.revalidate();
    }
  }

  private async handle(data: LiveFrameData, isBinary: boolean): Promise<void> {
    if (this.closed) return;
    if (isBinary || byteLength(data) > MAX_CLIENT_MESSAGE_BYTES) {
      this.error('bad_request', 'Send JSON text frames of at most 16 KiB');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text(data));
    } catch {
      this.error('bad_request', 'Not JSON');
      return;
    }
    const result = LiveClientMessage.safeParse(json);
    if (!result.success) {
      const message = result.error.issues
        .map((i) => `${i.path.join('.') || 'message'}: ${i.message}`)
        .join('; ');
      this.error('validation_error', message);
      return;
    }
    const msg = result.data;
    if (msg.type === 'auth') {
      // Also how a client renews its session before it expires: the new token replaces the old.
      if (await this.signIn({ via: 'message', token: msg.token })) this.hello();
      return;
    }
    if (!this.session) {
      this.error('unauthorized', 'Authenticate first');
      return;
    }
    if (msg.type === 'ping') {
      this.hub.reply(this.client, 'pong', { id: msg.id, ts: this.clock.now() });
      return;
    }
    if (msg.type === 'subscribe') {
      if (
        !this.hub.subscribe(this.client, msg.robots, msg.channels, {
          telemetry_robots: msg.telemetry_robots,
          measurements: msg.measurements,
          telemetry_hz: msg.telemetry_hz,
        })
      ) {
        this.error(
          'validation_error',
          `Follow at most ${MAX_ROBOTS_PER_CLIENT} robots by name; subscribe to "*" for all`,
        );
        return;
      }
    } else this.hub.unsubscribe(this.client, msg.robots, msg.channels);
    this.hub.reply(this.client, 'subscribed', this.hub.describe(this.client));
  }

  /**
   * Signs in with what the client presented. True when a session is in place, or (upgrade) none
   * was presented; false when refused, and then the socket is closed. Other errors propagate.
   */
  private async signIn(credential: LiveCredential): Promise<boolean> {
    try {
      const verified = await this.auth.authenticate(credential);
      if (!verified) return true;
      if (!roleMay(verified.role, 'live:read')) {
        throw new SessionRefused('invalid', `Your role (${verified.role}) may not read the live stream`);
      }
      if (verified.restriction) {
        this.restricted(verified.restriction);
        return false;
      }
      this.session = verified;
      this.scheduleExpiry();
      return true;
    } catch (err) {
      if (err instanceof SessionRefused) this.refuse(err);
      else throw err;
      return false;
    }
  }

  private hello(): void {
    this.hub.reply(this.client, 'hello', {
      protocol_version: PROTOCOL_VERSION,
      server_time: this.clock.now(),
      authenticated: this.session !== undefined,
    });
  }

  /** Still signed in? Expiry and revocation; closes the socket if not. */
  private async revalidate(): Promise<void> {
    const checked = this.session;
    if (!checked || this.closed) return;
    try {
      await this.auth.recheck(checked);
      if (this.session !== checked) return;
      if (checked.restriction) this.restricted(checked.restriction);
      else this.scheduleExpiry();
    } catch (err) {
      // A session renewed (a new auth message) while the old one was being checked stands.
      if (this.session !== checked) return;
      if (err instanceof SessionRefused) this.refuse(err);
      else this.logger.error({ err }, 'live stream: session check failed');
    }
  }

  private scheduleExpiry(): void {
    this.clock.clearTimeout(this.expiryTimer);
    const session = this.session;
    if (!session || this.closed) return;
    const wait = Math.min(Math.max(this.auth.remainingMs(session), 0), MAX_TIMER_MS);
    this.expiryTimer = this.clock.setTimeout(() => void this.revalidate(), wait);
  }

  private refuse(refusal: SessionRefused): void {
    this.error('unauthorized', refusal.message);
    this.close(CLOSE_CAUSE[refusal.reason]);
  }

  /** A session that counts but may not read the stream yet: signing in again would not help. */
  private restricted(restriction: SessionRestriction): void {
    this.error(restriction.code, restriction.message);
    this.close(restriction.code);
  }

  private error(code: LiveErrorCode, message: string): void {
    this.hub.reply(this.client, 'error', { code, message });
  }

  private close(cause: LiveCloseCause): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this.client);
    this.socket.close(LIVE_CLOSE[cause].code, LIVE_CLOSE[cause].reason);
  }
}

function byteLength(data: LiveFrameData): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

function text(data: LiveFrameData): string {
  if (typeof data === 'string') return data;
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return data instanceof ArrayBuffer ? Buffer.from(data).toString() : data.toString();
}
