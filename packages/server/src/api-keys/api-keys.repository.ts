import type { Role } from '@tonypi/contracts';
import type { Queryable } from '../db/database';

export interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** What authenticating a key needs: the row, its hash, and its creator's standing now. */
export interface ApiKeyAuthRow extends ApiKeyRow {
  secret_hash: string;
  /** null when the creator is gone. */
  creator_active: boolean | null;
  creator_role: Role | null;
}

const COLUMNS = 'id, name, role, created_by, created_at, expires_at, last_used_at, revoked_at';

export class ApiKeysRepository {
  constructor(private readonly db: Queryable) {}

  async insert(
    key: {
      id: string;
      name: string;
      role: Role;
      secretHash: string;
      createdBy: string;
      expiresAt: Date | null;
    },
    tx: Queryable = this.db,
  ): Promise<ApiKeyRow> {
    const { rows } = await tx.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, name, role, secret_hash, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [key.id, key.name, key.role, key.secretHash, key.createdBy, key.expiresAt],
    );
    const row = rows[0];
    if (!row) throw new Error('INSERT INTO api_keys returned no row');
    return row;
  }

  /** Every key, newest first (revoked ones too: they stay listed with revoked_at). */
  async list(): Promise<ApiKeyRow[]> {
    const { rows } = await this.db.query<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id`,
    );
    return rows;
  }

  async forAuth(id: string): Promise<ApiKeyAuthRow | undefined> {
    const { rows } = await this.db.query<ApiKeyAuthRow>(
      `SELECT k.id, k.name, k.role, k.created_by, k.created_at, k.expires_at, k.last_used_at, k.revoked_at,
              k.secret_hash, u.is_active AS creator_active, u.role AS creator_role
         FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
        WHERE k.id = $1`,
      [id],
    );
    return rows[0];
  }

  /** Sets revoked_at (kept if already set); undefined when there is no such key. */
  async revoke(id: string, by: string, tx: Queryable = this.db): Promise<ApiKeyRow | undefined> {
    const { rows } = await tx.query<ApiKeyRow>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, CURRENT_TIMESTAMP),
              revoked_by = COALESCE(revoked_by, $2)
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, by],
    );
    return rows[0];
  }
}
