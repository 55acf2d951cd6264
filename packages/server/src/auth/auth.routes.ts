import { ErrorBody, LoginRequest, LoginResponse } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError } from '../http/api-error';
import { hashPassword, verifyPassword } from '../users/passwords';
import type { UsersRepository } from '../users/users.repository';

export interface AuthRoutesOptions {
  users: UsersRepository;
  sessionTtlS: number;
  /** Attempts per minute per client address (all usernames together). */
  loginRateLimit?: number;
}

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, opts) => {
  // Verifying against a real hash when the user does not exist keeps the response time the
  // same for both, so the login cannot be used to find out which usernames exist.
  const decoyHash = await hashPassword('decoy-password-that-never-matches');

  app.post(
    '/auth/login',
    {
      config: {
        permission: 'public',
        rateLimit: { max: opts.loginRateLimit ?? 10, timeWindow: '1 minute' },
      },
      schema: {
        tags: ['auth'],
        summary: 'Sign in and get a session token',
        description: 'Rate-limited per client address. Permission: public.',
        body: LoginRequest,
        response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (req) => {
      const user = await opts.users.findByUsername(req.body.username);
      const ok = await verifyPassword(user?.password_hash ?? decoyHash, req.body.password);
      if (!user || !ok || !user.is_active) {
        req.log.info({ username: req.body.username.slice(0, 50) }, 'login failed');
        throw new ApiError(401, 'invalid_credentials', 'Wrong username or password');
      }
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
