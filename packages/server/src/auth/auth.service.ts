import { randomUUID } from 'node:crypto';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { SessionRevoker } from '../core/module';
import type { Database } from '../db/database';
import { ApiError, forbidden } from '../errors';
import type { Logger } from '../logger';
import { hashPassword, verifyPassword } from '../users/passwords';
import type { UserRow, UsersRepository } from '../users/users.repository';
import { type LoginAttempt, LoginThrottle } from './login-throttle';
import type { SessionEndReason, SessionStore } from './session-store';
import type { Session, SessionCheckResult, SessionRestriction, SessionRevocation } from './sessions';

/** Where a request came from, for the audit trail and the session row (`requestAuditor(req)`). */
export type RequestOrigin = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

export interface AuthServiceOptions {
  db: Database;
  users: UsersRepository;
  store: SessionStore;
  audit: AuditTrail;
  logger: Logger;
  /** SESSION_TTL_S: how long a session lasts. */
  sessionTtlS: number;
  /** Failed sign-ins per address, account and device (tests pass their own clock). */
  throttle?: LoginThrottle;
  now?: () => number;
}

export interface LoginInput {
  username: string;
  password: string;
  origin: RequestOrigin;
  /** Set when the client proved it signed in as this user before (see LoginAttempt). */
  trustedDevice?: string;
}

export interface LoginResult {
  user: UserRow;
  sessionId: string;
  expiresAt: Date;
}

/**
 * What ended: `userId` when all of a user's sessions did (a revocation or password change: what an
 * API key's creator may do has changed too).
 */
export interface SessionsEnded {
  reason: SessionEndReason;
  userId?: string;
}

/** What the end of a session tells its holder (REST message and live-stream error frame). */
const ENDED: Record<SessionEndReason, SessionRevocation> = {
  logout: 'Signed out: sign in again',
  password_changed: 'Your password was changed: sign in again',
  revoked: 'Your session was ended by an administrator: sign in again',
  user_disabled: { message: 'Your account is disabled', code: 'account_disabled' },
  user_deleted: 'Your account no longer exists',
};

/** What a session signed in with a temporary password is told on every route but `public` and `self`. */
export const PASSWORD_CHANGE_REQUIRED: SessionRestriction = {
  code: 'password_change_required',
  message:
    'You signed in with a temporary password: set your own with POST /api/v1/auth/password ' +
    '({current_password, new_password}) before using anything else',
};

/**
 * Signing in and out, password changes, and whether a person's session still counts. Tokens are
 * signed by the route (the HTTP layer holds the key); everything else is here.
 */
export class AuthService implements SessionRevoker {
  private readonly throttle: LoginThrottle;
  private readonly listeners = new Set<(ended: SessionsEnded) => void>();
  private readonly now: () => number;

  private constructor(
    private readonly opts: AuthServiceOptions,
    /** Verified when the user does not exist, so both answers take as long (no username probing). */
    private readonly decoyHash: string,
  ) {
    this.throttle = opts.throttle ?? new LoginThrottle();
    this.now = opts.now ?? Date.now;
  }

  static async create(opts: AuthServiceOptions): Promise<AuthService> {
    return new AuthService(opts, await hashPassword('decoy-password-that-never-matches'));
  }

  /** Called after sessions ended (the live stream checks its open sockets again). */
  onSessionsEnded(listener: (ended: SessionsEnded) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Checks the password and opens a session. Throws 429 rate_limited (details.retry_after_s), 401
   * invalid_credentials (wrong password and unknown user alike), 403 account_disabled (right password,
   * disabled account). Every outcome but the throttle's is audited.
   */
  async login(input: LoginInput): Promise<LoginResult> {
    const { username, origin } = input;
    const attempt: LoginAttempt = {
      address: origin.address ?? '',
      username,
      trustedDevice: input.trustedDevice,
    };
    const { waitMs, locks } = this.throttle.begin(attempt);
    if (waitMs > 0) {
      // Not audited: refused before any lookup, so an attacker cannot make us write a row per request.
      const seconds = Math.ceil(waitMs / 1000);
      throw new ApiError(429, 'rate_limited', `Too many failed sign-ins: try again in ${seconds} s`, {
        retry_after_s: seconds,
      });
    }
    const user = await this.opts.users.findByUsername(username);
    const ok = await verifyPassword(user?.password_hash ?? this.decoyHash, input.password);
    const anonymous: RequestOrigin = { ...origin, actor: { type: 'anonymous', id: null, name: username } };
    if (!user || !ok) {
      const who = { username, address: origin.address, trusted: Boolean(input.trustedDevice) };
      this.opts.logger.info(who, 'login failed');
      // One line per lock, not per refused attempt: a lock holds the next failure back, so these are few.
      const lockedMs = Math.max(locks.account, locks.address, locks.device);
      const locked = Object.entries(locks).flatMap(([kind, ms]) => (ms > 0 ? [kind] : []));
      if (lockedMs > 0) {
        this.opts.logger.warn(
          { ...who, locked, locked_s: Math.ceil(lockedMs / 1000) },
          'login locked after repeated failures',
        );
      }
      await this.opts.audit.record({
        ...anonymous,
        action: 'auth.login',
        outcome: 'failure',
        details: { username, reason: 'invalid_credentials', ...(locked.length > 0 ? { locked } : {}) },
      });
      throw new ApiError(401, 'invalid_credentials', 'Wrong username or password');
    }
    if (!user.is_active) {
      // The password was right, so saying why is no leak; the attempt still counts against the throttle.
      await this.opts.audit.record({
        ...anonymous,
        actor: { type: 'user', id: user.id, name: user.username },
        action: 'auth.login',
        target: { type: 'user', id: user.id },
        outcome: 'denied',
        details: { username, reason: 'account_disabled' },
      });
      throw new ApiError(403, 'account_disabled', 'This account is disabled: ask an administrator');
    }
    this.throttle.succeeded(attempt);
    const sessionId = randomUUID();
    const expiresAt = new Date(this.now() + this.opts.sessionTtlS * 1000);
    await this.opts.db.transaction(async (tx) => {
      await this.opts.store.create(tx, {
        id: sessionId,
        userId: user.id,
        expiresAt,
        address: origin.address,
        userAgent: origin.user_agent,
      });
      await this.opts.audit.record(
        {
          ...origin,
          actor: { type: 'user', id: user.id, name: user.username },
          action: 'auth.login',
          target: { type: 'session', id: sessionId },
          outcome: 'success',
          details: { username },
        },
        tx,
      );
    });
    this.opts.store.remember(sessionId, user.id, user.must_change_password);
    return { user, sessionId, expiresAt };
  }

  /** Ends the caller's session on the server: its token is refused from now on, here and on sockets. */
  async logout(session: Session, origin: RequestOrigin): Promise<void> {
    if (session.kind !== 'user') {
      throw new ApiError(
        400,
        'bad_request',
        'An API key does not sign out: revoke it with DELETE /api/v1/api-keys/{id}',
      );
    }
    await this.opts.db.transaction(async (tx) => {
      await this.opts.store.end(session.sid, 'logout', tx);
      await this.opts.audit.record(
        {
          ...origin,
          action: 'auth.logout',
          target: { type: 'session', id: session.sid },
          outcome: 'success',
        },
        tx,
      );
    });
    this.ended([session.sid], 'logout');
  }

  /**
   * Changes the caller's own password (the current one required) and ends their other sessions; the
   * one making the change stays signed in. Wrong current password: 403 invalid_credentials, throttled
   * like a sign-in (429).
   */
  async changePassword(
    session: Session,
    change: { current_password: string; new_password: string },
    origin: RequestOrigin,
  ): Promise<{ sessions_ended: number }> {
    if (session.kind !== 'user') throw forbidden('An API key has no password to change', 'self');
    const attempt: LoginAttempt = {
      address: origin.address ?? '',
      username: session.username,
      trustedDevice: `session:${session.sid}`,
    };
    const { waitMs } = this.throttle.begin(attempt);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new ApiError(429, 'rate_limited', `Too many wrong passwords: try again in ${seconds} s`, {
        retry_after_s: seconds,
      });
    }
    const user = await this.opts.users.findById(session.sub);
    const target = { type: 'user', id: session.sub };
    if (!user || !(await verifyPassword(user.password_hash, change.current_password))) {
      await this.opts.audit.record({
        ...origin,
        action: 'auth.password.change',
        target,
        outcome: 'failure',
        details: { reason: 'wrong current password' },
      });
      throw new ApiError(403, 'invalid_credentials', 'current_password is not your current password');
    }
    this.throttle.succeeded(attempt);
    const newHash = await hashPassword(change.new_password);
    const ended = await this.opts.db.transaction(async (tx) => {
      await this.opts.users.setPasswordHash(user.id, newHash, tx);
      const result = await this.opts.store.endAllForUser(user.id, {
        reason: 'password_changed',
        exceptSessionId: session.sid,
        tx,
      });
      await this.opts.audit.record(
        {
          ...origin,
          action: 'auth.password.change',
          target,
          outcome: 'success',
          details: { sessions_ended: result.ids.length },
        },
        tx,
      );
      return result.ids;
    });
    this.opts.store.markPasswordChanged(user.id);
    this.ended(ended, 'password_changed', { userId: user.id, exceptSessionId: session.sid });
    return { sessions_ended: ended.length };
  }

  /** SessionRevoker: user management calls it on disable, delete, role change and password reset. */
  async revokeAllForUser(userId: string, opts: { exceptSessionId?: string } = {}): Promise<number> {
    const { ids, reason } = await this.opts.store.endAllForUser(userId, opts);
    this.ended(ids, reason, { userId, exceptSessionId: opts.exceptSessionId });
    return ids.length;
  }

  /**
   * The SessionCheck for people's sessions (API keys have their own): refuses a session that ended or
   * whose user is disabled or gone, and restricts one whose user must change their password. Answered
   * from the store's cache on the hot path.
   */
  readonly check = async (session: Session): Promise<SessionCheckResult> => {
    if (session.kind !== 'user') return undefined;
    const state = await this.opts.store.state(session.sid);
    if (!state || state.userId !== session.sub) return 'Session not found: sign in again';
    if (state.endReason) return ENDED[state.endReason];
    if (!state.userActive) return ENDED.user_disabled;
    this.opts.store.touch(session.sid);
    return state.mustChangePassword ? { restriction: PASSWORD_CHANGE_REQUIRED } : undefined;
  };

  private ended(
    ids: readonly string[],
    reason: SessionEndReason,
    user?: { userId: string; exceptSessionId?: string },
  ): void {
    this.opts.store.markEnded(ids, reason, user);
    for (const listener of this.listeners) listener({ reason, userId: user?.userId });
  }
}
