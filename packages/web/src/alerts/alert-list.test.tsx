import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alertFixture } from '../test/fixtures';
import { mockApi, renderApp } from '../test/render';
import { AlertListView } from './alert-list';

const page = (items: ReturnType<typeof alertFixture>[], next_cursor: string | null = null) => ({
  items,
  next_cursor,
  total: items.length,
  total_capped: false,
});
const silences = { 'GET /alert-silences': { items: [], total: 0 } };

describe('AlertListView', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends the filters in the URL as the list query, and changes the URL when a filter changes', async () => {
    const { calls } = mockApi({ ...silences, 'GET /alerts': page([alertFixture(1)]) });
    const { router } = renderApp(<AlertListView />, {
      path: '/alerts?state=unresolved&severity=critical&q=servo&window=24h&robot=r9',
    });
    await screen.findByTestId('alert-1');
    const first = calls.find((c) => c.path === '/alerts');
    const q = new URLSearchParams(first?.search);
    expect(q.getAll('state')).toEqual(['open', 'acknowledged']);
    expect(q.get('severity')).toBe('critical');
    expect(q.get('search')).toBe('servo');
    expect(q.get('time_range')).toBe('24h');
    expect(q.get('robot_id')).toBe('r9');
    await userEvent.selectOptions(screen.getByLabelText('Type'), 'robot_offline');
    expect(new URLSearchParams(router.state.location.search).get('type')).toBe('robot_offline');
    await waitFor(() =>
      expect(
        calls.filter((c) => c.path === '/alerts').some((c) => c.search.includes('alert_type=robot_offline')),
      ).toBe(true),
    );
  });

  it('shows the camera snapshots kept for the alerts on screen, asked for in one request', async () => {
    const { calls } = mockApi(
      {
        ...silences,
        'GET /alerts': page([alertFixture(2), alertFixture(1), alertFixture(3, { robot_id: null })]),
        'GET /camera/snapshots': {
          items: [
            {
              id: 9,
              robot_id: 'r1',
              taken_at: new Date().toISOString(),
              taken_by: 'op',
              width: 640,
              height: 480,
              size_bytes: 20_000,
              alert_id: 2,
              note: 'smoke',
              url: '/api/v1/camera/snapshots/9',
            },
          ],
        },
      },
      { role: 'operator' },
    );
    renderApp(<AlertListView />, { path: '/alerts' });
    const row = await screen.findByTestId('alert-2');
    const img = await within(row).findByAltText('Snapshot 9 of r1: smoke');
    expect(img.getAttribute('src')).toBe('/api/v1/camera/snapshots/9');
    expect(within(screen.getByTestId('alert-1')).queryByRole('img')).toBeNull();
    const asked = calls.filter((c) => c.path === '/camera/snapshots');
    // A fleet alert (no robot) has no camera: only the robots' alerts are asked for.
    expect(new URLSearchParams(asked[0]?.search).get('alert_ids')).toBe('1,2');
    // Operators get a way to take one for an open alert: the robot's camera tab with the alert picked.
    expect(within(row).getByRole('link', { name: 'Take a camera snapshot' }).getAttribute('href')).toBe(
      '/robots/r1?tab=camera&alert=2',
    );
  });

  it('offers viewers no snapshot link', async () => {
    mockApi({ ...silences, 'GET /alerts': page([alertFixture(1)]) }, { role: 'viewer' });
    renderApp(<AlertListView />, { path: '/alerts' });
    const row = await screen.findByTestId('alert-1');
    expect(within(row).queryByRole('link', { name: 'Take a camera snapshot' })).toBeNull();
  });

  it('loads older alerts with the cursor the first page gave', async () => {
    const { calls } = mockApi({
      ...silences,
      'GET /alerts': ({ url }: { url: URL }) =>
        url.searchParams.get('cursor') === 'c2'
          ? page([alertFixture(1)])
          : page([alertFixture(3), alertFixture(2)], 'c2'),
    });
    renderApp(<AlertListView />, { path: '/alerts' });
    await screen.findByTestId('alert-3');
    await userEvent.click(screen.getByRole('button', { name: 'Load older' }));
    await screen.findByTestId('alert-1');
    expect(calls.some((c) => c.search.includes('cursor=c2'))).toBe(true);
    expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull();
  });

  it('puts a live alert that matches the filters at the top, and updates one in place', async () => {
    mockApi({ ...silences, 'GET /alerts': page([alertFixture(1)]) });
    const { live } = renderApp(<AlertListView />, { path: '/alerts?severity=critical' });
    await screen.findByTestId('alert-1');
    live.open();
    live
      .socket()
      .frame({ type: 'alert', change: 'raised', alert: alertFixture(2, { severity: 'critical' }) });
    live.socket().frame({ type: 'alert', change: 'raised', alert: alertFixture(3, { severity: 'info' }) });
    live
      .socket()
      .frame({ type: 'alert', change: 'acknowledged', alert: alertFixture(1, { state: 'acknowledged' }) });
    live.flush();
    await screen.findByTestId('alert-2');
    expect(screen.queryByTestId('alert-3')).toBeNull();
    const rows = within(screen.getByRole('list', { name: 'Alerts' })).getAllByRole('listitem');
    expect(rows[0]?.dataset.testid).toBe('alert-2');
    expect(within(screen.getByTestId('alert-1')).getByTestId('alert-state').textContent).toBe('Acknowledged');
  });

  it('acknowledges an alert with a note and shows its new state', async () => {
    const { calls } = mockApi(
      {
        ...silences,
        'GET /alerts': page([alertFixture(1)]),
        'POST /alerts/1/acknowledge': ({ body }: { body: { note?: string } }) =>
          alertFixture(1, {
            state: 'acknowledged',
            acknowledged_by: 'operator-user',
            acknowledged_at: new Date().toISOString(),
            acknowledge_note: body.note ?? null,
          }),
      },
      { role: 'operator' },
    );
    renderApp(<AlertListView />, { path: '/alerts' });
    const row = await screen.findByTestId('alert-1');
    await userEvent.click(await within(row).findByRole('button', { name: 'Acknowledge' }));
    await userEvent.type(screen.getByLabelText('Note (optional)'), 'on it');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Acknowledge' }));
    await waitFor(() =>
      expect(within(screen.getByTestId('alert-1')).getByTestId('alert-state').textContent).toBe(
        'Acknowledged',
      ),
    );
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ note: 'on it' });
    expect(screen.getByText(/on it/)).toBeTruthy();
  });

  it('acknowledges all matching by the API filter', async () => {
    const { calls } = mockApi(
      {
        ...silences,
        'GET /alerts': page([alertFixture(1)]),
        'POST /alerts/acknowledge': { acknowledged: 4 },
      },
      { role: 'operator' },
    );
    renderApp(<AlertListView />, { path: '/alerts?severity=warning&robot=r1' });
    await userEvent.click(await screen.findByRole('button', { name: 'Acknowledge all matching' }));
    await userEvent.click(screen.getByRole('button', { name: 'Acknowledge all' }));
    await screen.findByText('4 alerts acknowledged');
    expect(calls.find((c) => c.path === '/alerts/acknowledge')?.body).toEqual({
      filter: { robot_id: 'r1', severity: 'warning' },
    });
  });

  it('shows a viewer no action buttons', async () => {
    mockApi({ ...silences, 'GET /alerts': page([alertFixture(1)]) }, { role: 'viewer' });
    renderApp(<AlertListView />, { path: '/alerts' });
    await screen.findByTestId('alert-1');
    await new Promise((r) => setTimeout(r, 30));
    expect(screen.queryByRole('button', { name: /Acknowledge|Resolve|Silence/ })).toBeNull();
  });

  it('says what to do when nothing matches, and when the list fails', async () => {
    mockApi({ ...silences, 'GET /alerts': page([]) });
    const first = renderApp(<AlertListView />, { path: '/alerts?state=open' });
    await screen.findByText('No alert matches these filters');
    first.unmount();
    vi.unstubAllGlobals();
    mockApi({
      'GET /alerts': new Response(JSON.stringify({ error: { code: 'internal_error', message: 'boom' } }), {
        status: 500,
      }),
    });
    renderApp(<AlertListView />, { path: '/alerts' });
    await screen.findByText('The alerts could not be loaded');
  });
});
