import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { robotFixture } from '../../test/fixtures';
import { mockApi, renderApp } from '../../test/render';
import { ServosTab } from './servos-tab';

// uPlot needs a browser's matchMedia and canvas at import: the charts are the e2e tests' business.
vi.mock('../../components/chart/time-series-chart', () => ({
  TimeSeriesChart: ({ title }: { title: string }) => <div data-testid={`chart-${title}`} />,
}));

const now = new Date().toISOString();
const servo = (temperature_c: number, position = 500) => ({
  ts: now,
  fields: { position, temperature_c, voltage_v: 7.4, load_percent: 10 },
});

const rule = (over: Record<string, unknown>) => ({
  id: 1,
  robot_id: null,
  name: 'Servo temperature',
  measurement: 'servos',
  field: 'temperature_c',
  tag_filter: {},
  direction: 'above',
  warning_level: 60,
  critical_level: 75,
  clear_level: null,
  sustained_s: 0,
  enabled: true,
  is_default: true,
  created_at: now,
  updated_at: now,
  updated_by: null,
  overridden: false,
  ...over,
});

const robot = robotFixture('r1', {
  latest: { measurements: {}, servos: { '1': servo(40), '2': servo(45), '5': servo(35) } },
});

describe('ServosTab', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows every servo with its latest values, then the live ones, coloured by the robot’s rules', async () => {
    mockApi({
      'GET /alert-rules': {
        items: [
          rule({}),
          // Servo 5 has a stricter rule of its own; a disabled one changes nothing.
          rule({ id: 2, tag_filter: { servo_id: '5' }, warning_level: 30, critical_level: null }),
          rule({ id: 3, enabled: false, warning_level: 0, critical_level: 1 }),
        ],
        total: 3,
      },
    });
    const { live } = renderApp(<ServosTab robot={robot} />);
    const t1 = await screen.findByTestId('servo-1-temperature_c');
    expect(t1.textContent).toContain('40');
    await waitFor(() => expect(screen.getByTestId('servo-5-temperature_c').dataset.state).toBe('warning'));
    expect(t1.dataset.state).toBe('ok');
    expect(screen.getByTestId('figure-servo-5').dataset.state).toBe('warning');

    live.open();
    live.socket().frame({
      type: 'telemetry',
      robot_id: 'r1',
      measurement: 'servos',
      tags: { servo_id: '2' },
      ts: Date.now(),
      fields: { position: 612, temperature_c: 78, voltage_v: 7.1, load_percent: 55 },
    });
    live.socket().frame({
      type: 'telemetry',
      robot_id: 'r1',
      measurement: 'servos',
      tags: { servo_id: '6' },
      ts: Date.now(),
      fields: { position: 480, temperature_c: 62, voltage_v: 7.3, load_percent: 5 },
    });
    live.flush();
    await waitFor(() => expect(screen.getByTestId('servo-2-temperature_c').textContent).toContain('78'));
    expect(screen.getByTestId('servo-2-position').textContent).toContain('612');
    expect(screen.getByTestId('servo-2-temperature_c').dataset.state).toBe('critical');
    expect(screen.getByTestId('servo-2-temperature_c').textContent).toContain('(critical)');
    expect(screen.getByTestId('figure-servo-2').dataset.state).toBe('critical');
    // A servo only the stream has told of appears too, in its place on the body.
    expect(screen.getByTestId('servo-6-temperature_c').dataset.state).toBe('warning');
    expect(screen.getByRole('button', { name: 'Servo 6, Head Tilt: 62°C, warning' })).toBeTruthy();
    expect(screen.getByTestId('servo-1-temperature_c').dataset.state).toBe('ok');
  });

  it('opens a servo’s history from the figure by keyboard, the servo in the URL', async () => {
    const { calls } = mockApi({
      'GET /alert-rules': { items: [rule({})], total: 1 },
      'GET /robots/r1/telemetry': { series: [], resolution: 'raw', bucket_ms: 0 },
    });
    const { router } = renderApp(<ServosTab robot={robot} />);
    const marker = await screen.findByRole('button', { name: /^Servo 2, Left Knee: 45/ });
    marker.focus();
    await userEvent.keyboard('{Enter}');
    expect(router.state.location.search).toBe('?servo=2');
    expect(await screen.findByRole('heading', { name: /Servo 2 · Left Knee: history/ })).toBeTruthy();
    await waitFor(() =>
      expect(
        calls.filter((c) => c.path === '/robots/r1/telemetry').every((c) => c.search.includes('servo_id=2')),
      ).toBe(true),
    );
    expect(calls.some((c) => c.path === '/robots/r1/telemetry')).toBe(true);
    await userEvent.click(screen.getByRole('button', { name: /2 · Left Knee/ }));
    expect(router.state.location.search).toBe('');
  });

  it('says so when the robot has reported no servo', async () => {
    mockApi({ 'GET /alert-rules': { items: [], total: 0 } });
    renderApp(<ServosTab robot={robotFixture('r1')} />);
    expect(await screen.findByText('No servo values yet')).toBeTruthy();
  });
});
