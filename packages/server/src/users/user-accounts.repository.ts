import { randomUUID } from 'node:crypto';
import type { Role } from '@tonypi/contracts';
import type { Queryable } from '../db/database';
import { escapeLike } from '../robots/robots.repository';

/** A user as user management sees it: everything but the password hash. */
export interface UserAccountRow {
  id: string;
  username: string;
  email: string;
  role: Role;
  is_active: boolean;
  must_change_password: boolean;
  created_at: Date;
  updated_at: Date | null;
}

export interface ListUsersQuery {
  role?: Role;
  active?: boolean;
  search?: string;
  sort?: 'username' | 'email' | 'role' | 'created_at';
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

export interface NewUserAccount {
  username: string;
  email: string;
  role: Role;
  password_hash: string;
  must_change_password: boolean;
}

export interface UserAccountChanges {
  email?: string;
  role?: Role;
  is_active?: boolean;
}

const COLUMNS = 'id, username, email, role, is_active, must_change_password, created_at, updated_at';

/**
 * The `users` table for user management (sign-in reads it through UsersRepository). Every method takes the
 * Queryable it runs on, so a service can run several inside one transaction.
 */
export class UserAccountsRepository {
  async list(db: Queryable, query: ListUsersQuery = {}): Promise<{ items: UserAccountRow[]; total: number }> {
    const { role, active, search, sort = 'username', order = 'asc', limit = 50, offset = 0 } = query;
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (role !== undefined) {
      params.push(role);
      conditions.push(`role = $${params.length}`);
    }
    if (active !== undefined) {
      params.push(active);
      conditions.push(`is_active = $${params.length}`);
    }
    if (search !== undefined && search !== '') {
      params.push(`%${escapeLike(search)}%`);
      conditions.push(
        `(username ILIKE $${params.length} ESCAPE '\\' OR email ILIKE $${params.length} ESCAPE '\\')`,
      );
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const direction = order === 'desc' ? 'DESC' : 'ASC';
    // The column comes from a fixed list (the schema refuses others); username breaks ties, so pages
    // neither repeat nor skip users.
    const column = { username: 'username', email: 'email', role: 'role', created_at: 'created_at' }[sort];
    const orderBy =
      column === 'username' ? `username ${direction}` : `${column} ${direction}, username ${direction}`;
    const [page, count] = await Promise.all([
      db.query<UserAccountRow>(
        `SELECT ${COLUMNS} FROM users ${where} ORDER BY ${orderBy}
         LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset],
      ),
      db.query<{ total: number }>(`SELECT count(*)::int AS total FROM users ${where}`, params),
    ]);
    return { items: page.rows, total: count.rows[0]?.total ?? 0 };
  }

  async findById(db: Queryable, id: string, opts: { forUpdate?: boolean } = {}) {
    const { rows } = await db.query<UserAccountRow>(
      `SELECT ${COLUMNS} FROM users WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  /**
   * Locks the rows of every active admin until the transaction ends and returns their ids. Whoever
   * would remove an admin takes this lock first, so two admins demoting (or disabling, deleting) each
   * other at once are serialised: the second sees the first's change and is refused.
   */
  async lockActiveAdmins(tx: Queryable): Promise<string[]> {
    const { rows } = await tx.query<{ id: string }>(
      `SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE`,
    );
    return rows.map((r) => r.id);
  }

  /** Which of the username and e-mail address another user holds already (any case). */
  async taken(
    db: Queryable,
    fields: { username?: string; email?: string },
    exceptId?: string,
  ): Promise<Array<'username' | 'email'>> {
    const { rows } = await db.query<{ username_taken: boolean; email_taken: boolean }>(
      `SELECT coalesce(bool_or(lower(username) = lower($1)), false) AS username_taken,
              coalesce(bool_or(lower(email) = lower($2)), false) AS email_taken
         FROM users
        WHERE (lower(username) = lower($1) OR lower(email) = lower($2)) AND id IS DISTINCT FROM $3`,
      [fields.username ?? null, fields.email ?? null, exceptId ?? null],
    );
    const row = rows[0];
    return [
      ...(row?.username_taken ? ['username' as const] : []),
      ...(row?.email_taken ? ['email' as const] : []),
    ];
  }

  /** Throws a unique violation (SQLSTATE 23505) for a username or e-mail address taken in any case. */
  async create(db: Queryable, user: NewUserAccount): Promise<UserAccountRow> {
    const { rows } = await db.query<UserAccountRow>(
      `INSERT INTO users (id, username, email, password_hash, role, must_change_password)
       VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING ${COLUMNS}`,
      [randomUUID(), user.username, user.email, user.password_hash, user.role, user.must_change_password],
    );
    const created = rows[0];
    if (!created) throw new Error('INSERT INTO users returned no row');
    return created;
  }

  async update(db: Queryable, id: string, changes: UserAccountChanges): Promise<UserAccountRow | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const column of ['email', 'role', 'is_active'] as const) {
      if (changes[column] === undefined) continue;
      params.push(changes[column]);
      sets.push(`${column} = $${params.length}`);
    }
    params.push(id);
    const { rows } = await db.query<UserAccountRow>(
      `UPDATE users SET ${[...sets, 'updated_at = CURRENT_TIMESTAMP'].join(', ')}
        WHERE id = $${params.length} RETURNING ${COLUMNS}`,
      params,
    );
    return rows[0];
  }

  async setPassword(
    db: Queryable,
    id: string,
    passwordHash: string,
    mustChange: boolean,
  ): Promise<UserAccountRow | undefined> {
    const { rows } = await db.query<UserAccountRow>(
      `UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = CURRENT_TIMESTAMP
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, passwordHash, mustChange],
    );
    return rows[0];
  }

  async delete(db: Queryable, id: string): Promise<boolean> {
    const { rowCount } = await db.query('DELETE FROM users WHERE id = $1', [id]);
    return rowCount > 0;
  }
}

/** True for PostgreSQL's foreign_key_violation: another table still points at the row. */
export function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23503';
}
