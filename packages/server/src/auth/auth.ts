import fastifyJwt from '@fastify/jwt';
import { type Permission, roleMay } from '@tonypi/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors';
import { sessionCookieToken } from './session-cookie';
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
  interface FastifyRequest {
    /**
     * How the request authenticated: `cookie` (a browser's session cookie: mutating requests need the
     * CSRF check) or `bearer` (an Authorization header, which no other site can make a browser send).
     */
    credentialSource?: 'bearer' | 'cookie';
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
    // A temporary password first: whatever the role allows waits until the user has set their own.
    const restriction = req.user.restriction;
    if (restriction && permission !== 'self') throw new ApiError(403, restriction.code, restriction.message);
    if (!roleMay(req.user.role, permission)) {
      throw new ApiError(403, 'forbidden', `Your role (${req.user.role}) may not ${permission}`);
    }
  });
});

/**
 * The credential a request presents: the Authorization header's bearer token (a header that is there
 * but malformed presents `token: undefined`), else the session cookie's. Undefined when it presents none.
 * The REST guard and the live stream's upgrade read it alike.
 */
export function presentedToken(headers: {
  authorization?: string;
  cookie?: string;
}): { token: string | undefined; source: 'bearer' | 'cookie' } | undefined {
  if (headers.authorization !== undefined) {
    return { token: bearerToken(headers.authorization), source: 'bearer' };
  }
  const cookie = sessionCookieToken(headers.cookie);
  return cookie ? { token: cookie, source: 'cookie' } : undefined;
}

/**
 * Sets `req.user` from the bearer token or the session cookie (an API key is a bearer token too), or
 * throws 401 unauthorized saying why (403 account_disabled for a disabled user's session).
 */
export async function authenticate(req: FastifyRequest, sessions: Sessions): Promise<void> {
  const presented = presentedToken(req.headers);
  if (!presented?.token) {
    throw new ApiError(
      401,
      'unauthorized',
      presented
        ? 'Malformed Authorization header: send Authorization: Bearer <token>'
        : 'Sign in first: send Authorization: Bearer <token> (or the session cookie)',
    );
  }
  try {
    req.user = await sessions.verify(presented.token);
    req.credentialSource = presented.source;
  } catch (err) {
    if (err instanceof SessionRefused) {
      if (err.code === 'account_disabled') throw new ApiError(403, 'account_disabled', err.message);
      throw new ApiError(401, 'unauthorized', err.message);
    }
    throw err;
  }
}
