import { describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../db/test-databases';
import { isUniqueViolation, UsersRepository } from './users.repository';

const alice = {
  username: 'alice',
  email: 'alice@example.com',
  password_hash: 'hash',
  role: 'operator',
} as const;

export function describeUsersRepositoryContract(open: OpenTestDatabase): void {
  describe('UsersRepository', () => {
    it('counts no users in a fresh database', async () => {
      const users = new UsersRepository(await open());
      expect(await users.count()).toBe(0);
    });

    it('creates a user with a generated UUID and returns the stored row', async () => {
      const users = new UsersRepository(await open());
      const created = await users.create(alice);
      expect(created).toMatchObject({ ...alice, is_active: true, updated_at: null });
      expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(created.created_at).toBeInstanceOf(Date);
      expect(await users.count()).toBe(1);
    });

    it('finds a user by username and by id', async () => {
      const users = new UsersRepository(await open());
      const created = await users.create(alice);
      expect(await users.findByUsername('alice')).toEqual(created);
      expect(await users.findById(created.id)).toEqual(created);
      expect(await users.findByUsername('bob')).toBeUndefined();
      expect(await users.findById('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('refuses a second user with the same username or email', async () => {
      const users = new UsersRepository(await open());
      await users.create(alice);
      const sameName = users.create({ ...alice, email: 'other@example.com' });
      await expect(sameName).rejects.toSatisfy(isUniqueViolation);
      const sameEmail = users.create({ ...alice, username: 'alice2' });
      await expect(sameEmail).rejects.toSatisfy(isUniqueViolation);
    });

    it('stores hostile strings verbatim', async () => {
      const users = new UsersRepository(await open());
      const username = "x'); DROP TABLE users; --";
      await users.create({ ...alice, username, email: "o'brien\\@example.com" });
      expect(await users.findByUsername(username)).toMatchObject({
        username,
        email: "o'brien\\@example.com",
      });
      expect(await users.count()).toBe(1);
    });
  });
}
