import type {} from '@fastify/websocket';
import { LiveClientMessage, PROTOCOL_VERSION, roleMay } from '@tonypi/contracts';
import type { FastifyPluginAsync } from 'fastify';
import type { SessionClaims } from '../auth/auth';
import { type LiveHub, MAX_ROBOTS_PER_CLIENT } from './live-hub';

export interface LiveRoutesOptions {
  hub: LiveHub;
  /** A socket that has not authenticated within this time is closed. */
  authTimeoutMs?: number;
  heartbeatMs?: number;
}

const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

export const liveRoutes: FastifyPluginAsync<LiveRoutesOptions> = async (app, opts) => {
  const { hub } = opts;
  const authTimeoutMs = opts.authTimeoutMs ?? 5000;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;

  app.get(
    '/stream',
    {
      websocket: true,
      config: { permission: 'live:read', authInHandler: true },
      schema: {
        tags: ['live'],
        summary: 'Live stream (WebSocket)',
        description:
          'Authenticate with `Authorization: Bearer <token>` on the upgrade, or send `{"type":"auth","token":…}` ' +
          'first (within 5 s). Then `{"type":"subscribe","robots":["*"],"channels":["telemetry","status"]}`. ' +
          'Telemetry is latest-value at 10 Hz per robot and series (location 20 Hz); status, log, job, scan ' +
          'and vision events are never dropped. Permission: live:read.',
      },
    },
    async (socket, req) => {
      const client = hub.add(socket);
      let user: SessionClaims | undefined;
      let alive = true;

      const close = (code: number, reason: string) => {
        hub.remove(client);
        socket.close(code, reason);
      };
      const verify = (token: string): boolean => {
        try {
          const claims = app.jwt.verify<SessionClaims>(token);
          if (!roleMay(claims.role, 'live:read')) return false;
          user = claims;
          return true;
        } catch {
          return false;
        }
      };

      const header = req.headers.authorization;
      if (header?.startsWith('Bearer ') && !verify(header.slice(7))) {
        hub.reply(client, 'error', { code: 'unauthorized', message: 'Session token is invalid or expired' });
        return close(4401, 'Unauthorized');
      }
      hub.reply(client, 'hello', {
        protocol_version: PROTOCOL_VERSION,
        server_time: Date.now(),
        authenticated: user !== undefined,
      });
      const authTimer = setTimeout(() => {
        if (user) return;
        hub.reply(client, 'error', { code: 'unauthorized', message: 'No auth message within 5 s' });
        close(4401, 'Unauthorized');
      }, authTimeoutMs);
      // Protocol-level pings find dead peers; a JSON heartbeat tells browsers the stream is alive.
      const heartbeat = setInterval(() => {
        if (!alive) {
          hub.remove(client);
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
        if (user) hub.reply(client, 'heartbeat', { ts: Date.now() });
      }, heartbeatMs);
      socket.on('pong', () => {
        alive = true;
      });

      socket.on('message', (data, isBinary) => {
        alive = true;
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
          if (!verify(parsed.token)) {
            hub.reply(client, 'error', {
              code: 'unauthorized',
              message: 'Session token is invalid or expired',
            });
            return close(4401, 'Unauthorized');
          }
          hub.reply(client, 'hello', {
            protocol_version: PROTOCOL_VERSION,
            server_time: Date.now(),
            authenticated: true,
          });
          return;
        }
        if (!user) {
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
      });

      socket.on('close', () => {
        clearTimeout(authTimer);
        clearInterval(heartbeat);
        hub.remove(client);
      });
      socket.on('error', () => socket.terminate());
    },
  );
};
