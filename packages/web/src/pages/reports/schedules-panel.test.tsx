import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReportSchedule } from '../../api/types';
import { mockApi, renderApp } from '../../test/render';
import ReportsPage from './reports-page';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function schedule(id: number, over: Partial<ReportSchedule> = {}): ReportSchedule {
  return {
    id,
    name: `Weekly fleet ${id}`,
    kind: 'fleet_summary',
    robot_id: null,
    tag: null,
    sections: ['availability'],
    ai: false,
    frequency: 'weekly',
    time: '06:00',
    weekday: 1,
    day_of_month: 1,
    channel_ids: [],
    enabled: true,
    time_zone: 'UTC',
    description: 'Every Monday at 06:00 (UTC), for the week before (Monday to Sunday)',
    next_run_at: '2026-12-07T06:00:00.000Z',
    last_run_at: null,
    last_report_id: null,
    last_status: null,
    created_by: 'admin',
    created_at: '2026-12-01T00:00:00.000Z',
    updated_at: '2026-12-01T00:00:00.000Z',
    ...over,
  };
}

describe('report schedules on the Reports page', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('lists schedules with their next and last run, and shows a schedule’s history from the URL', async () => {
    const { calls, router } = (() => {
      const m = mockApi({
        'GET /reports': () => ({ items: [], total: 0 }),
        'GET /report-schedules': {
          items: [
            schedule(1, {
              last_report_id: 40,
              last_run_at: '2026-11-30T06:00:00.000Z',
              last_status: 'completed',
            }),
            schedule(2, {
              name: 'Nightly tonypi_01',
              robot_id: 'tonypi_01',
              enabled: false,
              next_run_at: null,
              channel_ids: [3],
            }),
          ],
          total: 2,
        },
      });
      return { ...m, ...renderApp(<ReportsPage />, { path: '/reports' }) };
    })();
    const first = await screen.findByTestId('schedule-row-1');
    expect(first.textContent).toContain('Every Monday at 06:00 (UTC)');
    expect(within(first).getByRole('link').getAttribute('href')).toBe('/reports/40');
    expect(first.textContent).toContain('completed');
    const second = screen.getByTestId('schedule-row-2');
    expect(within(second).getByTestId('schedule-next').textContent).toBe('paused');
    expect(second.textContent).toContain('tonypi_01');
    expect(second.textContent).toContain('sent to 1 channel');

    fireEvent.click(within(second).getByRole('button', { name: 'History of Nightly tonypi_01' }));
    await waitFor(() => expect(router.state.location.search).toContain('schedule=2'));
    await waitFor(() =>
      expect(
        calls.some((c) => c.path === '/reports' && new URLSearchParams(c.search).get('schedule_id') === '2'),
      ).toBe(true),
    );
    expect(await screen.findByText('This schedule has made no report yet')).toBeTruthy();
    expect(screen.getByText('Runs of “Nightly tonypi_01”')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Show all reports' }));
    await waitFor(() => expect(router.state.location.search).not.toContain('schedule='));
  });

  it('creates a monthly schedule for a tag with an email channel (admin), and shows a refused field', async () => {
    let attempt = 0;
    const { calls } = mockApi({
      'GET /reports': () => ({ items: [], total: 0 }),
      'GET /report-schedules': { items: [], total: 0 },
      'GET /notification-channels': { items: [{ id: 5, name: 'Ops mail', kind: 'email' }] },
      'POST /report-schedules': () =>
        ++attempt === 1
          ? json(400, {
              error: {
                code: 'validation_error',
                message: 'Invalid request',
                details: { fields: [{ field: 'body.tag', message: 'no robot carries the tag "nite"' }] },
              },
            })
          : json(201, schedule(9, { frequency: 'monthly' })),
    });
    renderApp(<ReportsPage />, { path: '/reports' });
    expect(await screen.findByText('No schedule yet')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /New schedule/ }));
    const form = await screen.findByRole('form', { name: 'New schedule' });
    const f = within(form);
    fireEvent.change(f.getByLabelText('Name'), { target: { value: ' Monthly batteries ' } });
    fireEvent.change(f.getByLabelText('Kind'), { target: { value: 'battery' } });
    fireEvent.change(f.getByLabelText('Scope'), { target: { value: 'tag' } });
    fireEvent.change(f.getByLabelText('Tag'), { target: { value: 'nite' } });
    fireEvent.change(f.getByLabelText('Every'), { target: { value: 'monthly' } });
    fireEvent.change(f.getByLabelText('On day'), { target: { value: '3' } });
    fireEvent.change(f.getByLabelText(/^At/), { target: { value: '07:15' } });
    fireEvent.click(await f.findByLabelText(/Ops mail/));
    fireEvent.click(f.getByRole('button', { name: 'Create schedule' }));
    expect(await f.findByText('no robot carries the tag "nite"')).toBeTruthy();
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts[0]?.body).toEqual({
      name: 'Monthly batteries',
      kind: 'battery',
      robot_id: null,
      tag: 'nite',
      sections: null,
      frequency: 'monthly',
      time: '07:15',
      day_of_month: 3,
      channel_ids: [5],
      enabled: true,
    });
    fireEvent.click(f.getByRole('button', { name: 'Create schedule' }));
    await waitFor(() => expect(screen.queryByRole('form', { name: 'New schedule' })).toBeNull());
  });

  it('runs a schedule now and says when its period has a report already', async () => {
    let runs = 0;
    mockApi(
      {
        'GET /reports': () => ({ items: [], total: 0 }),
        'GET /report-schedules': { items: [schedule(1)], total: 1 },
        'POST /report-schedules/1/run': () =>
          ++runs === 1
            ? json(202, { report_id: 77, status: 'queued' })
            : json(409, {
                error: {
                  code: 'already_reported',
                  message: 'Schedule 1 has its report of week of 2026-11-23 already (report 77)',
                },
              }),
      },
      { role: 'operator' },
    );
    renderApp(<ReportsPage />, { path: '/reports' });
    const row = await screen.findByTestId('schedule-row-1');
    fireEvent.click(within(row).getByRole('button', { name: 'Run now: Weekly fleet 1' }));
    expect(await screen.findByText('Report 77 is being generated.')).toBeTruthy();
    fireEvent.click(within(row).getByRole('button', { name: 'Run now: Weekly fleet 1' }));
    expect(await screen.findByText(/has its report of week of 2026-11-23 already/)).toBeTruthy();
    // An operator cannot read notification channels: the form says an admin adds them.
    fireEvent.click(within(row).getByRole('button', { name: 'Change: Weekly fleet 1' }));
    expect(await screen.findByText(/An admin can add notification channels/)).toBeTruthy();
  });

  it('gives viewers the schedules and their history, but no way to change them', async () => {
    mockApi(
      {
        'GET /reports': () => ({ items: [], total: 0 }),
        'GET /report-schedules': { items: [schedule(1)], total: 1 },
      },
      { role: 'viewer' },
    );
    renderApp(<ReportsPage />, { path: '/reports' });
    const row = await screen.findByTestId('schedule-row-1');
    expect(within(row).getByRole('button', { name: /History/ })).toBeTruthy();
    expect(within(row).queryByRole('button', { name: /Run|Change|Delete/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /New schedule/ })).toBeNull();
  });
});
