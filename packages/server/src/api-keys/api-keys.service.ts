import { type ApiKey, type ApiKeyCreateRequest, ROLE_RANK, type Role, roleAtMost } from '@tonypi/contracts';
import type { AuditTrail } from '../audit/audit-trail';
import type { RequestOrigin } from '../auth/auth.service';
import {
  type Session,
  type SessionRefusalReason,
  SessionRefused,
  type SessionRevocation,
} from '../auth/sessions';
import type { Database } from '../db/database';
import { TouchBuffer } from '../db/touch-buffer';
import { forbidden, notFound, validationError } from '../errors';
import type { Logger } from '../logger';
import { API_KEY_PREFIX, ApiKeyHasher, parseApiKey } from './api-key-token';
import type { ApiKeyAuthRow, ApiKeyRow, ApiKeysRepository } from './api-keys.repository';

export interface ApiKeysServiceOptions {
  db: Database;
  repo: ApiKeysRepository;
  audit: AuditTrail;
  logger: Logger;
  /** The server's secret (JWT_SECRET): the keyed hash's key is derived from it. */
  secret: string;
  /**
   * How long a key's row (revoked? expired? its creator disabled?) is believed without reading it again.
   * Revocations made by this instance update the cache at once; a second server instance sharing the
   * database sees them when its cached row runs out, so within this time.
   */
  cacheTtlMs?: number;
  /** last_used_at is written at most this often per key. */
  lastUsedEveryMs?: number;
  now?: () => number;
}

const DEFAULT_CACHE_TTL_MS = 5000;
const CACHE_MAX = 10_000;
const DAY_MS = 86_400_000;

const invalidKey = () => new SessionRefused('invalid', 'API key is invalid');

const lower = (a: Role, b: Role): Role => (ROLE_RANK[a] <= ROLE_RANK[b] ? a : b);

function view(row: ApiKeyRow): ApiKey {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    expires_at: iso(row.expires_at),
    last_used_at: iso(row.last_used_at),
    revoked_at: iso(row.revoked_at),
  };
}

/**
 * API keys for automation: created by a person with a role no higher than their own, shown once,
 * stored as a keyed hash, revocable. A key acts with its role, capped at its creator's current role,
 * and stops working when its creator is disabled or deleted.
 */
export class ApiKeysService {
  private readonly hasher: ApiKeyHasher;
  private readonly cache = new Map<string, { row: ApiKeyAuthRow | undefined; until: number }>();
  private readonly lastUsed: TouchBuffer;
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;
  private readonly cacheTtlMs: number;

  constructor(private readonly opts: ApiKeysServiceOptions) {
    this.hasher = new ApiKeyHasher(opts.secret);
    this.now = opts.now ?? Date.now;
    this.cacheTtlMs = opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.lastUsed = new TouchBuffer({
      db: opts.db,
      table: 'api_keys',
      column: 'last_used_at',
      flushEveryMs: opts.lastUsedEveryMs ?? 60_000,
      logger: opts.logger,
    });
  }

  start(): void {
    this.lastUsed.start();
  }

  stop(): Promise<void> {
    return this.lastUsed.stop();
  }

  /** Called after a key was revoked (open live-stream sockets check their session again). */
  onRevoked(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Creates a key for `creator` and returns it with the token, which is never shown again. A role above
   * the creator's: 403 forbidden (audited as denied); an expiry not in the future: 400 validation_error.
   */
  async create(
    creator: Session,
    req: ApiKeyCreateRequest,
    origin: RequestOrigin,
  ): Promise<ApiKey & { key: string }> {
    if (!roleAtMost(req.role, creator.role)) {
      await this.opts.audit.record({
        ...origin,
        action: 'api_key.create',
        outcome: 'denied',
        details: { name: req.name, role: req.role, reason: `role above the creator's (${creator.role})` },
      });
      throw forbidden(
        `A key's role may be no higher than yours (${creator.role}): ${req.role} is refused`,
        'api_keys:manage',
      );
    }
    let expiresAt: Date | null = null;
    if (req.expires_at !== undefined) {
      expiresAt = new Date(req.expires_at);
      if (expiresAt.getTime() <= this.now()) {
        throw validationError([{ field: 'body.expires_at', message: 'must be in the future' }]);
      }
      if (expiresAt.getTime() > this.now() + 3650 * DAY_MS) {
        throw validationError([{ field: 'body.expires_at', message: 'must be at most 3650 days ahead' }]);
      }
    } else if (req.expires_in_days !== undefined) {
      expiresAt = new Date(this.now() + req.expires_in_days * DAY_MS);
    }
    const { token, id, hash } = this.hasher.generate();
    const row = await this.opts.db.transaction(async (tx) => {
      const inserted = await this.opts.repo.insert(
        { id, name: req.name, role: req.role, secretHash: hash, createdBy: creator.user_id, expiresAt },
        tx,
      );
      await this.opts.audit.record(
        {
          ...origin,
          action: 'api_key.create',
          target: { type: 'api_key', id },
          outcome: 'success',
          details: { name: req.name, role: req.role, expires_at: expiresAt?.toISOString() ?? null },
        },
        tx,
      );
      return inserted;
    });
    return { ...view(row), key: token };
  }

  async list(): Promise<ApiKey[]> {
    return (await this.opts.repo.list()).map(view);
  }

  /** Revokes the key: it is refused at once (REST 401, sockets closed). Unknown: 404 api_key_not_found. */
  async revoke(id: string, by: Session, origin: RequestOrigin): Promise<void> {
    const row = await this.opts.db.transaction(async (tx) => {
      const revoked = await this.opts.repo.revoke(id, by.user_id, tx);
      if (!revoked) return undefined;
      await this.opts.audit.record(
        {
          ...origin,
          action: 'api_key.revoke',
          target: { type: 'api_key', id },
          outcome: 'success',
          details: { name: revoked.name },
        },
        tx,
      );
      return revoked;
    });
    if (!row) throw notFound('api_key_not_found', `No API key with id ${id}`);
    this.cache.delete(id);
    for (const listener of this.listeners) listener();
  }

  /** The creator's standing changed (disabled, deleted, new role): read their keys afresh. */
  forgetCreator(userId: string): void {
    for (const [id, cached] of this.cache) if (cached.row?.created_by === userId) this.cache.delete(id);
  }

  /**
   * The TokenVerifier for `tpk_…` bearer tokens: the key's session, or SessionRefused (401). Other
   * tokens: undefined (not ours).
   */
  readonly authenticate = async (token: string): Promise<Session | undefined> => {
    if (!token.startsWith(API_KEY_PREFIX)) return undefined;
    const parsed = parseApiKey(token);
    if (!parsed) throw invalidKey();
    const row = await this.row(parsed.id);
    if (!row || !this.hasher.matches(parsed.id, parsed.secret, row.secret_hash)) throw invalidKey();
    const refusal = this.refusal(row);
    if (refusal) throw new SessionRefused(refusal.reason, refusal.message);
    this.lastUsed.touch(row.id, this.now());
    return {
      kind: 'api_key',
      sub: row.id,
      sid: row.id,
      username: row.name,
      role: lower(row.role, row.creator_role as Role),
      user_id: row.created_by as string,
      iat: Math.floor(row.created_at.getTime() / 1000),
      // Rounded up: a socket is not closed for expiry while REST (exact to the ms) still takes the key.
      exp: row.expires_at ? Math.ceil(row.expires_at.getTime() / 1000) : null,
    };
  };

  /** The SessionCheck for API-key sessions (open sockets, rechecked on every revocation). */
  readonly check = async (session: Session): Promise<SessionRevocation | undefined> => {
    if (session.kind !== 'api_key') return undefined;
    const row = await this.row(session.sid);
    if (!row) return 'API key no longer exists';
    const refusal = this.refusal(row);
    // A socket's timer may fire a moment before the session's `exp`: an expired key is still "expired".
    if (refusal)
      return refusal.reason === 'expired' ? { message: refusal.message, expired: true } : refusal.message;
    if (ROLE_RANK[lower(row.role, row.creator_role as Role)] < ROLE_RANK[session.role]) {
      return "The API key's role was lowered: connect again";
    }
    return undefined;
  };

  /** Why a key whose secret matched does not count (now), or undefined. */
  private refusal(row: ApiKeyAuthRow): { reason: SessionRefusalReason; message: string } | undefined {
    if (row.revoked_at) return { reason: 'revoked', message: 'API key revoked' };
    if (row.expires_at && row.expires_at.getTime() <= this.now()) {
      return { reason: 'expired', message: 'API key expired' };
    }
    if (!row.created_by || row.creator_active === null) {
      return { reason: 'revoked', message: "The API key's creator no longer exists" };
    }
    if (!row.creator_active) return { reason: 'revoked', message: "The API key's creator is disabled" };
    return undefined;
  }

  private async row(id: string): Promise<ApiKeyAuthRow | undefined> {
    const cached = this.cache.get(id);
    if (cached && cached.until > this.now()) return cached.row;
    const row = await this.opts.repo.forAuth(id);
    this.cache.delete(id);
    this.cache.set(id, { row, until: this.now() + this.cacheTtlMs });
    while (this.cache.size > CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    return row;
  }
}
