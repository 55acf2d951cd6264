import type {} from '@fastify/websocket';
import type { FastifyPluginAsync } from 'fastify';
import { presentedToken } from '../auth/auth';
import { SessionRefused, type Sessions } from '../auth/sessions';
import { websocketHandshake } from '../http/websocket-handshake';
import type { LiveHub } from './live-hub';
import { type LiveAuth, LiveSession, type LiveSessionSocket } from './live-session';

export interface LiveRoutesOptions {
  hub: LiveHub;
  /** A socket that has not authenticated within this time is closed. */
  authTimeoutMs?: number;
  heartbeatMs?: number;
}

/**
 * How a live-stream client signs in: a session token, from an `auth` message or the upgrade's
 * `Authorization: Bearer` header (a header that is not a bearer token is refused like a bad token).
 */
export function sessionsLiveAuth(sessions: Sessions, presented: ReturnType<typeof presentedToken>): LiveAuth {
  return {
    authenticate: async (credential) => {
      if (credential.via === 'message') return sessions.verify(credential.token);
      if (presented === undefined) return undefined;
      const token = presented.token;
      if (!token) throw new SessionRefused('invalid', 'Session token is invalid: sign in again');
      return sessions.verify(token);
    },
    recheck: (session) => sessions.recheck(session),
    remainingMs: (session) => sessions.remainingMs(session),
    watch: (onRecheck) => sessions.watch(onRecheck),
  };
}

/** `WS /api/v1/stream`: the handshake checks, then a LiveSession per socket. */
export const liveRoutes: FastifyPluginAsync<LiveRoutesOptions> = async (app, opts) => {
  const { hub } = opts;

  app.get(
    '/stream',
    {
      websocket: true,
      config: { permission: 'live:read', authInHandler: true },
      // Refusals before the upgrade, in the API's error envelope (the ws library's own are text/html).
      onRequest: websocketHandshake,
      schema: {
        tags: ['live'],
        summary: 'Live stream (WebSocket)',
        description:
          'Authenticate with `Authorization: Bearer <token>` on the upgrade, or send `{"type":"auth","token":…}` ' +
          'first (within 5 s). Then `{"type":"subscribe","robots":["*"],"channels":["telemetry","status"]}`. ' +
          'Telemetry is latest-value at 10 Hz per robot and series (location 20 Hz); status, log, job, scan ' +
          'and vision events are never dropped. When the session expires the socket gets an `error` frame ' +
          '(code `unauthorized`) and is closed with code 4401; send a new `auth` message before then to renew. ' +
          'A session signed in with a temporary password gets an `error` frame (code `password_change_required`) ' +
          'and close code 4403 until POST /api/v1/auth/password sets a new one. ' +
          'Permission: live:read.',
      },
    },
    (socket, req) => {
      // The connection the upgrade came on, which `ws` writes its frames to: the hub corks it for a drain.
      const raw = req.raw.socket;
      const live: LiveSessionSocket = {
        get bufferedAmount() {
          return socket.bufferedAmount;
        },
        send: (data) => socket.send(data),
        close: (code, reason) => socket.close(code, reason),
        ping: () => socket.ping(),
        terminate: () => socket.terminate(),
        cork: () => raw.cork(),
        uncork: () => raw.uncork(),
      };
      const session = new LiveSession(live, {
        hub,
        // The upgrade's Authorization header, else a browser's session cookie (see auth.ts presentedToken).
        auth: sessionsLiveAuth(app.sessions, presentedToken(req.headers)),
        logger: req.log,
        authTimeoutMs: opts.authTimeoutMs,
        heartbeatMs: opts.heartbeatMs,
      });
      socket.on('pong', () => session.pong());
      socket.on('message', (data, isBinary) => session.message(data, isBinary));
      socket.on('close', () => session.ended());
      socket.on('error', () => socket.terminate());
    },
  );
};
