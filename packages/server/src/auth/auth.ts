import fastifyJwt from '@fastify/jwt';
import { type Permission, type Role, roleMay } from '@tonypi/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../http/api-error';

export interface SessionClaims {
  sub: string;
  username: string;
  role: Role;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: SessionClaims;
    user: SessionClaims;
  }
}

declare module 'fastify' {
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

  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    const internal = route.url.startsWith('/docs');
    if (!permission && !internal)
      throw new Error(`Route ${route.method} ${route.url} declares no permission`);
  });

  app.addHook('onRequest', async (req) => {
    const permission = req.routeOptions.config?.permission;
    if (!permission || permission === 'public' || req.routeOptions.config?.authInHandler) return;
    await authenticate(req);
    if (!roleMay(req.user.role, permission)) {
      throw new ApiError(403, 'forbidden', `Your role (${req.user.role}) may not ${permission}`);
    }
  });
});

export async function authenticate(req: FastifyRequest): Promise<void> {
  if (!req.headers.authorization) {
    throw new ApiError(401, 'unauthorized', 'Sign in first: send Authorization: Bearer <token>');
  }
  try {
    await req.jwtVerify();
  } catch {
    throw new ApiError(401, 'unauthorized', 'Session token is invalid or expired: sign in again');
  }
}
