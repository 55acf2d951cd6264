import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogEntry } from '../api/types';
import { mockApi, renderApp } from '../test/render';
import LogsPage from './logs-page';

function entry(id: number, over: Partial<LogEntry> = {}): LogEntry {
  return {
    id,
    timestamp: new Date(Date.UTC(2026, 11, 2, 12, 0, id)).toISOString(),
    level: 'INFO',
    category: 'robot',
    robot_id: 'r1',
    message: `stored message ${id}`,
    source: 'main',
    details: null,
    ...over,
  };
}

describe('LogsPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends the filters in the URL to the API and keeps changes in the URL', async () => {
    const { calls } = mockApi({ 'GET /logs': { items: [entry(1)], next_cursor: null } });
    const { router } = renderApp(<LogsPage />, {
      path: '/logs?level=WARNING&category=robot&robot=r1&window=1h',
    });
    await screen.findByText('stored message 1');
    const first = new URLSearchParams(calls.find((c) => c.path === '/logs')?.search);
    expect(Object.fromEntries(first)).toEqual({
      level: 'WARNING',
      category: 'robot',
      robot_id: 'r1',
      from: '1h',
      limit: '100',
    });
    await userEvent.selectOptions(screen.getByLabelText('Level or worse'), 'ERROR');
    await userEvent.type(screen.getByLabelText('Search messages'), 'servo');
    await waitFor(() => expect(new URLSearchParams(router.state.location.search).get('q')).toBe('servo'));
    expect(new URLSearchParams(router.state.location.search).get('level')).toBe('ERROR');
    await waitFor(() => {
      const last = new URLSearchParams(calls.filter((c) => c.path === '/logs').at(-1)?.search);
      expect(last.get('q')).toBe('servo');
      expect(last.get('level')).toBe('ERROR');
    });
  });

  it('pages older entries with the cursor', async () => {
    const { calls } = mockApi({
      'GET /logs': ({ url }: { url: URL }) =>
        url.searchParams.get('cursor') === 'c2'
          ? { items: [entry(1)], next_cursor: null }
          : { items: [entry(2)], next_cursor: 'c2' },
    });
    renderApp(<LogsPage />, { path: '/logs' });
    await screen.findByText('stored message 2');
    await userEvent.click(screen.getByRole('button', { name: 'Load older entries' }));
    await screen.findByText('stored message 1');
    expect(
      calls.filter((c) => c.path === '/logs').map((c) => new URLSearchParams(c.search).get('cursor')),
    ).toEqual([null, 'c2']);
    expect(screen.queryByRole('button', { name: 'Load older entries' })).toBeNull();
  });

  it('follows live: subscribes to the log channel and prepends the matching lines per frame', async () => {
    mockApi({ 'GET /logs': { items: [entry(1)], next_cursor: null } });
    const { live } = renderApp(<LogsPage />, { path: '/logs?level=WARNING&follow=1' });
    await screen.findByText('stored message 1');
    const socket = live.open();
    await waitFor(() =>
      expect(
        (socket.sent as { type: string; channels?: string[] }[]).some(
          (m) => m.type === 'subscribe' && m.channels?.includes('log'),
        ),
      ).toBe(true),
    );
    const ts = Date.now();
    socket.frame({ type: 'log', robot_id: 'r2', level: 'error', message: 'gripper jammed', ts });
    socket.frame({ type: 'log', robot_id: 'r2', level: 'info', message: 'too quiet to show', ts });
    socket.frame({ type: 'log', robot_id: 'r3', level: 'warn', message: 'battery low', ts: ts + 1 });
    expect(screen.queryByText('gripper jammed')).toBeNull();
    live.flush();
    await screen.findByText('gripper jammed');
    const lines = within(screen.getByTestId('log-entries')).getAllByRole('listitem');
    expect(lines.map((l) => l.textContent)).toEqual([
      expect.stringContaining('battery low'),
      expect.stringContaining('gripper jammed'),
      expect.stringContaining('stored message 1'),
    ]);
    expect(screen.queryByText('too quiet to show')).toBeNull();
  });

  it('does not add live lines when not following', async () => {
    mockApi({ 'GET /logs': { items: [entry(1)], next_cursor: null } });
    const { live } = renderApp(<LogsPage />, { path: '/logs' });
    await screen.findByText('stored message 1');
    const socket = live.open();
    socket.frame({ type: 'log', robot_id: 'r2', level: 'error', message: 'gripper jammed', ts: Date.now() });
    live.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByText('gripper jammed')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Follow live' }));
    expect(screen.getByRole('button', { name: 'Following live' }).getAttribute('aria-pressed')).toBe('true');
  });

  it('offers exports of exactly what is filtered', async () => {
    mockApi({ 'GET /logs': { items: [entry(1)], next_cursor: null } });
    renderApp(<LogsPage />, { path: '/logs?level=ERROR&category=mqtt&robot=r9&window=7d&q=lost%20link' });
    await screen.findByText('stored message 1');
    const csv = new URL(
      screen.getByRole('link', { name: 'Export CSV' }).getAttribute('href') ?? '',
      'http://x',
    );
    expect(csv.pathname).toBe('/api/v1/logs/export');
    expect(Object.fromEntries(csv.searchParams)).toEqual({
      format: 'csv',
      level: 'ERROR',
      category: 'mqtt',
      robot_id: 'r9',
      from: '7d',
      q: 'lost link',
    });
    const json = new URL(
      screen.getByRole('link', { name: 'Export JSON' }).getAttribute('href') ?? '',
      'http://x',
    );
    expect(json.searchParams.get('format')).toBe('json');
    expect(json.searchParams.get('q')).toBe('lost link');
  });

  it('says what to do when nothing matches, and when the log cannot be read', async () => {
    mockApi({ 'GET /logs': { items: [], next_cursor: null } });
    const first = renderApp(<LogsPage />, { path: '/logs?q=nothing' });
    await screen.findByText('No log entries match these filters');
    first.unmount();
    vi.unstubAllGlobals();
    mockApi({
      'GET /logs': () =>
        new Response(JSON.stringify({ error: { code: 'internal', message: 'The database is busy' } }), {
          status: 500,
        }),
    });
    renderApp(<LogsPage />, { path: '/logs' });
    await screen.findByText('The database is busy');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
  });
});
