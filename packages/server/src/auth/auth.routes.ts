import { ErrorBody, LoginRequest, LoginResponse } from '@tonypi/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../errors';
import { hashPassword, verifyPassword } from '../users/passwords';
import type { UsersRepository } from '../users/users.repository';
import { DeviceCookies } from './device-cookie';
import { type LoginAttempt, LoginThrottle } from './login-throttle';
import { bearerToken } from './sessions';

export interface AuthRoutesOptions {
  users: UsersRepository;
  sessionTtlS: number;
  /** The session signing secret: device cookies are signed with a key derived from it. */
  secret: string;
  /** Failed sign-ins per address, account and device (tests pass their own clock). */
  throttle?: LoginThrottle;
}

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, opts) => {
  // Verifying against a real hash when the user does not exist keeps the response time the
  // same for both, so the login cannot be used to find out which usernames exist.
  const decoyHash = await hashPassword('decoy-password-that-never-matches');
  const throttle = opts.throttle ?? new LoginThrottle();
  const devices = new DeviceCookies({ secret: opts.secret });

  /**
   * A client that signed in as this user before: it holds a device cookie for the username, or
   * a still-valid session of the same user.
   */
  const trustedDevice = async (req: FastifyRequest, username: string): Promise<string | undefined> => {
    const device = devices.deviceFor(req.headers.cookie, username);
    if (device) return device;
    const token = bearerToken(req.headers.authorization);
    if (!token) return undefined;
    const session = await app.sessions.verify(token).catch(() => undefined);
    return session?.username === username ? `session:${session.sub}` : undefined;
  };

  app.post(
    '/auth/login',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Sign in and get a session token',
        description:
          'Failed sign-ins are throttled per client address and per account, with a wait that doubles ' +
          'with each failure (429 with Retry-After), alike for unknown users. A successful sign-in sets a ' +
          'device cookie (httpOnly); a client that sends it, or a valid session of the same user, may sign ' +
          'in while the account is locked to others. Permission: public.',
        body: LoginRequest,
        response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const attempt: LoginAttempt = {
        address: req.ip,
        username,
        trustedDevice: await trustedDevice(req, username),
      };
      const { waitMs, locks } = throttle.begin(attempt);
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        reply.header('retry-after', String(seconds));
        throw new ApiError(429, 'rate_limited', `Too many failed sign-ins: try again in ${seconds} s`, {
          retry_after_s: seconds,
        });
      }
      const user = await opts.users.findByUsername(username);
      const ok = await verifyPassword(user?.password_hash ?? decoyHash, password);
      if (!user || !ok || !user.is_active) {
        const who = { username, address: req.ip, trusted: Boolean(attempt.trustedDevice) };
        req.log.info(who, 'login failed');
        // One line per lock, not per refused attempt: a lock holds the next failure back, so these are few.
        const lockedMs = Math.max(locks.account, locks.address, locks.device);
        if (lockedMs > 0) {
          const locked = Object.entries(locks).flatMap(([kind, ms]) => (ms > 0 ? [kind] : []));
          req.log.warn(
            { ...who, locked, locked_s: Math.ceil(lockedMs / 1000) },
            'login locked after repeated failures',
          );
        }
        throw new ApiError(401, 'invalid_credentials', 'Wrong username or password');
      }
      throttle.succeeded(attempt);
      reply.header('set-cookie', devices.setCookie(devices.issue(user.username), req.protocol === 'https'));
      const access_token = app.jwt.sign({ sub: user.id, username: user.username, role: user.role });
      return {
        access_token,
        token_type: 'bearer' as const,
        expires_in: opts.sessionTtlS,
        user: { id: user.id, username: user.username, email: user.email, role: user.role },
      };
    },
  );
};
