import type { Role } from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import type { SessionRevoker } from '../core/module';
import type { Database, Queryable } from '../db/database';
import { ApiError, conflict, userNotFound } from '../errors';
import type { Logger } from '../logger';
import { generatePassword, hashPassword } from './passwords';
import {
  isForeignKeyViolation,
  type ListUsersQuery,
  type UserAccountChanges,
  type UserAccountRow,
  UserAccountsRepository,
} from './user-accounts.repository';
import { isUniqueViolation } from './users.repository';

/** A user as the API shows it (contracts `UserAccount`). */
export interface UserAccountDto {
  id: string;
  username: string;
  email: string;
  role: Role;
  is_active: boolean;
  must_change_password: boolean;
  created_at: string;
  updated_at: string | null;
}

/** Who asks for a change, and from where: `requestAuditor(req)`. */
export type Requester = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

export interface NewUserInput {
  username: string;
  email: string;
  role: Role;
  password?: string;
  must_change_password?: boolean;
}

export interface PasswordInput {
  password?: string;
  must_change_password?: boolean;
}

export interface UsersServiceOptions {
  db: Database;
  audit: AuditTrail;
  /** The auth module's session revoker, looked up at each call (undefined while no module provides it). */
  sessions: () => SessionRevoker | undefined;
  logger: Logger;
  hash?: (password: string) => Promise<string>;
}

/**
 * User management: every change runs in one transaction with its audit event, and a change that takes
 * something away from a user (disabled, deleted, another role, a new password) ends their sessions at once.
 * Refusals (a taken name, the last admin, an unknown user) are audited too, after the rollback.
 */
export class UsersService {
  private readonly repo = new UserAccountsRepository();
  private readonly hash: (password: string) => Promise<string>;

  constructor(private readonly opts: UsersServiceOptions) {
    this.hash = opts.hash ?? hashPassword;
  }

  async list(query: ListUsersQuery): Promise<{ items: UserAccountDto[]; total: number }> {
    const { items, total } = await this.repo.list(this.opts.db, query);
    return { items: items.map(toDto), total };
  }

  async get(id: string): Promise<UserAccountDto> {
    const user = await this.repo.findById(this.opts.db, id);
    if (!user) throw userNotFound(id);
    return toDto(user);
  }

  async create(
    input: NewUserInput,
    by: Requester,
  ): Promise<{ user: UserAccountDto; temporary_password?: string }> {
    const generated = input.password === undefined;
    const password = input.password ?? generatePassword();
    // Hashing takes tens of milliseconds on the thread pool: done before the transaction, not inside it.
    const password_hash = await this.hash(password);
    const mustChange = input.must_change_password ?? generated;
    const event = { ...by, action: 'user.create' };
    const user = await this.audited(event, { username: input.username, email: input.email }, async (tx) => {
      await this.refuseTaken(tx, { username: input.username, email: input.email });
      const created = await this.repo.create(tx, {
        username: input.username,
        email: input.email,
        role: input.role,
        password_hash,
        must_change_password: mustChange,
      });
      await this.opts.audit.record(
        {
          ...event,
          target: { type: 'user', id: created.id },
          outcome: 'success',
          details: {
            username: created.username,
            email: created.email,
            role: created.role,
            generated,
            change_required: mustChange,
          },
        },
        tx,
      );
      return created;
    });
    return generated ? { user: toDto(user), temporary_password: password } : { user: toDto(user) };
  }

  async update(id: string, changes: UserAccountChanges, by: Requester): Promise<UserAccountDto> {
    const event = { ...by, action: 'user.update', target: { type: 'user', id } };
    const removesAdmin =
      (changes.role !== undefined && changes.role !== 'admin') || changes.is_active === false;
    const { before, after } = await this.audited(event, changes, async (tx) => {
      const admins = removesAdmin ? await this.repo.lockActiveAdmins(tx) : [];
      const before = await this.repo.findById(tx, id, { forUpdate: true });
      if (!before) throw userNotFound(id);
      if (changes.is_active === false && isSelf(by, id)) {
        throw conflict('You cannot disable yourself: ask another admin', { reason: 'self' });
      }
      if (removesAdmin && isActiveAdmin(before) && admins.length <= 1) {
        throw conflict(
          `${before.username} is the last active admin: make another user admin first, or there would be no one to manage users`,
          { reason: 'last_admin' },
        );
      }
      if (changes.email !== undefined) await this.refuseTaken(tx, { email: changes.email }, id);
      const after = await this.repo.update(tx, id, changes);
      if (!after) throw userNotFound(id);
      await this.opts.audit.record(
        { ...event, outcome: 'success', details: { username: after.username, changes: diff(before, after) } },
        tx,
      );
      return { before, after };
    });
    if (before.role !== after.role || changes.is_active === false) await this.endSessions(id, 'user.update');
    return toDto(after);
  }

  async resetPassword(
    id: string,
    input: PasswordInput,
    by: Requester,
  ): Promise<{ user: UserAccountDto; temporary_password?: string }> {
    const event = { ...by, action: 'user.password.reset', target: { type: 'user', id } };
    const generated = input.password === undefined;
    const password = input.password ?? generatePassword();
    const hash = await this.hash(password);
    const mustChange = input.must_change_password ?? generated;
    const user = await this.audited(event, {}, async (tx) => {
      const user = await this.repo.setPassword(tx, id, hash, mustChange);
      if (!user) throw userNotFound(id);
      await this.opts.audit.record(
        {
          ...event,
          outcome: 'success',
          details: { username: user.username, generated, change_required: mustChange },
        },
        tx,
      );
      return user;
    });
    await this.endSessions(id, 'user.password.reset');
    return generated ? { user: toDto(user), temporary_password: password } : { user: toDto(user) };
  }

  async delete(id: string, by: Requester): Promise<void> {
    const event = { ...by, action: 'user.delete', target: { type: 'user', id } };
    await this.audited(event, {}, async (tx) => {
      const admins = await this.repo.lockActiveAdmins(tx);
      const user = await this.repo.findById(tx, id, { forUpdate: true });
      if (!user) throw userNotFound(id);
      if (isSelf(by, id)) throw conflict('You cannot delete yourself: ask another admin', { reason: 'self' });
      if (isActiveAdmin(user) && admins.length <= 1) {
        throw conflict(
          `${user.username} is the last active admin: make another user admin first, or there would be no one to manage users`,
          { reason: 'last_admin' },
        );
      }
      try {
        await this.repo.delete(tx, id);
      } catch (err) {
        if (isForeignKeyViolation(err)) {
          throw conflict(`${user.username} is still referenced by other records: disable the user instead`, {
            reason: 'referenced',
          });
        }
        throw err;
      }
      await this.opts.audit.record(
        { ...event, outcome: 'success', details: { username: user.username, role: user.role } },
        tx,
      );
    });
    await this.endSessions(id, 'user.delete');
  }

  /**
   * Runs `change` in a transaction. A refusal it throws (409, 404) rolls the change back and is then
   * recorded on its own as a `failure`; a unique violation from a concurrent insert becomes the same 409
   * a taken name gets.
   */
  private async audited<T>(
    event: Omit<AuditEntry, 'outcome'>,
    asked: object,
    change: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.opts.db.transaction(change);
    } catch (err) {
      let refusal = err;
      if (isUniqueViolation(err)) {
        const fields = asked as { username?: string; email?: string };
        refusal = takenConflict(await this.repo.taken(this.opts.db, fields, event.target?.id));
      }
      if (refusal instanceof ApiError) {
        await this.opts.audit.record({
          ...event,
          outcome: 'failure',
          details: { code: refusal.code, reason: refusal.message, asked },
        });
      }
      throw refusal;
    }
  }

  private async refuseTaken(tx: Queryable, fields: { username?: string; email?: string }, exceptId?: string) {
    const taken = await this.repo.taken(tx, fields, exceptId);
    if (taken.length > 0) throw takenConflict(taken);
  }

  private async endSessions(userId: string, action: string): Promise<void> {
    const revoker = this.opts.sessions();
    if (!revoker) return;
    try {
      await revoker.revokeAllForUser(userId);
    } catch (err) {
      // The change is committed; the auth module's own check of the user row still refuses a disabled user.
      this.opts.logger.error({ err, user_id: userId, action }, 'users: sessions not ended after a change');
    }
  }
}

function takenConflict(taken: Array<'username' | 'email'>): ApiError {
  const what = taken.map((f) => (f === 'email' ? 'e-mail address' : 'username')).join(' and ');
  // A unique violation whose holder is gone by the time we look: still a conflict, the name is in use.
  if (taken.length === 0) return conflict('The username or e-mail address is already taken', { fields: [] });
  return conflict(`The ${what} ${taken.length > 1 ? 'are' : 'is'} already taken`, { fields: taken });
}

const isSelf = (by: Requester, id: string) => by.actor.type === 'user' && by.actor.id === id;
const isActiveAdmin = (user: UserAccountRow) => user.role === 'admin' && user.is_active;

function diff(before: UserAccountRow, after: UserAccountRow): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of ['email', 'role', 'is_active'] as const) {
    if (before[key] !== after[key]) changes[key] = { from: before[key], to: after[key] };
  }
  return changes;
}

export function toDto(row: UserAccountRow): UserAccountDto {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    role: row.role,
    is_active: row.is_active,
    must_change_password: row.must_change_password,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at ? row.updated_at.toISOString() : null,
  };
}
