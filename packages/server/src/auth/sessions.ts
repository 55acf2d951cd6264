import { ROLES, type Role } from '@tonypi/contracts';
import { z } from 'zod';

/** What a session token is signed with. */
export interface SessionClaims {
  sub: string;
  username: string;
  role: Role;
}

/** A verified session: its claims plus the standard times (seconds since the epoch, as in JWT). */
export interface Session extends SessionClaims {
  iat: number;
  exp: number;
}

/**
 * The shape a session token must have once its signature is good. A token signed with our key but
 * of another shape (an unknown role, no subject, a string where a number belongs, no expiry) is
 * refused like a forged one: it was not issued by this version of the server.
 */
const SessionShape = z.object({
  sub: z.string().min(1).max(64),
  username: z.string().min(1).max(50),
  role: z.enum(ROLES),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
});

/** Clock difference between servers sharing JWT_SECRET that we tolerate on `iat`/`exp`, in seconds. */
const CLOCK_LEEWAY_S = 60;

export type SessionRefusalReason = 'invalid' | 'expired' | 'revoked';

export class SessionRefused extends Error {
  constructor(
    readonly reason: SessionRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'SessionRefused';
  }
}

/**
 * A further condition on a live session, checked on every request and again on open live-stream
 * sockets: returns why the session no longer counts, or undefined. Revocation (logout, a disabled
 * user, a changed password) plugs in here.
 */
export type SessionCheck = (session: Session) => Promise<string | undefined> | string | undefined;

export interface SessionsOptions {
  /** Checks the signature and decodes (fastify-jwt's `app.jwt.verify`); throws on a bad token. */
  verifySignature: (token: string) => unknown;
  /** SESSION_TTL_S: no token may live longer than this. */
  ttlS: number;
  now?: () => number;
}

/** The one place that decides whether a session token counts, now and later. */
export class Sessions {
  private readonly checks: SessionCheck[] = [];
  private readonly watchers = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly opts: SessionsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Adds a condition every session must keep meeting (see SessionCheck). */
  addCheck(check: SessionCheck): void {
    this.checks.push(check);
  }

  /**
   * Asks every holder of a long-lived session (open live-stream sockets) to check it again now:
   * call after anything a SessionCheck looks at has changed (a logout, a disabled user).
   */
  recheckAll(): void {
    for (const watcher of this.watchers) watcher();
  }

  /** Called on recheckAll(); returns the function that stops watching. */
  watch(onRecheck: () => void): () => void {
    this.watchers.add(onRecheck);
    return () => this.watchers.delete(onRecheck);
  }

  /** Signature, shape, lifetime and every check; throws SessionRefused. */
  async verify(token: string): Promise<Session> {
    let decoded: unknown;
    try {
      decoded = this.opts.verifySignature(token);
    } catch (err) {
      if ((err as { code?: string }).code === 'FAST_JWT_EXPIRED') throw expired();
      throw invalid();
    }
    const shape = SessionShape.safeParse(decoded);
    if (!shape.success) throw invalid();
    const session = shape.data;
    const nowS = this.now() / 1000;
    // Only this server signs tokens, with a lifetime of SESSION_TTL_S: a longer one was not issued
    // under the current settings (a leaked key, or a lifetime since shortened) and is not honoured.
    if (
      session.iat > nowS + CLOCK_LEEWAY_S ||
      session.exp - session.iat > this.opts.ttlS + CLOCK_LEEWAY_S ||
      session.exp > nowS + this.opts.ttlS + CLOCK_LEEWAY_S
    ) {
      throw invalid();
    }
    await this.recheck(session);
    return session;
  }

  /** Is a session verified earlier still good? Expiry and every check; throws SessionRefused. */
  async recheck(session: Session): Promise<void> {
    if (this.now() >= session.exp * 1000) throw expired();
    for (const check of this.checks) {
      const refusal = await check(session);
      if (refusal !== undefined) throw new SessionRefused('revoked', refusal);
    }
  }

  /** Milliseconds until the session expires (≤ 0: expired). */
  remainingMs(session: Session): number {
    return session.exp * 1000 - this.now();
  }
}

const invalid = () => new SessionRefused('invalid', 'Session token is invalid: sign in again');
const expired = () => new SessionRefused('expired', 'Session expired: sign in again');

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return match?.[1];
}
