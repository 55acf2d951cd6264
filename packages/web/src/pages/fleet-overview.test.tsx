import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { robotFixture } from '../test/fixtures';
import { mockApi, renderApp } from '../test/render';
import { FleetOverviewPage } from './fleet-overview';

const fleet = (...items: ReturnType<typeof robotFixture>[]) => ({ items, total: items.length });

describe('FleetOverviewPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows a card per robot with the values the list brought, then the live ones', async () => {
    mockApi({ 'GET /robots': fleet(robotFixture('r1', { name: 'Picker 1' }), robotFixture('r2')) });
    const { live } = renderApp(<FleetOverviewPage />);
    const card = await screen.findByTestId('robot-card-r1');
    expect(within(card).getByText('Picker 1')).toBeTruthy();
    expect(within(card).getByTestId('battery').textContent).toBe('80%');
    live.open();
    live.socket().frame({
      type: 'telemetry',
      robot_id: 'r1',
      measurement: 'battery',
      ts: Date.now(),
      fields: { percent: 42 },
    });
    // Applied at the next animation frame, not per message.
    expect(within(card).getByTestId('battery').textContent).toBe('80%');
    live.flush();
    await waitFor(() => expect(within(card).getByTestId('battery').textContent).toBe('42%'));
    expect(within(screen.getByTestId('robot-card-r2')).getByTestId('battery').textContent).toBe('80%');
  });

  it('asks the stream for just the measurements the cards show, at 2 Hz', async () => {
    mockApi({ 'GET /robots': fleet(robotFixture('r1')) });
    const { live } = renderApp(<FleetOverviewPage />);
    await screen.findByTestId('robot-card-r1');
    live.open();
    const subscribe = live.socket().sent.find((m) => (m as { type: string }).type === 'subscribe');
    expect(subscribe).toMatchObject({
      robots: ['*'],
      measurements: ['battery', 'job', 'system'],
      telemetry_hz: 2,
    });
    expect((subscribe as { channels: string[] }).channels).toEqual(
      expect.arrayContaining(['telemetry', 'status', 'job']),
    );
  });

  it("shows a fresh job reading as the card's progress, and its last-seen time", async () => {
    mockApi({ 'GET /robots': fleet(robotFixture('r1')) });
    const { live } = renderApp(<FleetOverviewPage />);
    const card = await screen.findByTestId('robot-card-r1');
    expect(within(card).queryByRole('progressbar')).toBeNull();
    live.open();
    live.socket().frame({
      type: 'telemetry',
      robot_id: 'r1',
      measurement: 'job',
      ts: Date.now(),
      fields: { items_done: 3, items_total: 12, percent: 25.4 },
    });
    live.flush();
    const bar = await within(card).findByRole('progressbar', { name: 'Job progress' });
    expect(bar.getAttribute('aria-valuenow')).toBe('25');
    expect(card.textContent).toContain('3/12 items · 25%');
    expect(card.textContent).toContain('Seen just now');
  });

  it('counts robots by live status and filters by the status in the URL', async () => {
    mockApi({
      'GET /robots': fleet(robotFixture('r1'), robotFixture('r2'), robotFixture('r3', { status: 'offline' })),
    });
    const { live, router } = renderApp(<FleetOverviewPage />, { path: '/?status=online' });
    await screen.findByTestId('robot-card-r1');
    expect(screen.getByTestId('count-online').textContent).toBe('2');
    expect(screen.queryByTestId('robot-card-r3')).toBeNull();
    live.open();
    live.socket().frame({ type: 'status', robot_id: 'r2', status: 'emergency_stopped', ts: Date.now() });
    live.flush();
    await waitFor(() => expect(screen.getByTestId('count-emergency_stopped').textContent).toBe('1'));
    expect(screen.getByTestId('count-online').textContent).toBe('1');
    expect(screen.queryByTestId('robot-card-r2')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: /Stopped/ }));
    expect(router.state.location.search).toBe('?status=emergency_stopped');
    expect(screen.getByTestId('robot-card-r2')).toBeTruthy();
  });

  it('searches by id or name, and says so when nothing matches', async () => {
    mockApi({ 'GET /robots': fleet(robotFixture('alpha'), robotFixture('beta', { name: 'Welder' })) });
    const { router } = renderApp(<FleetOverviewPage />);
    await screen.findByTestId('robot-card-alpha');
    await userEvent.type(screen.getByLabelText('Search robots'), 'weld');
    expect(screen.queryByTestId('robot-card-alpha')).toBeNull();
    expect(screen.getByTestId('robot-card-beta')).toBeTruthy();
    expect(router.state.location.search).toBe('?q=weld');
    await userEvent.type(screen.getByLabelText('Search robots'), 'zzz');
    expect(screen.getByText('No robot matches these filters')).toBeTruthy();
  });

  it('offers the fleet emergency stop to an operator, not to a viewer', async () => {
    mockApi({ 'GET /robots': fleet(robotFixture('r1')) }, { role: 'operator' });
    const first = renderApp(<FleetOverviewPage />);
    await screen.findByTestId('robot-card-r1');
    await screen.findByRole('button', { name: 'Emergency stop fleet' });
    first.unmount();
    vi.unstubAllGlobals();
    mockApi({ 'GET /robots': fleet(robotFixture('r1')) }, { role: 'viewer' });
    renderApp(<FleetOverviewPage />);
    await screen.findByTestId('robot-card-r1');
    // Wait until the session is known (the role decides), then look.
    await waitFor(() => expect(screen.getByTestId('count-total').textContent).toBe('1'));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByRole('button', { name: /Emergency stop/ })).toBeNull();
  });

  it('sends the stop only after the confirmation, with the reason given', async () => {
    const { calls } = mockApi({
      'GET /robots': fleet(robotFixture('r1')),
      'POST /fleet/emergency-stop': { stop_id: 'st1', action: 'emergency_stop', robots: 1 },
    });
    renderApp(<FleetOverviewPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Emergency stop fleet' }));
    const dialog = await screen.findByRole('dialog');
    expect(calls.some((c) => c.path === '/fleet/emergency-stop')).toBe(false);
    await userEvent.type(within(dialog).getByLabelText(/Reason/), 'aisle blocked');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Stop now' }));
    await waitFor(() =>
      expect(calls.find((c) => c.path === '/fleet/emergency-stop')?.body).toEqual({
        reason: 'aisle blocked',
      }),
    );
    expect(await screen.findByText('Emergency stop sent')).toBeTruthy();
  });

  it('says what to do when there is no robot, and when the fleet cannot be loaded', async () => {
    mockApi({ 'GET /robots': fleet() });
    const first = renderApp(<FleetOverviewPage />);
    expect(await screen.findByText('No robots yet')).toBeTruthy();
    first.unmount();
    vi.unstubAllGlobals();
    mockApi({
      'GET /robots': () =>
        new Response(
          JSON.stringify({ error: { code: 'service_unavailable', message: 'The server is busy' } }),
          { status: 503 },
        ),
    });
    renderApp(<FleetOverviewPage />);
    expect(await screen.findByText('The fleet could not be loaded')).toBeTruthy();
    expect(screen.getByText('The server is busy')).toBeTruthy();
    expect(screen.getByRole('button', { name: /Try again/ })).toBeTruthy();
  });
});
