import {
  ErrorBody,
  LoginRequest,
  LoginResponse,
  MeResponse,
  PasswordChangeRequest,
  SessionResponse,
} from '@tonypi/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import { ApiError } from '../errors';
import type { UsersRepository } from '../users/users.repository';
import { authenticate, presentedToken } from './auth';
import type { AuthService } from './auth.service';
import { DeviceCookies } from './device-cookie';
import { clearedSessionCookie, sessionCookie } from './session-cookie';

export interface AuthRoutesOptions {
  service: AuthService;
  users: UsersRepository;
  sessionTtlS: number;
  /** The session signing secret: device cookies are signed with a key derived from it. */
  secret: string;
}

/** The cookie gets `Secure` when the request came over HTTPS (as Fastify sees it: req.protocol). */
const overHttps = (req: FastifyRequest) => req.protocol === 'https';

/** Sets cookies, keeping any set before (Fastify joins repeated Set-Cookie headers into a list). */
function setCookies(reply: FastifyReply, ...cookies: string[]): void {
  const before = reply.getHeader('set-cookie');
  const list = before === undefined ? [] : Array.isArray(before) ? before.map(String) : [String(before)];
  reply.header('set-cookie', [...list, ...cookies]);
}

function rethrowWithRetryAfter(reply: FastifyReply, err: unknown): never {
  if (err instanceof ApiError && err.code === 'rate_limited') {
    const seconds = (err.details as { retry_after_s?: number } | undefined)?.retry_after_s;
    if (seconds) reply.header('retry-after', String(seconds));
  }
  throw err;
}

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, opts) => {
  const { service } = opts;
  const devices = new DeviceCookies({ secret: opts.secret });
  // People's sessions end on the server; open live-stream sockets of an ended one close at once.
  app.sessions.addCheck(service.check);
  service.onSessionsEnded(() => app.sessions.recheckAll());

  /**
   * A client that signed in as this user before: it holds a device cookie for the username, or
   * a still-valid session of the same user (bearer or session cookie).
   */
  const trustedDevice = async (req: FastifyRequest, username: string): Promise<string | undefined> => {
    const device = devices.deviceFor(req.headers.cookie, username);
    if (device) return device;
    const token = presentedToken(req.headers)?.token;
    if (!token) return undefined;
    const session = await app.sessions.verify(token).catch(() => undefined);
    return session?.kind === 'user' && session.username === username ? `session:${session.sub}` : undefined;
  };

  app.post(
    '/auth/login',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Sign in and get a session token',
        description:
          'Returns the bearer token for API clients and sets the session cookie `tonypi_session` for browsers ' +
          '(HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS) holding the same token. Failed sign-ins are ' +
          'throttled per client address and per account, with a wait that doubles with each failure (429 with ' +
          'Retry-After), alike for unknown users. A wrong password and an unknown user get the same 401; a ' +
          'disabled account with the right password gets 403 account_disabled. A successful sign-in also sets ' +
          'a device cookie (httpOnly); a client that sends it, or a valid session of the same user, may sign ' +
          'in while the account is locked to others. `must_change_password: true` (a temporary password set by ' +
          'an administrator): until POST /api/v1/auth/password sets a new one, the session may call only ' +
          'public and self routes, others answer 403 password_change_required. Permission: public.',
        body: LoginRequest,
        response: { 200: LoginResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (req, reply) => {
      const { username, password } = req.body;
      const { user, sessionId } = await service
        .login({
          username,
          password,
          origin: requestAuditor(req),
          trustedDevice: await trustedDevice(req, username),
        })
        .catch((err: unknown) => rethrowWithRetryAfter(reply, err));
      const access_token = app.jwt.sign({
        sub: user.id,
        username: user.username,
        role: user.role,
        sid: sessionId,
      });
      const secure = overHttps(req);
      setCookies(
        reply,
        devices.setCookie(devices.issue(user.username), secure),
        sessionCookie(access_token, { secure, maxAgeS: opts.sessionTtlS }),
      );
      return {
        access_token,
        token_type: 'bearer' as const,
        expires_in: opts.sessionTtlS,
        user: { id: user.id, username: user.username, email: user.email, role: user.role },
        must_change_password: user.must_change_password,
      };
    },
  );

  /** What GET /auth/me answers for the request's (already verified) session. */
  async function describeSession(req: FastifyRequest): Promise<z.infer<typeof MeResponse>> {
    const session = req.user;
    const user = await opts.users.findById(session.user_id);
    if (!user) throw new ApiError(401, 'unauthorized', 'Your account no longer exists');
    const expires_at = session.exp === null ? null : new Date(session.exp * 1000).toISOString();
    return {
      kind: session.kind,
      user: { id: user.id, username: user.username, email: user.email, role: user.role },
      role: session.role,
      expires_at,
      ...(session.kind === 'user'
        ? { session_id: session.sid }
        : { api_key: { id: session.sid, name: session.username, expires_at } }),
      must_change_password: session.restriction?.code === 'password_change_required',
    };
  }

  app.get(
    '/auth/session',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Whether this client is signed in, and as whom',
        description:
          'For the web app at start-up: always 200, `{ signed_in: false, reason }` without a valid session (no ' +
          'credential, an expired or ended one, a disabled account) and `{ signed_in: true, ...GET /auth/me }` ' +
          'with one. A page asking this sees no failed request in the browser console. Permission: public.',
        response: { 200: SessionResponse },
      },
    },
    async (req) => {
      try {
        await authenticate(req, app.sessions);
        return { signed_in: true as const, ...(await describeSession(req)) };
      } catch (err) {
        if (err instanceof ApiError && (err.statusCode === 401 || err.statusCode === 403))
          return { signed_in: false as const, reason: err.message };
        throw err;
      }
    },
  );

  app.get(
    '/auth/me',
    {
      config: { permission: 'self' },
      schema: {
        tags: ['auth'],
        summary: 'Who is signed in',
        description:
          'The user (for an API key: the user who created it), the role this session acts with, when it ' +
          'expires, for an API key the key, and whether the user must set a new password first ' +
          '(`must_change_password`). Permission: self.',
        response: { 200: MeResponse, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req) => describeSession(req),
  );

  app.post(
    '/auth/logout',
    {
      config: { permission: 'self' },
      schema: {
        tags: ['auth'],
        summary: 'Sign out: end this session on the server',
        description:
          'The token (bearer or cookie) is refused from now on, on REST (401) and on open live-stream sockets ' +
          '(closed with 4401); the session cookie is cleared. An API key is revoked instead (DELETE ' +
          '/api/v1/api-keys/{id}): 400. Permission: self.',
        response: { 204: z.null(), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req, reply) => {
      await service.logout(req.user, requestAuditor(req));
      setCookies(reply, clearedSessionCookie(overHttps(req)));
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/password',
    {
      config: { permission: 'self' },
      schema: {
        tags: ['auth'],
        summary: 'Change your own password',
        description:
          'The current password is required (wrong: 403 invalid_credentials, throttled like sign-ins: 429); ' +
          `the new one has at least 12 characters (else 400 validation_error). Ends your other sessions; this ` +
          'one stays signed in, and may use every route its role allows from now on (`must_change_password` ' +
          'is cleared together with the new hash). Not for API keys (403). Permission: self.',
        body: PasswordChangeRequest,
        response: {
          200: z.object({ sessions_ended: z.number().int().describe('Your other sessions, now ended') }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (req, reply) =>
      service
        .changePassword(req.user, req.body, requestAuditor(req))
        .catch((err: unknown) => rethrowWithRetryAfter(reply, err)),
  );
};
