import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReportView, ReportWithDocument } from '../../api/types';
import { mockApi, renderApp } from '../../test/render';
import ReportPage from './report-page';
import ReportsPage from './reports-page';

// uPlot needs a browser's matchMedia and canvas at import: the charts are the e2e tests' business.
vi.mock('../../components/chart/time-series-chart', () => ({
  TimeSeriesChart: ({ title }: { title: string }) => <div data-testid={`chart-${title}`} />,
}));

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const FROM = '2026-11-26T00:00:00.000Z';
const TO = '2026-12-03T00:00:00.000Z';

function report(id: number, over: Partial<ReportView> = {}): ReportView {
  return {
    id,
    kind: 'fleet_summary',
    title: `Fleet summary ${id}`,
    robot_id: null,
    tag: null,
    from: FROM,
    to: TO,
    sections: ['availability', 'servos'],
    want_ai: false,
    status: 'completed',
    progress: 1,
    error: null,
    created_by: 'admin',
    created_at: TO,
    started_at: TO,
    finished_at: TO,
    ai_model: null,
    tokens_in: null,
    tokens_out: null,
    schedule_id: null,
    ...over,
  };
}

const statement = (text: string, severity: 'info' | 'warning' | 'critical' = 'info') => ({
  text,
  figure: 1,
  unit: '%',
  from: FROM,
  to: TO,
  robot_id: 'tonypi_01',
  severity,
});

function withDocument(id: number): ReportWithDocument {
  return {
    ...report(id),
    document: {
      title: `Fleet summary ${id}`,
      kind: 'fleet_summary',
      scope: { robot_id: null, tag: null, robots: ['tonypi_01', 'tonypi_02'] },
      from: FROM,
      to: TO,
      generated_at: TO,
      summary: [statement('Servo 3 of tonypi_01 ran above 60 °C for 2.5 h', 'critical')],
      sections: [
        {
          key: 'servos',
          title: 'Servos',
          statements: [statement('Servo 3 of tonypi_01 averaged 68.2 °C', 'warning')],
          tables: [
            {
              title: 'Servo temperatures',
              columns: [
                { key: 'servo', label: 'Servo', unit: null },
                { key: 'avg', label: 'Average', unit: '°C' },
              ],
              rows: [
                { servo: '3', avg: 68.2 },
                { servo: '<b>4</b>', avg: null },
              ],
            },
          ],
          charts: [
            {
              title: 'Time above 60 °C',
              type: 'bar',
              unit: 'h',
              series: [{ name: 'tonypi_01', points: [['servo 3', 2.5]] }],
            },
          ],
        },
      ],
      ai: null,
      ai_note: 'No AI provider is configured: the built-in analysis wrote this report.',
    },
  };
}

describe('ReportsPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('lists reports with their status, follows progress live, and asks for a new one', async () => {
    const running = report(2, {
      status: 'running',
      progress: 0.2,
      title: 'Battery health: tonypi_01',
      kind: 'battery',
    });
    const { calls } = mockApi({
      'GET /reports': () => ({ items: [running, report(1)], total: 2 }),
      'GET /reports/ai-status': () => ({
        configured: true,
        provider: 'gemini',
        model: 'gemini-2.5-flash',
        last_call: null,
      }),
      'POST /reports': () => json(202, { report_id: 3, status: 'queued' }),
    });
    const { live } = renderApp(<ReportsPage />);
    await screen.findByText('Battery health: tonypi_01');
    expect(screen.getByTestId('report-status-2').textContent).toBe('running 20 %');
    expect(
      within(screen.getByTestId('report-row-1')).getByText('PDF').closest('a')?.getAttribute('href'),
    ).toBe('/api/v1/reports/1/pdf');
    // Progress frames move the badge without a reload.
    live.open().frame({ type: 'report', report_id: 2, status: 'running', progress: 0.6, error: null });
    live.flush();
    await waitFor(() => expect(screen.getByTestId('report-status-2').textContent).toBe('running 60 %'));

    fireEvent.click(screen.getByRole('button', { name: /New report/ }));
    fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'custom' } });
    fireEvent.click(screen.getByLabelText('Battery'));
    fireEvent.change(screen.getByLabelText('Period'), { target: { value: '30d' } });
    await screen.findByText(/Written by gemini-2.5-flash/);
    fireEvent.click(screen.getByLabelText(/Add AI insights/));
    fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/reports')).toBe(true));
    const body = calls.find((c) => c.method === 'POST')?.body;
    expect(body).toEqual({
      kind: 'custom',
      from: '30d',
      sections: ['performance', 'alerts', 'battery'],
      ai: true,
    });
  });

  it('shows a field the server refused next to the form', async () => {
    mockApi({
      'GET /reports': () => ({ items: [], total: 0 }),
      'POST /reports': () =>
        json(400, {
          error: {
            code: 'validation_error',
            message: 'Invalid request',
            details: { fields: [{ field: 'body.tag', message: 'no robot carries the tag "night"' }] },
          },
        }),
    });
    renderApp(<ReportsPage />);
    await screen.findByText('No report yet');
    fireEvent.click(screen.getByRole('button', { name: /New report/ }));
    // No provider answered ai-status (no mock): the AI box stays off and says why.
    expect((screen.getByLabelText(/Add AI insights/) as HTMLInputElement).disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Scope'), { target: { value: 'tag' } });
    fireEvent.change(screen.getByLabelText('Tag'), { target: { value: 'night' } });
    fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    await screen.findByText('no robot carries the tag "night"');
  });

  it('gives viewers no way to make or delete reports', async () => {
    mockApi({ 'GET /reports': () => ({ items: [report(1)], total: 1 }) }, { role: 'viewer' });
    renderApp(<ReportsPage />);
    await screen.findByText('Fleet summary 1');
    expect(screen.queryByRole('button', { name: /New report/ })).toBeNull();
    expect(screen.queryByRole('button', { name: /Delete/ })).toBeNull();
  });
});

describe('ReportPage', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('reads a finished report: summary first, sections with statements, tables and charts, downloads, the AI note', async () => {
    mockApi({ 'GET /reports/7': () => withDocument(7) });
    renderApp(<ReportPage />, { path: '/reports/7', route: '/reports/:reportId' });
    await screen.findByRole('heading', { name: /Fleet summary 7/ });
    const summary = screen.getByRole('list', { name: 'Summary' });
    expect(
      within(summary)
        .getByText(/ran above 60 °C for 2.5 h/)
        .closest('li')?.dataset.severity,
    ).toBe('critical');
    expect(screen.getByTestId('report-section-servos').textContent).toBe('Servos');
    expect(screen.getByText('Servo 3 of tonypi_01 averaged 68.2 °C', { exact: false })).toBeTruthy();
    // Table cells are text: markup in a value is shown, not rendered.
    expect(screen.getByText('<b>4</b>')).toBeTruthy();
    expect(screen.getByText('Time above 60 °C')).toBeTruthy();
    expect(screen.getByText(/No AI provider is configured/)).toBeTruthy();
    expect(screen.getByText('CSV').closest('a')?.getAttribute('href')).toBe(
      '/api/v1/reports/7/data?format=csv',
    );
    expect(screen.getByText(/2 robots/)).toBeTruthy();
  });

  it('shows the camera snapshots of its robots and period, each with its robot, alert and note', async () => {
    mockApi({
      'GET /reports/7': () => {
        const r = withDocument(7);
        r.document!.snapshots = [
          {
            id: 41,
            robot_id: 'tonypi_02',
            taken_at: TO,
            taken_by: 'operator',
            width: 640,
            height: 480,
            alert_id: 12,
            note: 'Gripper worn',
            url: '/api/v1/camera/snapshots/41',
          },
        ];
        return r;
      },
    });
    renderApp(<ReportPage />, { path: '/reports/7', route: '/reports/:reportId' });
    expect((await screen.findByTestId('report-snapshots')).textContent).toBe('Camera snapshots');
    const snap = screen.getByTestId('camera-snapshot');
    expect(snap.textContent).toContain('tonypi_02');
    expect(snap.textContent).toContain('alert #12');
    expect(snap.textContent).toContain('Gripper worn');
    expect(within(snap).getByRole('img').getAttribute('src')).toBe('/api/v1/camera/snapshots/41');
  });

  it('has no snapshot part when the report has none (or predates them)', async () => {
    mockApi({ 'GET /reports/7': () => withDocument(7) });
    renderApp(<ReportPage />, { path: '/reports/7', route: '/reports/:reportId' });
    await screen.findByRole('heading', { name: /Fleet summary 7/ });
    expect(screen.queryByTestId('report-snapshots')).toBeNull();
  });

  it('shows a running report’s progress and a failed one’s reason', async () => {
    mockApi({
      'GET /reports/8': () => ({ ...report(8, { status: 'running', progress: 0.4 }), document: null }),
      'GET /reports/9': () => ({
        ...report(9, { status: 'failed', error: 'timed out after 600 s' }),
        document: null,
      }),
    });
    const a = renderApp(<ReportPage />, { path: '/reports/8', route: '/reports/:reportId' });
    const bar = await screen.findByRole('progressbar', { name: 'Report progress' });
    expect(bar.getAttribute('aria-valuenow')).toBe('40');
    a.unmount();
    renderApp(<ReportPage />, { path: '/reports/9', route: '/reports/:reportId' });
    await screen.findByText(/This report failed: timed out after 600 s/);
  });

  it('says so for a report that does not exist', async () => {
    mockApi({});
    renderApp(<ReportPage />, { path: '/reports/404', route: '/reports/:reportId' });
    await screen.findByText('There is no report 404');
  });
});
