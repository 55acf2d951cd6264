import type {} from '@fastify/websocket';
import { LiveClientMessage, PROTOCOL_VERSION, roleMay } from '@tonypi/contracts';
import type { FastifyPluginAsync } from 'fastify';
import type { RawData } from 'ws';
import { presentedToken } from '../auth/auth';
import { type Session, type SessionRefusalReason, SessionRefused } from '../auth/sessions';
import { ApiError } from '../errors';
import { type LiveHub, MAX_ROBOTS_PER_CLIENT } from './live-hub';

export interface LiveRoutesOptions {
  hub: LiveHub;
  /** A socket that has not authenticated within this time is closed. */
  authTimeoutMs?: number;
  heartbeatMs?: number;
}

const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** RFC 6455: the key is 16 random bytes in base64. */
const WEBSOCKET_KEY_RE = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Close code 4401 (unauthorized) and what the reason says. An `error` frame with code
 * `unauthorized` and a sentence comes first.
 */
const CLOSE_REASONS: Record<SessionRefusalReason, string> = {
  invalid: 'Unauthorized',
  expired: 'Session expired',
  revoked: 'Session revoked',
};

export const liveRoutes: FastifyPluginAsync<LiveRoutesOptions> = async (app, opts) => {
  const { hub } = opts;
  const authTimeoutMs = opts.authTimeoutMs ?? 5000;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;

  app.get(
    '/stream',
    {
      websocket: true,
      config: { permission: 'live:read', authInHandler: true },
      // Refusals before the upgrade, in the API's error envelope (the ws library's own are text/html).
      onRequest: async (req, reply) => {
        if (!req.ws) {
          reply.header('upgrade', 'websocket');
          throw new ApiError(
            426,
            'bad_request',
            'This is a WebSocket endpoint: connect with a WebSocket client',
          );
        }
        const version = req.headers['sec-websocket-version'];
        if (version !== '13' && version !== '8') {
          reply.header('sec-websocket-version', '13, 8');
          throw new ApiError(
            400,
            'bad_request',
            'Invalid WebSocket handshake: Sec-WebSocket-Version must be 13',
          );
        }
        if (!WEBSOCKET_KEY_RE.test(req.headers['sec-websocket-key'] ?? '')) {
          throw new ApiError(
            400,
            'bad_request',
            'Invalid WebSocket handshake: Sec-WebSocket-Key is not 16 bytes in base64',
          );
        }
      },
      schema: {
        tags: ['live'],
        summary: 'Live stream (WebSocket)',
        description:
          'Authenticate with `Authorization: Bearer <token>` on the upgrade, or send `{"type":"auth","token":…}` ' +
          'first (within 5 s). Then `{"type":"subscribe","robots":["*"],"channels":["telemetry","status"]}`. ' +
          'Telemetry is latest-value at 10 Hz per robot and series (location 20 Hz); status, log, job, scan ' +
          'and vision events are never dropped. When the session expires the socket gets an `error` frame ' +
          '(code `unauthorized`) and is closed with code 4401; send a new `auth` message before then to renew. ' +
          'Permission: live:read.',
      },
    },
    async (socket, req) => {
      const client = hub.add(socket);
      let session: Session | undefined;
      let alive = true;
      let closed = false;
      let expiryTimer: NodeJS.Timeout | undefined;

      const close = (code: number, reason: string) => {
        if (closed) return;
        closed = true;
        hub.remove(client);
        socket.close(code, reason);
      };
      const refuse = (refusal: SessionRefused) => {
        hub.reply(client, 'error', { code: 'unauthorized', message: refusal.message });
        close(4401, CLOSE_REASONS[refusal.reason]);
      };
      /** Still signed in? Expiry and revocation (Sessions' checks); closes the socket if not. */
      const revalidate = async () => {
        const checked = session;
        if (!checked || closed) return;
        try {
          await app.sessions.recheck(checked);
          if (session === checked) scheduleExpiry();
        } catch (err) {
          // A session renewed (a new auth message) while the old one was being checked stands.
          if (session !== checked) return;
          if (err instanceof SessionRefused) refuse(err);
          else req.log.error({ err }, 'live stream: session check failed');
        }
      };
      const scheduleExpiry = () => {
        clearTimeout(expiryTimer);
        if (!session || closed) return;
        // setTimeout takes at most 2^31-1 ms; a longer session is checked again then.
        const wait = Math.min(Math.max(app.sessions.remainingMs(session), 0), MAX_TIMER_MS);
        expiryTimer = setTimeout(() => void revalidate(), wait);
      };
      const signIn = async (token: string): Promise<boolean> => {
        try {
          const verified = await app.sessions.verify(token);
          if (!roleMay(verified.role, 'live:read')) {
            throw new SessionRefused('invalid', `Your role (${verified.role}) may not read the live stream`);
          }
          session = verified;
          scheduleExpiry();
          return true;
        } catch (err) {
          if (err instanceof SessionRefused) refuse(err);
          else throw err;
          return false;
        }
      };
      const unwatch = app.sessions.watch(() => void revalidate());

      // Messages are handled one after another, in order: signing in is asynchronous, and a
      // subscribe sent right behind the auth message must find the session in place.
      let queue: Promise<void> = Promise.resolve();
      const enqueue = (work: () => Promise<void> | void) => {
        queue = queue
          .then(work)
          .catch((err: unknown) => req.log.error({ err }, 'live stream message failed'));
      };

      // The upgrade's Authorization header, else a browser's session cookie (see auth.ts presentedToken).
      const presented = presentedToken(req.headers);
      enqueue(async () => {
        const token = presented?.token;
        if (presented !== undefined && !(token && (await signIn(token)))) {
          if (!closed) refuse(new SessionRefused('invalid', 'Session token is invalid: sign in again'));
          return;
        }
        hub.reply(client, 'hello', {
          protocol_version: PROTOCOL_VERSION,
          server_time: Date.now(),
          authenticated: session !== undefined,
        });
      });
      const authTimer = setTimeout(() => {
        if (session || closed) return;
        hub.reply(client, 'error', { code: 'unauthorized', message: 'No auth message within 5 s' });
        close(4401, 'Unauthorized');
      }, authTimeoutMs);
      // Protocol-level pings find dead peers; a JSON heartbeat tells browsers the stream is alive.
      // Each beat also checks the session again, so a revocation made elsewhere is seen within one beat.
      const heartbeat = setInterval(() => {
        if (!alive) {
          closed = true;
          hub.remove(client);
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
        if (session) {
          hub.reply(client, 'heartbeat', { ts: Date.now() });
          void revalidate();
        }
      }, heartbeatMs);
      socket.on('pong', () => {
        alive = true;
      });

      socket.on('message', (data, isBinary) => {
        alive = true;
        enqueue(() => handleMessage(data, isBinary));
      });
      const handleMessage = async (data: RawData, isBinary: boolean) => {
        if (closed) return;
        const size = Array.isArray(data)
          ? data.reduce((n, b) => n + b.length, 0)
          : (data as Buffer).byteLength;
        if (isBinary || size > MAX_CLIENT_MESSAGE_BYTES) {
          hub.reply(client, 'error', {
            code: 'bad_request',
            message: 'Send JSON text frames of at most 16 KiB',
          });
          return;
        }
        let parsed: LiveClientMessage;
        try {
          const result = LiveClientMessage.safeParse(JSON.parse(data.toString()));
          if (!result.success) {
            const message = result.error.issues
              .map((i) => `${i.path.join('.') || 'message'}: ${i.message}`)
              .join('; ');
            hub.reply(client, 'error', { code: 'validation_error', message });
            return;
          }
          parsed = result.data;
        } catch {
          hub.reply(client, 'error', { code: 'bad_request', message: 'Not JSON' });
          return;
        }
        if (parsed.type === 'auth') {
          // Also how a client renews its session before it expires: the new token replaces the old.
          if (!(await signIn(parsed.token))) return;
          hub.reply(client, 'hello', {
            protocol_version: PROTOCOL_VERSION,
            server_time: Date.now(),
            authenticated: true,
          });
          return;
        }
        if (!session) {
          hub.reply(client, 'error', { code: 'unauthorized', message: 'Authenticate first' });
          return;
        }
        if (parsed.type === 'ping') return hub.reply(client, 'pong', { id: parsed.id, ts: Date.now() });
        if (parsed.type === 'subscribe') {
          if (!hub.subscribe(client, parsed.robots, parsed.channels)) {
            hub.reply(client, 'error', {
              code: 'validation_error',
              message: `Follow at most ${MAX_ROBOTS_PER_CLIENT} robots by name; subscribe to "*" for all`,
            });
            return;
          }
        } else hub.unsubscribe(client, parsed.robots, parsed.channels);
        hub.reply(client, 'subscribed', hub.describe(client));
      };

      socket.on('close', () => {
        closed = true;
        clearTimeout(authTimer);
        clearTimeout(expiryTimer);
        clearInterval(heartbeat);
        unwatch();
        hub.remove(client);
      });
      socket.on('error', () => socket.terminate());
    },
  );
};
