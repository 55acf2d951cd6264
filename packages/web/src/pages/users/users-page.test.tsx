import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UserAccount } from '../../api/types';
import { mockApi, renderApp } from '../../test/render';
import UsersPage from './users-page';

function user(username: string, over: Partial<UserAccount> = {}): UserAccount {
  return {
    id: `id-${username}`,
    username,
    email: `${username}@example.com`,
    role: 'viewer',
    is_active: true,
    must_change_password: false,
    created_at: new Date(Date.now() - 86_400_000).toISOString(),
    updated_at: null,
    ...over,
  };
}
// The signed-in admin of meAs('admin') has id u1.
const me = user('admin-user', { id: 'u1', role: 'admin' });
const users = (...items: UserAccount[]) => ({ items, total: items.length });

describe('UsersPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('creates a user with a generated password, shown once', async () => {
    const api = mockApi({
      'GET /users': users(me),
      'POST /users': ({ body }: { body: { username: string } }) => ({
        user: user(body.username, { must_change_password: true }),
        temporary_password: 'temp-Pass-0001-xyz',
      }),
    });
    renderApp(<UsersPage />, { path: '/users' });
    await screen.findByTestId('user-row-admin-user', {}, { timeout: 5000 });
    await userEvent.click(screen.getByRole('button', { name: 'Create a user' }));
    await userEvent.type(screen.getByLabelText('Username'), 'olga');
    await userEvent.type(screen.getByLabelText('E-mail'), 'olga@example.com');
    await userEvent.selectOptions(within(screen.getByRole('dialog')).getByLabelText('Role'), 'operator');
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    expect((await screen.findByTestId('temporary-password')).textContent).toBe('temp-Pass-0001-xyz');
    expect(api.calls.find((c) => c.method === 'POST')?.body).toEqual({
      username: 'olga',
      email: 'olga@example.com',
      role: 'operator',
    });
    await userEvent.click(screen.getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByTestId('temporary-password')).toBeNull());
    expect(document.body.textContent).not.toContain('temp-Pass-0001-xyz');
  });

  it('creates a user with a password the admin sets', async () => {
    const api = mockApi({
      'GET /users': users(me),
      'POST /users': ({ body }: { body: { username: string } }) => ({ user: user(body.username) }),
    });
    renderApp(<UsersPage />, { path: '/users' });
    await screen.findByTestId('user-row-admin-user', {}, { timeout: 5000 });
    await userEvent.click(screen.getByRole('button', { name: 'Create a user' }));
    await userEvent.type(screen.getByLabelText('Username'), 'sam');
    await userEvent.type(screen.getByLabelText('E-mail'), 'sam@example.com');
    await userEvent.click(screen.getByLabelText('Set one now'));
    await userEvent.type(screen.getByLabelText('Initial password'), 'a-long-password-1');
    await userEvent.click(screen.getByLabelText('Must change it at first sign-in'));
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(api.calls.find((c) => c.method === 'POST')?.body).toEqual({
      username: 'sam',
      email: 'sam@example.com',
      role: 'viewer',
      password: 'a-long-password-1',
      must_change_password: false,
    });
  });

  it('changes a role, disables, resets and deletes only after a confirmation, and never offers them on oneself', async () => {
    const bob = user('bob');
    const api = mockApi({
      'GET /users': users(me, bob),
      'PATCH /users/id-bob': ({ body }: { body: Partial<UserAccount> }) => ({ ...bob, ...body }),
      'POST /users/id-bob/reset-password': () => ({ user: bob, temporary_password: 'reset-Pass-0002' }),
      'DELETE /users/id-bob': () => undefined,
    });
    renderApp(<UsersPage />, { path: '/users' });
    const mine = await screen.findByTestId('user-row-admin-user', {}, { timeout: 5000 });
    expect(within(mine).queryByRole('button')).toBeNull();
    expect((within(mine).getByLabelText('Role of admin-user') as HTMLSelectElement).disabled).toBe(true);
    const row = screen.getByTestId('user-row-bob');
    const mutations = () => api.calls.filter((c) => c.method !== 'GET');

    await userEvent.selectOptions(within(row).getByLabelText('Role of bob'), 'operator');
    let dialog = await screen.findByRole('dialog', { name: 'Make bob operator?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(mutations()).toEqual([]);

    await userEvent.click(within(row).getByRole('button', { name: 'Disable' }));
    dialog = await screen.findByRole('dialog', { name: 'Disable bob?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Disable' }));
    await waitFor(() =>
      expect(mutations().at(-1)).toMatchObject({ method: 'PATCH', body: { is_active: false } }),
    );

    await userEvent.click(within(row).getByRole('button', { name: 'Reset password' }));
    dialog = await screen.findByRole('dialog', { name: "Reset bob's password?" });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Reset password' }));
    expect((await screen.findByTestId('temporary-password')).textContent).toBe('reset-Pass-0002');
    await userEvent.click(screen.getByRole('button', { name: 'Done' }));

    await userEvent.click(within(row).getByRole('button', { name: 'Delete' }));
    dialog = await screen.findByRole('dialog', { name: 'Delete bob?' });
    expect(mutations().some((c) => c.method === 'DELETE')).toBe(false);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() =>
      expect(mutations().at(-1)).toMatchObject({ method: 'DELETE', path: '/users/id-bob' }),
    );
  });

  it('shows the refusal inside the confirmation (the last admin)', async () => {
    const ann = user('ann', { role: 'admin' });
    mockApi({
      'GET /users': users(me, ann),
      'PATCH /users/id-ann': () =>
        new Response(
          JSON.stringify({
            error: { code: 'conflict', message: 'The last active admin may not be demoted' },
          }),
          {
            status: 409,
          },
        ),
    });
    renderApp(<UsersPage />, { path: '/users' });
    const row = await screen.findByTestId('user-row-ann');
    await userEvent.selectOptions(within(row).getByLabelText('Role of ann'), 'viewer');
    const dialog = await screen.findByRole('dialog', { name: 'Make ann viewer?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Make viewer' }));
    expect((await within(dialog).findByRole('alert')).textContent).toContain('last active admin');
  });

  it('shows an operator no user management and asks the API nothing about users', async () => {
    const api = mockApi({ 'GET /users': users(me) }, { role: 'operator' });
    renderApp(<UsersPage />, { path: '/users' });
    expect(await screen.findByText('Only an admin may manage users')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByRole('button', { name: 'Create a user' })).toBeNull();
    expect(api.calls.some((c) => c.path === '/users')).toBe(false);
  });
});
