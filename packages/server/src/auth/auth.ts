import fastifyJwt from '@fastify/jwt';
import { type Permission, roleMay } from '@tonypi/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors';
import { bearerToken, type Session, type SessionClaims, SessionRefused, Sessions } from './sessions';

export type { Session, SessionClaims } from './sessions';

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: SessionClaims;
    user: Session;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Verifies session tokens (REST and live stream alike). */
    sessions: Sessions;
  }
  interface FastifyContextConfig {
    /** Who may call the route: every route must say. */
    permission?: Permission;
    /** The handler authenticates itself (the live stream: browsers cannot set headers on a WebSocket). */
    authInHandler?: boolean;
  }
}

export interface AuthOptions {
  secret: string;
  sessionTtlS: number;
}

/**
 * JWT sessions and the guard. A route without a declared permission fails at start-up, so no
 * route is public by accident.
 */
export const authPlugin = fp<AuthOptions>(async (app: FastifyInstance, opts) => {
  await app.register(fastifyJwt, { secret: opts.secret, sign: { expiresIn: opts.sessionTtlS } });
  app.decorate(
    'sessions',
    new Sessions({ verifySignature: (token) => app.jwt.verify(token), ttlS: opts.sessionTtlS }),
  );

  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    const internal = route.url.startsWith('/docs');
    if (!permission && !internal)
      throw new Error(`Route ${route.method} ${route.url} declares no permission`);
  });

  app.addHook('onRequest', async (req) => {
    const permission = req.routeOptions.config?.permission;
    if (!permission || permission === 'public' || req.routeOptions.config?.authInHandler) return;
    await authenticate(req, app.sessions);
    if (!roleMay(req.user.role, permission)) {
      throw new ApiError(403, 'forbidden', `Your role (${req.user.role}) may not ${permission}`);
    }
  });
});

/** Sets `req.user` from the bearer token, or throws 401 unauthorized saying why. */
export async function authenticate(req: FastifyRequest, sessions: Sessions): Promise<void> {
  const token = bearerToken(req.headers.authorization);
  if (!token) {
    throw new ApiError(401, 'unauthorized', 'Sign in first: send Authorization: Bearer <token>');
  }
  try {
    req.user = await sessions.verify(token);
  } catch (err) {
    if (err instanceof SessionRefused) throw new ApiError(401, 'unauthorized', err.message);
    throw err;
  }
}
