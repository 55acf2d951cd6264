import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job, JobFigures } from '../api/types';
import JobsPage from '../pages/jobs-page';
import { mockApi, renderApp } from '../test/render';
import { formatDuration } from './jobs-view';

const now = new Date().toISOString();

function job(id: number, over: Partial<Job> = {}): Job {
  return {
    id,
    robot_id: 'r1',
    job_key: null,
    task_name: `Pick order ${id}`,
    phase: 'picking',
    status: 'completed',
    items_done: 4,
    items_total: 10,
    percent_complete: 40,
    last_item: null,
    success: true,
    cancel_reason: null,
    superseded_by: null,
    opened_by: 'start',
    start_time: now,
    end_time: now,
    duration_s: 125,
    estimated_duration_s: null,
    action_duration_s: null,
    created_at: now,
    updated_at: now,
    ...over,
  };
}

const figures = (over: Partial<JobFigures> = {}): JobFigures => ({
  total: 12,
  active: 1,
  completed: 9,
  failed: 2,
  cancelled: 0,
  success_rate: 0.818,
  avg_duration_s: 4000,
  median_duration_s: 90,
  items_done: 120,
  items_per_hour: 33.25,
  ...over,
});

const page = (items: Job[], next_cursor: string | null = null) => ({
  items,
  next_cursor,
  total: items.length,
});

describe('the Jobs page', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows the active jobs with progress (moved by the live job measurement), the figures and the history', async () => {
    mockApi({
      'GET /jobs': ({ url }: { url: URL }) =>
        url.searchParams.get('status') === 'active'
          ? page([
              job(7, {
                status: 'active',
                end_time: null,
                success: null,
                percent_complete: 30,
                items_done: 3,
              }),
            ])
          : page([job(5), job(4, { status: 'failed', success: false, cancel_reason: 'gripper jammed' })]),
      'GET /jobs/stats': {
        from: now,
        to: now,
        fleet: figures(),
        robots: [{ robot_id: 'r1', ...figures({ total: 3, success_rate: null, items_per_hour: null }) }],
      },
    });
    const { live } = renderApp(<JobsPage />, { path: '/jobs' });
    const active = await screen.findByTestId('active-job-r1');
    expect(within(active).getByTestId('job-progress').textContent).toBe('30% · 3 / 10 items');
    expect(within(active).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('30');
    expect(within(active).getByTestId('job-phase').textContent).toBe('picking');
    live.open();
    live.socket().frame({
      type: 'telemetry',
      robot_id: 'r1',
      measurement: 'job',
      ts: Date.now(),
      fields: { percent: 65, items_done: 6 },
    });
    live.flush();
    await waitFor(() =>
      expect(within(active).getByTestId('job-progress').textContent).toBe('65% · 6 / 10 items'),
    );

    expect(screen.getAllByTestId('success-rate')[0]?.textContent).toBe('82%');
    expect(screen.getByText('1 h 7 min / 1 min 30 s')).toBeTruthy();
    const perRobot = screen.getByRole('table', { name: 'Jobs per robot' });
    expect(within(perRobot).getAllByRole('row')[1]?.textContent).toContain('—');

    const history = screen.getByRole('list', { name: 'Job history' });
    expect(within(history).getAllByRole('listitem')).toHaveLength(2);
    expect(history.textContent).toContain('completed');
    expect(history.textContent).toContain('gripper jammed');
    // The active job is not in the history of ended ones.
    expect(history.textContent).not.toContain('Pick order 7');
  });

  it('filters the history by state, robot and window through the URL, and loads older jobs', async () => {
    const { calls } = mockApi({
      'GET /jobs': ({ url }: { url: URL }) =>
        url.searchParams.get('status') === 'active'
          ? page([])
          : url.searchParams.get('cursor') === 'c2'
            ? page([job(1, { task_name: 'Oldest' })])
            : page([job(3)], 'c2'),
      'GET /jobs/stats': { from: now, to: now, fleet: figures(), robots: [] },
    });
    const { router } = renderApp(<JobsPage />, { path: '/jobs?status=failed&window=30d' });
    expect(await screen.findByText('No job is running')).toBeTruthy();
    await screen.findByText('Pick order 3');
    const first = calls.find((c) => c.path === '/jobs' && !c.search.includes('active'));
    const q = new URLSearchParams(first?.search);
    expect([q.get('status'), q.get('from')]).toEqual(['failed', '30d']);
    expect(new URLSearchParams(calls.find((c) => c.path === '/jobs/stats')?.search).get('from')).toBe('30d');

    await userEvent.type(screen.getByLabelText('Robot'), 'r9{Enter}');
    await waitFor(() => expect(new URLSearchParams(router.state.location.search).get('robot')).toBe('r9'));
    await waitFor(() =>
      expect(
        calls.some((c) => c.path === '/jobs' && new URLSearchParams(c.search).get('robot_id') === 'r9'),
      ).toBe(true),
    );
    await userEvent.selectOptions(screen.getByLabelText('Jobs started'), '7d');
    await waitFor(() => expect(new URLSearchParams(router.state.location.search).get('window')).toBeNull());

    await userEvent.click(await screen.findByRole('button', { name: 'Load older jobs' }));
    await screen.findByText('Oldest');
    expect(screen.queryByRole('button', { name: 'Load older jobs' })).toBeNull();
  });

  it('shows a job’s scanned items on demand, and says when there were none', async () => {
    const { calls } = mockApi({
      'GET /jobs': ({ url }: { url: URL }) =>
        url.searchParams.get('status') === 'active'
          ? page([])
          : page([job(5), job(6, { task_name: 'Empty run' })]),
      'GET /jobs/stats': { from: now, to: now, fleet: figures(), robots: [] },
      'GET /scans': ({ url }: { url: URL }) =>
        url.searchParams.get('job_id') === '5'
          ? {
              items: [
                {
                  id: 1,
                  robot_id: 'r1',
                  code: 'QR-0042',
                  found: true,
                  item_id: 3,
                  item_name: 'Blue box',
                  station_name: 'Shelf A',
                  action: null,
                  job_id: 5,
                  scanned_at: now,
                },
                {
                  id: 2,
                  robot_id: 'r1',
                  code: 'QR-9999',
                  found: false,
                  item_id: null,
                  item_name: null,
                  station_name: null,
                  action: null,
                  job_id: 5,
                  scanned_at: now,
                },
              ],
              next_cursor: null,
              total: 2,
            }
          : { items: [], next_cursor: null, total: 0 },
    });
    renderApp(<JobsPage />, { path: '/jobs' });
    await screen.findByText('Pick order 5');
    const [firstItems, secondItems] = screen.getAllByRole('button', { name: 'Items' });
    await userEvent.click(firstItems as HTMLElement);
    const items = await screen.findByRole('list', { name: 'Items of job 5' });
    expect(items.textContent).toContain('QR-0042');
    expect(items.textContent).toContain('Blue box');
    expect(items.textContent).toContain('at Shelf A');
    expect(items.textContent).toContain('not in the catalogue');
    expect(new URLSearchParams(calls.find((c) => c.path === '/scans')?.search).get('job_id')).toBe('5');
    await userEvent.click(secondItems as HTMLElement);
    expect(await screen.findByText('No item was scanned in this job.')).toBeTruthy();
  });

  it('says so when the jobs cannot be loaded, and reads them again on Retry', async () => {
    let fail = true;
    mockApi({
      'GET /jobs': () =>
        fail
          ? new Response(JSON.stringify({ error: { code: 'internal', message: 'database down' } }), {
              status: 503,
            })
          : page([]),
      'GET /jobs/stats': { from: now, to: now, fleet: figures(), robots: [] },
    });
    renderApp(<JobsPage />, { path: '/jobs' });
    const retries = await screen.findAllByRole('button', { name: /Try again|Retry/ });
    fail = false;
    for (const b of retries) await userEvent.click(b);
    expect(await screen.findByText('No job is running')).toBeTruthy();
  });

  it('formats durations for people', () => {
    expect([formatDuration(null), formatDuration(42.4), formatDuration(125), formatDuration(7260)]).toEqual([
      '—',
      '42 s',
      '2 min 5 s',
      '2 h 1 min',
    ]);
  });
});
