import { describe, expect, it } from 'vitest';
import { openTestPGlite } from '../db/test-databases';
import { ensureAdmin } from './bootstrap-admin';
import { verifyPassword } from './passwords';
import { UsersRepository } from './users.repository';

describe('ensureAdmin', () => {
  it('creates the admin with a random password returned once', async () => {
    const users = new UsersRepository(await openTestPGlite());
    const result = await ensureAdmin(users);
    expect(result).toMatchObject({ created: true, username: 'admin' });
    const password = result.generatedPassword!;
    expect(password.length).toBeGreaterThanOrEqual(20);
    const admin = await users.findByUsername('admin');
    expect(admin).toMatchObject({ role: 'admin', email: 'admin@localhost', is_active: true });
    expect(admin!.password_hash).not.toContain(password);
    expect(await verifyPassword(admin!.password_hash, password)).toBe(true);
  });

  it('uses the given password and does not return it', async () => {
    const users = new UsersRepository(await openTestPGlite());
    const result = await ensureAdmin(users, { password: 'a-long-enough-secret' });
    expect(result).toEqual({ created: true, username: 'admin' });
    const admin = await users.findByUsername('admin');
    expect(await verifyPassword(admin!.password_hash, 'a-long-enough-secret')).toBe(true);
  });

  it('rejects a given password shorter than 12 characters', async () => {
    const users = new UsersRepository(await openTestPGlite());
    await expect(ensureAdmin(users, { password: 'short-11chr' })).rejects.toThrow(
      /ADMIN_PASSWORD is too short/,
    );
    expect(await users.count()).toBe(0);
  });

  it('does nothing when users exist, and never resets a password', async () => {
    const users = new UsersRepository(await openTestPGlite());
    const first = await ensureAdmin(users, { password: 'the-first-password' });
    expect(first.created).toBe(true);
    const again = await ensureAdmin(users, { password: 'another-password!' });
    expect(again).toEqual({ created: false, username: 'admin' });
    const admin = await users.findByUsername('admin');
    expect(await verifyPassword(admin!.password_hash, 'the-first-password')).toBe(true);
    expect(await users.count()).toBe(1);
  });

  it('creates one admin when two servers start together', async () => {
    const users = new UsersRepository(await openTestPGlite());
    const results = await Promise.all([ensureAdmin(users), ensureAdmin(users)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await users.count()).toBe(1);
  });
});
