import type { Queryable } from '../db/database';
import { TouchBuffer } from '../db/touch-buffer';
import type { Logger } from '../logger';

export const SESSION_END_REASONS = [
  'logout',
  'password_changed',
  'revoked',
  'user_disabled',
  'user_deleted',
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** What a request's session check needs to know about its session row. */
export interface SessionState {
  userId: string;
  /** null while the session is open. */
  endReason: SessionEndReason | null;
  userActive: boolean;
  /** The user signed in with a temporary password: only `public` and `self` routes until they set their own. */
  mustChangePassword: boolean;
}

export interface NewSession {
  id: string;
  userId: string;
  expiresAt: Date;
  address?: string;
  userAgent?: string;
}

export interface SessionStoreOptions {
  db: Queryable;
  logger: Logger;
  /**
   * How long an open session's state is believed without asking the database again. Logouts,
   * revocations and password changes made by this instance update the cache at once; a second server instance sharing the
   * database learns of them when its cached entry runs out, so within this time on REST (and within one
   * live-stream heartbeat more on open sockets). Ended sessions stay cached: an end is final.
   */
  cacheTtlMs?: number;
  /** Sessions whose state is held in memory; the least recently used beyond this are read again. */
  cacheMax?: number;
  /** last_seen_at is written at most this often per session. */
  lastSeenEveryMs?: number;
  now?: () => number;
}

const DEFAULT_CACHE_TTL_MS = 5000;
const DEFAULT_CACHE_MAX = 20_000;
/** Ended sessions are remembered this long: as long as any token may live (SESSION_TTL_S is at most 30 days). */
const ENDED_TTL_MS = 30 * 86_400_000;
/** Rows of sessions that expired longer ago than this are deleted (the audit trail keeps the logins). */
const KEEP_EXPIRED_MS = 7 * 86_400_000;

interface Cached {
  state: SessionState | undefined;
  until: number;
}

/**
 * The `sessions` table and an in-memory cache of it, so the per-request check costs no database query
 * on the hot path: one read per session per `cacheTtlMs` at most, concurrent misses sharing it.
 */
export class SessionStore {
  private readonly cache = new Map<string, Cached>();
  private readonly loading = new Map<string, Promise<SessionState | undefined>>();
  private readonly lastSeen: TouchBuffer;
  private readonly now: () => number;
  private readonly cacheTtlMs: number;
  private readonly cacheMax: number;
  readonly counters = { cache_hits: 0, cache_misses: 0 };
  /** Bumped by markPasswordChanged: a read that overlapped one may have seen the flag before it was cleared. */
  private passwordChanges = 0;

  constructor(private readonly opts: SessionStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.cacheTtlMs = opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.cacheMax = opts.cacheMax ?? DEFAULT_CACHE_MAX;
    this.lastSeen = new TouchBuffer({
      db: opts.db,
      table: 'sessions',
      column: 'last_seen_at',
      flushEveryMs: opts.lastSeenEveryMs ?? 60_000,
      logger: opts.logger,
    });
  }

  start(): void {
    this.lastSeen.start();
  }

  stop(): Promise<void> {
    return this.lastSeen.stop();
  }

  /** Writes the row (inside the login's transaction); `remember` once it is committed. */
  async create(tx: Queryable, s: NewSession): Promise<void> {
    await tx.query(
      `INSERT INTO sessions (id, user_id, expires_at, address, user_agent) VALUES ($1, $2, $3, $4, $5)`,
      [s.id, s.userId, s.expiresAt, s.address?.slice(0, 64) ?? null, s.userAgent?.slice(0, 256) ?? null],
    );
  }

  /** Puts a just-created session in the cache, so its first requests need no read. */
  remember(sessionId: string, userId: string, mustChangePassword = false): void {
    this.put(sessionId, { userId, endReason: null, userActive: true, mustChangePassword });
  }

  /**
   * After a committed password change that cleared the user's must_change_password: their cached open
   * sessions may call everything their role allows from the next request on.
   */
  markPasswordChanged(userId: string): void {
    this.passwordChanges++;
    for (const [id, cached] of this.cache) {
      if (cached.state?.userId !== userId || !cached.state.mustChangePassword) continue;
      // In place: the entry keeps its age and its place in the LRU order.
      this.cache.set(id, { ...cached, state: { ...cached.state, mustChangePassword: false } });
    }
  }

  /** The session's state (undefined: no such row), from the cache when it is fresh enough. */
  async state(sessionId: string): Promise<SessionState | undefined> {
    const cached = this.cache.get(sessionId);
    if (cached && cached.until > this.now()) {
      this.counters.cache_hits++;
      // Least recently used goes first: move it to the end.
      this.cache.delete(sessionId);
      this.cache.set(sessionId, cached);
      return cached.state;
    }
    const inFlight = this.loading.get(sessionId);
    if (inFlight) return inFlight;
    this.counters.cache_misses++;
    const passwordChanges = this.passwordChanges;
    const load = this.read(sessionId).finally(() => this.loading.delete(sessionId));
    this.loading.set(sessionId, load);
    const state = await load;
    // An end noted while the row was being read is newer than what the read saw.
    const current = this.cache.get(sessionId)?.state;
    if (current?.endReason) return current;
    // So may be a password change: answer this request as read, but let the next one read again.
    if (state?.mustChangePassword && passwordChanges !== this.passwordChanges) return state;
    this.put(sessionId, state);
    return state;
  }

  private async read(sessionId: string): Promise<SessionState | undefined> {
    const { rows } = await this.opts.db.query<{
      user_id: string;
      end_reason: SessionEndReason | null;
      is_active: boolean;
      must_change_password: boolean;
    }>(
      `SELECT s.user_id, s.end_reason, u.is_active, u.must_change_password
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1`,
      [sessionId],
    );
    const row = rows[0];
    return row
      ? {
          userId: row.user_id,
          endReason: row.end_reason,
          userActive: row.is_active,
          mustChangePassword: row.must_change_password,
        }
      : undefined;
  }

  /** Notes the session was used now; written to last_seen_at at a bounded rate. */
  touch(sessionId: string): void {
    this.lastSeen.touch(sessionId, this.now());
  }

  /** Ends one session; false when it was already ended (or is not there). Call `markEnded` after commit. */
  async end(sessionId: string, reason: SessionEndReason, tx: Queryable = this.opts.db): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE sessions SET ended_at = CURRENT_TIMESTAMP, end_reason = $2 WHERE id = $1 AND ended_at IS NULL`,
      [sessionId, reason],
    );
    return rowCount > 0;
  }

  /**
   * Ends every open session of the user but `exceptSessionId`, with `reason`, or, when none is given,
   * the one the user's row calls for (deleted, disabled, else revoked). Returns the ended ids.
   */
  async endAllForUser(
    userId: string,
    opts: { reason?: SessionEndReason; exceptSessionId?: string; tx?: Queryable } = {},
  ): Promise<{ ids: string[]; reason: SessionEndReason }> {
    const tx = opts.tx ?? this.opts.db;
    let reason = opts.reason;
    if (!reason) {
      const { rows } = await tx.query<{ is_active: boolean }>('SELECT is_active FROM users WHERE id = $1', [
        userId,
      ]);
      reason = !rows[0] ? 'user_deleted' : rows[0].is_active ? 'revoked' : 'user_disabled';
    }
    const { rows } = await tx.query<{ id: string }>(
      `UPDATE sessions SET ended_at = CURRENT_TIMESTAMP, end_reason = $2
        WHERE user_id = $1 AND ended_at IS NULL AND id <> $3
        RETURNING id`,
      [userId, reason, opts.exceptSessionId ?? ''],
    );
    return { ids: rows.map((r) => r.id), reason };
  }

  /**
   * After a committed end: the cache holds these sessions as ended, and every cached session of
   * `userId` (but `exceptSessionId`) too — a deleted user's rows are gone, so no UPDATE returned them.
   */
  markEnded(
    ids: readonly string[],
    reason: SessionEndReason,
    user?: { userId: string; exceptSessionId?: string },
  ): void {
    for (const id of ids) {
      const before = this.cache.get(id)?.state;
      const userId = before?.userId ?? user?.userId ?? '';
      this.put(id, {
        userId,
        endReason: reason,
        userActive: reason !== 'user_disabled',
        mustChangePassword: before?.mustChangePassword ?? false,
      });
    }
    if (!user) return;
    for (const [id, cached] of this.cache) {
      if (id === user.exceptSessionId || cached.state?.userId !== user.userId) continue;
      if (cached.state.endReason === null) {
        this.put(id, { ...cached.state, endReason: reason, userActive: reason !== 'user_disabled' });
      }
    }
  }

  /** Deletes rows of sessions that expired more than a week ago; returns how many. */
  async prune(): Promise<number> {
    const { rowCount } = await this.opts.db.query('DELETE FROM sessions WHERE expires_at < $1', [
      new Date(this.now() - KEEP_EXPIRED_MS),
    ]);
    return rowCount;
  }

  private put(sessionId: string, state: SessionState | undefined): void {
    const ended = state?.endReason != null;
    this.cache.delete(sessionId);
    this.cache.set(sessionId, { state, until: this.now() + (ended ? ENDED_TTL_MS : this.cacheTtlMs) });
    while (this.cache.size > this.cacheMax) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }
}
