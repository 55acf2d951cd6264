import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UiConfig } from '../../api/types';
import { setThemeChoice } from '../../app/theme';
import { robotFixture } from '../../test/fixtures';
import { mockApi, renderApp } from '../../test/render';
import { FleetOverviewPage } from '../fleet-overview';
import RobotPage from './robot-page';

// uPlot needs a browser's matchMedia and canvas at import: the charts are the e2e tests' business.
vi.mock('../../components/chart/time-series-chart', () => ({
  TimeSeriesChart: ({ title }: { title: string }) => <div data-testid={`chart-${title}`} />,
}));

const GRAFANA: UiConfig = {
  grafana: {
    url: 'https://grafana.example.com/g',
    dashboards: {
      robot: { uid: 'tonypi-robot', slug: 'tonypi-robot' },
      fleet: { uid: 'tonypi-fleet', slug: 'tonypi-fleet' },
    },
  },
};

function mockRobot(uiConfig: UiConfig) {
  return mockApi({
    'GET /robots/tp_01': robotFixture('tp_01'),
    'GET /ui-config': uiConfig,
    'GET /alert-rules': { items: [] },
  });
}

const renderRobot = (search = '') =>
  renderApp(<RobotPage />, { path: `/robots/tp_01${search}`, route: '/robots/:robotId' });

/** Every Grafana frame on the page, by its accessible title. */
const frames = () => screen.queryAllByTitle(/^Grafana: /) as HTMLIFrameElement[];
const params = (frame: HTMLIFrameElement) => new URL(frame.src).searchParams;

describe('the robot page with and without GRAFANA_URL', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    setThemeChoice('system');
  });

  it('has no Grafana tab and no frame when the server has no Grafana, even for ?tab=grafana', async () => {
    const { calls } = mockRobot({ grafana: null });
    renderRobot('?tab=grafana');
    await screen.findByRole('tab', { name: 'Monitoring' });
    await waitFor(() => expect(calls.some((c) => c.path === '/ui-config')).toBe(true));
    // The answer is in: the tabs are drawn from it.
    await waitFor(() => expect(screen.getByRole('tab', { name: 'Monitoring', selected: true })).toBeTruthy());
    expect(screen.queryByRole('tab', { name: 'Grafana' })).toBeNull();
    expect(document.querySelector('iframe')).toBeNull();
    expect(screen.queryByText(/Open in Grafana/)).toBeNull();
  });

  it("embeds the robot dashboard's panels for this robot, titled, lazy, in the light theme, and links to it", async () => {
    mockRobot(GRAFANA);
    renderRobot('?tab=grafana&range=24h');
    const tab = await screen.findByRole('tab', { name: 'Grafana', selected: true });
    expect(tab).toBeTruthy();
    await waitFor(() => expect(frames().length).toBe(12));
    const battery = screen.getByTitle('Grafana: Battery voltage of tp_01') as HTMLIFrameElement;
    const url = new URL(battery.src);
    expect(`${url.origin}${url.pathname}`).toBe(
      'https://grafana.example.com/g/d-solo/tonypi-robot/tonypi-robot',
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      orgId: '1',
      'var-robot_id': 'tp_01',
      panelId: '3',
      from: 'now-24h',
      to: 'now',
      theme: 'light',
      kiosk: '',
    });
    for (const f of frames()) {
      expect(f.getAttribute('loading')).toBe('lazy');
      expect(f.getAttribute('sandbox')).not.toContain('allow-top-navigation');
      expect(params(f).get('var-robot_id')).toBe('tp_01');
    }
    const link = screen.getByRole('link', { name: /Open in Grafana/ }) as HTMLAnchorElement;
    const full = new URL(link.href);
    expect(`${full.origin}${full.pathname}`).toBe(
      'https://grafana.example.com/g/d/tonypi-robot/tonypi-robot',
    );
    expect(full.searchParams.get('var-robot_id')).toBe('tp_01');
    expect(full.searchParams.get('from')).toBe('now-24h');
    expect(link.target).toBe('_blank');
    expect(link.rel).toContain('noopener');
  });

  it('redraws the panels in the dark theme when the user switches theme', async () => {
    mockRobot(GRAFANA);
    renderRobot('?tab=grafana');
    await waitFor(() => expect(frames().length).toBe(12));
    expect(frames().every((f) => params(f).get('theme') === 'light')).toBe(true);
    act(() => setThemeChoice('dark'));
    expect(frames().every((f) => params(f).get('theme') === 'dark')).toBe(true);
    act(() => setThemeChoice('light'));
    expect(frames().every((f) => params(f).get('theme') === 'light')).toBe(true);
  });

  it('keeps a link to the Grafana tab on it while the settings load: Monitoring fetches nothing meanwhile', async () => {
    let answer: (v: UiConfig) => void = () => {};
    const { calls } = mockApi({
      'GET /robots/tp_01': robotFixture('tp_01'),
      'GET /ui-config': () => new Promise<UiConfig>((resolve) => (answer = resolve)),
    });
    renderRobot('?tab=grafana');
    await screen.findByRole('tab', { name: 'Grafana', selected: true });
    expect(calls.some((c) => c.path.includes('/telemetry') || c.path === '/alert-rules')).toBe(false);
    act(() => answer(GRAFANA));
    await waitFor(() => expect(frames().length).toBe(12));
  });

  it("follows the tab's window picker: a preset, then the default hour", async () => {
    mockRobot(GRAFANA);
    renderRobot('?tab=grafana');
    await waitFor(() => expect(frames().length).toBe(12));
    expect(params(frames()[0]!).get('from')).toBe('now-1h');
    await userEvent.click(screen.getByRole('button', { name: '7 d' }));
    await waitFor(() => expect(frames().every((f) => params(f).get('from') === 'now-7d')).toBe(true));
    expect(params(frames()[0]!).get('to')).toBe('now');
  });

  it('takes a fixed window (a zoom on Monitoring) as epoch milliseconds', async () => {
    mockRobot(GRAFANA);
    renderRobot('?tab=grafana&from=1700000000000&to=1700003600000');
    await waitFor(() => expect(frames().length).toBe(12));
    expect(params(frames()[0]!).get('from')).toBe('1700000000000');
    expect(params(frames()[0]!).get('to')).toBe('1700003600000');
  });
});

describe('the fleet overview and Grafana', () => {
  afterEach(() => vi.unstubAllGlobals());
  const fleet = { items: [robotFixture('r1')], total: 1 };

  it('links to the fleet dashboard when the server has Grafana', async () => {
    mockApi({ 'GET /robots': fleet, 'GET /ui-config': GRAFANA });
    renderApp(<FleetOverviewPage />);
    const link = (await screen.findByRole('link', {
      name: /Fleet dashboard in Grafana/,
    })) as HTMLAnchorElement;
    expect(link.href).toBe('https://grafana.example.com/g/d/tonypi-fleet/tonypi-fleet?orgId=1&theme=light');
  });

  it('has no Grafana link without it', async () => {
    const { calls } = mockApi({ 'GET /robots': fleet, 'GET /ui-config': { grafana: null } });
    renderApp(<FleetOverviewPage />);
    const card = await screen.findByTestId('robot-card-r1');
    await waitFor(() => expect(calls.some((c) => c.path === '/ui-config')).toBe(true));
    expect(within(card).queryByText(/Grafana/)).toBeNull();
    expect(screen.queryByRole('link', { name: /Grafana/ })).toBeNull();
  });
});
