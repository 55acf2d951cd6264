import { randomUUID } from 'node:crypto';
import type { Role } from '@tonypi/contracts';
import type { Queryable } from '../db/database';

export interface UserRow {
  id: string;
  username: string;
  email: string;
  password_hash: string;
  role: Role;
  is_active: boolean;
  /** Signed in with a temporary password: must set their own before anything but `self` routes. */
  must_change_password: boolean;
  created_at: Date;
  updated_at: Date | null;
}

export interface NewUser {
  username: string;
  email: string;
  password_hash: string;
  role: Role;
}

const COLUMNS =
  'id, username, email, password_hash, role, is_active, must_change_password, created_at, updated_at';

export class UsersRepository {
  constructor(private readonly db: Queryable) {}

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>('SELECT count(*)::int AS count FROM users');
    return rows[0]?.count ?? 0;
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const { rows } = await this.db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [
      username,
    ]);
    return rows[0];
  }

  async findById(id: string): Promise<UserRow | undefined> {
    const { rows } = await this.db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0];
  }

  /**
   * Sets the password hash the user chose themselves (and updated_at), which clears must_change_password;
   * false when the user is not there.
   */
  async setPasswordHash(id: string, passwordHash: string, tx: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE users SET password_hash = $2, must_change_password = FALSE, updated_at = CURRENT_TIMESTAMP
        WHERE id = $1`,
      [id, passwordHash],
    );
    return rowCount > 0;
  }

  /** Throws a unique violation (SQLSTATE 23505, see `isUniqueViolation`) for a taken username or email. */
  async create(user: NewUser): Promise<UserRow> {
    const { rows } = await this.db.query<UserRow>(
      `INSERT INTO users (id, username, email, password_hash, role)
       VALUES ($1, $2, $3, $4, $5)
       RETURNING ${COLUMNS}`,
      [randomUUID(), user.username, user.email, user.password_hash, user.role],
    );
    const created = rows[0];
    if (!created) throw new Error('INSERT INTO users returned no row');
    return created;
  }
}

/** True for PostgreSQL's unique_violation, as both engines report it. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
