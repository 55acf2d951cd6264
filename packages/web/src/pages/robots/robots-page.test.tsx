import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { robotFixture } from '../../test/fixtures';
import { mockApi, renderApp } from '../../test/render';
import RobotsPage from './robots-page';

const list = (...items: ReturnType<typeof robotFixture>[]) => ({ items, total: items.length });
const SECRET = 'tpr_s3cret-shown-once';

describe('RobotsPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('registers a robot and shows its credentials and agent command line once', async () => {
    const api = mockApi({
      'GET /robots': list(robotFixture('r1')),
      'POST /robots': ({ body }: { body: { robot_id: string } }) => ({
        robot: robotFixture(body.robot_id),
        mqtt: { username: body.robot_id, password: SECRET, url: 'mqtt://fleet.example:1883' },
      }),
    });
    renderApp(<RobotsPage />, { path: '/robots' });
    await screen.findByTestId('robot-row-r1', {}, { timeout: 5000 });
    await userEvent.click(await screen.findByRole('button', { name: 'Register a robot' }));
    await userEvent.type(screen.getByLabelText('Robot id'), 'cart_7');
    await userEvent.type(screen.getByLabelText('Tags (optional)'), 'aisle-3, night');
    await userEvent.click(screen.getByRole('button', { name: 'Register' }));
    expect((await screen.findByTestId('robot-secret')).textContent).toBe(SECRET);
    expect(screen.getByTestId('agent-command').textContent).toBe(
      `npm run simulate -- --robots 1 --broker mqtt://fleet.example:1883 --username cart_7 --password ${SECRET}`,
    );
    expect(api.calls.find((c) => c.method === 'POST')?.body).toEqual({
      robot_id: 'cart_7',
      tags: ['aisle-3', 'night'],
    });
    await userEvent.click(screen.getByRole('button', { name: 'I have stored the password' }));
    await waitFor(() => expect(screen.queryByTestId('robot-credentials')).toBeNull());
    // Opened again: a fresh form, the secret is gone for good.
    await userEvent.click(screen.getByRole('button', { name: 'Register a robot' }));
    expect(await screen.findByLabelText('Robot id')).toBeTruthy();
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it('says why a registration was refused', async () => {
    mockApi({
      'GET /robots': list(),
      'POST /robots': () =>
        new Response(
          JSON.stringify({ error: { code: 'conflict', message: 'Robot cart_7 has credentials already' } }),
          { status: 409 },
        ),
    });
    renderApp(<RobotsPage />, { path: '/robots' });
    await screen.findByText('No robots yet');
    await userEvent.click(await screen.findByRole('button', { name: 'Register a robot' }));
    await userEvent.type(screen.getByLabelText('Robot id'), 'cart_7');
    await userEvent.click(screen.getByRole('button', { name: 'Register' }));
    expect((await screen.findByRole('alert')).textContent).toContain('has credentials already');
    expect(screen.queryByTestId('robot-credentials')).toBeNull();
  });

  it('claims a pending anonymous robot, warning about it first', async () => {
    const api = mockApi({
      'GET /robots': list(
        robotFixture('legacy_1', {
          registration: 'pending',
          anonymous: true,
          has_credentials: false,
          protocol: 'legacy',
        }),
      ),
      'POST /robots': ({ body }: { body: { robot_id: string } }) => ({
        robot: robotFixture(body.robot_id),
        mqtt: { username: body.robot_id, password: SECRET, url: 'mqtt://h:1883' },
      }),
    });
    renderApp(<RobotsPage />, { path: '/robots' });
    const row = await screen.findByTestId('robot-row-legacy_1');
    expect(within(row).getByText('Legacy, anonymous')).toBeTruthy();
    expect(screen.getByTestId('anonymous-warning').textContent).toContain('without credentials');
    await userEvent.click(await within(row).findByRole('button', { name: 'Claim' }));
    await userEvent.click(screen.getByRole('button', { name: 'Claim' }));
    expect((await screen.findByTestId('robot-secret')).textContent).toBe(SECRET);
    expect(screen.getByText(/Claimed/)).toBeTruthy();
    expect(api.calls.find((c) => c.method === 'POST')?.body).toEqual({ robot_id: 'legacy_1' });
  });

  it('deletes a robot only after a confirmation', async () => {
    const api = mockApi({
      'GET /robots': list(robotFixture('r1')),
      'DELETE /robots/r1': () =>
        robotFixture('r1', { deleted_at: new Date().toISOString(), is_active: false }),
    });
    renderApp(<RobotsPage />, { path: '/robots' });
    const row = await screen.findByTestId('robot-row-r1', {}, { timeout: 5000 });
    await userEvent.click(await within(row).findByRole('button', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete r1?' });
    expect(api.calls.some((c) => c.method === 'DELETE')).toBe(false);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() =>
      expect(api.calls.some((c) => c.method === 'DELETE' && c.path === '/robots/r1')).toBe(true),
    );
  });

  it('keeps filters and the page in the URL and asks the API with them', async () => {
    const api = mockApi({ 'GET /robots': { items: [robotFixture('r1')], total: 60 } });
    const { router } = renderApp(<RobotsPage />, { path: '/robots?registration=pending&tag=aisle-3' });
    const lastList = () => api.calls.filter((c) => c.path === '/robots').at(-1)?.search;
    await screen.findByTestId('robot-row-r1', {}, { timeout: 5000 });
    expect(lastList()).toContain('registration=pending');
    expect(lastList()).toContain('tag=aisle-3');
    expect(screen.getByTestId('pager-range').textContent).toBe('1–25 of 60');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(router.state.location.search).toContain('offset=25');
    await waitFor(() => expect(lastList()).toContain('offset=25'));
    await userEvent.click(screen.getByLabelText('Show deleted robots only'));
    expect(router.state.location.search).toContain('deleted=true');
    expect(router.state.location.search).not.toContain('offset');
  });

  it('shows an operator the list without register, claim or delete', async () => {
    mockApi(
      {
        'GET /robots': list(
          robotFixture('p1', { registration: 'pending', anonymous: true, has_credentials: false }),
        ),
      },
      { role: 'operator' },
    );
    renderApp(<RobotsPage />, { path: '/robots' });
    await screen.findByTestId('robot-row-p1');
    await waitFor(() =>
      expect(screen.getByTestId('anonymous-warning').textContent).toContain('An admin can claim'),
    );
    expect(screen.queryByRole('button', { name: 'Register a robot' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Claim' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull();
  });
});
