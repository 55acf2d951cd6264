import { ROLES, type Role } from '@tonypi/contracts';
import { z } from 'zod';

/** What a session token is signed with. */
export interface SessionClaims {
  sub: string;
  username: string;
  role: Role;
  /** The server-side session (the `sessions` row) this token belongs to: logout ends it. */
  sid: string;
}

/**
 * A verified session, of a person (a session token) or of an API key: who it is, what it may do,
 * and its times (seconds since the epoch, as in JWT).
 */
export interface Session extends SessionClaims {
  /** `user`: sub is the user's id; `api_key`: sub and sid are the key's id, username its name. */
  kind: 'user' | 'api_key';
  /** The person acting: the user, or the user who created the API key. */
  user_id: string;
  iat: number;
  /** null: an API key without expiry. */
  exp: number | null;
  /**
   * Set when the session counts but may call only `public` and `self` routes (see SessionRestriction);
   * every verify and recheck sets it afresh from the checks.
   */
  restriction?: SessionRestriction;
}

/**
 * Why a session that counts may still call only `public` and `self` routes: its user signed in with a
 * temporary password and must set their own first. REST answers other routes 403 with this code and
 * message; the live stream closes with LIVE_CLOSE.password_change_required.
 */
export interface SessionRestriction {
  code: 'password_change_required';
  message: string;
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
  sid: z.string().min(1).max(64),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
});

/** Session tokens remembered as verified (see Sessions.verified); beyond it the oldest is forgotten. */
const MAX_VERIFIED_TOKENS = 10_000;

/** Clock difference between servers sharing JWT_SECRET that we tolerate on `iat`/`exp`, in seconds. */
const CLOCK_LEEWAY_S = 60;

export type SessionRefusalReason = 'invalid' | 'expired' | 'revoked';

export class SessionRefused extends Error {
  constructor(
    readonly reason: SessionRefusalReason,
    message: string,
    /** Set when the refusal has its own answer: a disabled user's session gets 403 account_disabled. */
    readonly code?: 'account_disabled',
  ) {
    super(message);
    this.name = 'SessionRefused';
  }
}

/**
 * A further condition on a live session, checked on every request and again on open live-stream
 * sockets: returns why the session no longer counts, or how it is restricted, or undefined. Revocation
 * (logout, a disabled user, a changed password) and the temporary-password restriction plug in here.
 */
export type SessionCheck = (session: Session) => Promise<SessionCheckResult> | SessionCheckResult;

export type SessionCheckResult = SessionRevocation | { restriction: SessionRestriction } | undefined;

/**
 * Why a check refuses a session: a sentence, a sentence with its own error code, or one saying the session
 * ran out (an API key past its expiry, found so before the session's own rounded-up `exp`).
 */
export type SessionRevocation =
  | string
  | { message: string; code: 'account_disabled' }
  | { message: string; expired: true };

/**
 * Verifies tokens that are not session JWTs (API keys: `tpk_…`); returns undefined for a token it
 * does not recognise, throws SessionRefused for one it recognises and refuses.
 */
export type TokenVerifier = (token: string) => Promise<Session | undefined>;

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
  private readonly verifiers: TokenVerifier[] = [];
  private readonly watchers = new Set<() => void>();
  private readonly now: () => number;
  /**
   * Session tokens whose signature, shape and lifetime were found good, with their claims. A dashboard sends
   * the same token with every poll, and the HMAC, the decoding and the shape check were ~6 % of the event
   * loop under `bench:load` (~500 requests a second). What can change — expiry, revocation, a restriction —
   * is still checked on every use (recheck); a token refused once is forgotten. A token's text is its key,
   * so only the exact token verified before is found.
   */
  private readonly verified = new Map<string, Readonly<Session>>();

  constructor(private readonly opts: SessionsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Adds a condition every session must keep meeting (see SessionCheck). */
  addCheck(check: SessionCheck): void {
    this.checks.push(check);
  }

  /** Adds a kind of token besides session JWTs (see TokenVerifier); its sessions pass the checks too. */
  addTokenVerifier(verifier: TokenVerifier): void {
    this.verifiers.push(verifier);
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
    const known = this.verified.get(token);
    if (known) {
      const session: Session = { ...known };
      try {
        await this.recheck(session);
      } catch (err) {
        this.verified.delete(token);
        throw err;
      }
      return session;
    }
    for (const verifier of this.verifiers) {
      const session = await verifier(token);
      if (session) {
        await this.recheck(session);
        return session;
      }
    }
    let decoded: unknown;
    try {
      decoded = this.opts.verifySignature(token);
    } catch (err) {
      if ((err as { code?: string }).code === 'FAST_JWT_EXPIRED') throw expired();
      throw invalid();
    }
    const shape = SessionShape.safeParse(decoded);
    if (!shape.success) throw invalid();
    const claims = shape.data;
    const nowS = this.now() / 1000;
    // Only this server signs tokens, with a lifetime of SESSION_TTL_S: a longer one was not issued
    // under the current settings (a leaked key, or a lifetime since shortened) and is not honoured.
    if (
      claims.iat > nowS + CLOCK_LEEWAY_S ||
      claims.exp - claims.iat > this.opts.ttlS + CLOCK_LEEWAY_S ||
      claims.exp > nowS + this.opts.ttlS + CLOCK_LEEWAY_S
    ) {
      throw invalid();
    }
    const session: Session = { ...claims, kind: 'user', user_id: claims.sub };
    await this.recheck(session);
    if (this.verified.size >= MAX_VERIFIED_TOKENS) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    const remembered: Session = { ...session };
    delete remembered.restriction;
    this.verified.set(token, Object.freeze(remembered));
    return session;
  }

  /**
   * Is a session verified earlier still good? Expiry and every check; throws SessionRefused. Sets (or
   * clears) `session.restriction` as the checks say.
   */
  async recheck(session: Session): Promise<void> {
    if (session.exp !== null && this.now() >= session.exp * 1000) throw expired();
    let restriction: SessionRestriction | undefined;
    for (const check of this.checks) {
      const result = await check(session);
      if (result === undefined) continue;
      if (typeof result === 'string') throw new SessionRefused('revoked', result);
      if ('restriction' in result) restriction ??= result.restriction;
      else if ('expired' in result) throw new SessionRefused('expired', result.message);
      else throw new SessionRefused('revoked', result.message, result.code);
    }
    if (restriction) session.restriction = restriction;
    else delete session.restriction;
  }

  /** Milliseconds until the session expires (≤ 0: expired). */
  remainingMs(session: Session): number {
    return session.exp === null ? Number.POSITIVE_INFINITY : session.exp * 1000 - this.now();
  }
}

const invalid = () => new SessionRefused('invalid', 'Session token is invalid: sign in again');
const expired = () => new SessionRefused('expired', 'Session expired: sign in again');

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return match?.[1];
}
