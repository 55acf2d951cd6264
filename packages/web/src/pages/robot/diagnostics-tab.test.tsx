import { screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RobotDiagnostics } from '../../api/types';
import { robotFixture } from '../../test/fixtures';
import { mockApi, renderApp } from '../../test/render';
import { DiagnosticsTab } from './diagnostics-tab';

const now = new Date().toISOString();

function diagnostics(over: Partial<RobotDiagnostics> = {}): RobotDiagnostics {
  return {
    robot_id: 'r1',
    generated_at: now,
    counting_since: now,
    protocol: 'canonical',
    last_seen: now,
    channels: [
      {
        channel: 'sensors',
        protocol: 'canonical',
        last_seen: now,
        last_minute: { messages: 600, per_s: 10 },
        last_hour: { messages: 36_000, per_s: 10 },
      },
    ],
    clock: {
      samples: 600,
      offset_ms_last: 1500,
      offset_ms_min: -20,
      offset_ms_max: 1500,
      offset_ms_avg: 40,
      skew_corrected: 2,
    },
    rejected: {
      last_hour: 1,
      total: 3,
      by_reason: { bad_json: 2, too_deep: 1 },
      recent: [
        {
          at: now,
          reason: 'bad_json',
          detail: 'Unexpected token < in JSON at position 0',
          topic: 'tonypi/r1/sensors',
          payload_excerpt: '<img src=x onerror=alert(1)>',
          payload_bytes: 29,
        },
      ],
    },
    acl_denials: {
      total: 1,
      recent: [{ at: now, kind: 'publish', reason: 'acl_denied', topic: 'tonypi/other/sensors' }],
    },
    ...over,
  };
}

describe('DiagnosticsTab', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows rates per channel, the clock offset, rejections with their payload as text, and denials', async () => {
    mockApi({ 'GET /robots/r1/diagnostics': diagnostics() });
    renderApp(<DiagnosticsTab robot={robotFixture('r1')} />);
    const row = await screen.findByTestId('channel-sensors');
    expect(row.textContent).toContain('600 · 10/s');
    expect(row.textContent).toContain('36000 · 10/s');
    expect(screen.getAllByText('+1.5 s')).toHaveLength(2); // now and the maximum
    expect(screen.getByText('+40 ms')).toBeTruthy();
    expect(screen.getByTestId('rejected-last-hour').textContent).toBe('1');
    const rejected = screen.getByTestId('rejected-row');
    // A hostile payload is shown as the text it is, never as markup.
    expect(within(rejected).getByText('<img src=x onerror=alert(1)>')).toBeTruthy();
    expect(rejected.querySelector('img')).toBeNull();
    expect(screen.getByText(/3 since the server started/).textContent).toContain('bad_json 2');
    expect(within(screen.getByTestId('denial-row')).getByText('tonypi/other/sensors')).toBeTruthy();
  });

  it('says plainly when nothing arrived and nothing was refused', async () => {
    mockApi({
      'GET /robots/r1/diagnostics': diagnostics({
        protocol: null,
        last_seen: null,
        channels: [],
        clock: {
          samples: 0,
          offset_ms_last: null,
          offset_ms_min: null,
          offset_ms_max: null,
          offset_ms_avg: null,
          skew_corrected: 0,
        },
        rejected: { last_hour: 0, total: 0, by_reason: {}, recent: [] },
        acl_denials: { total: 0, recent: [] },
      }),
    });
    renderApp(<DiagnosticsTab robot={robotFixture('r1')} />);
    expect(await screen.findByText('Nothing arrived from this robot in the last hour.')).toBeTruthy();
    expect(screen.getByText('No timed message in the last hour.')).toBeTruthy();
    expect(screen.getByText('None since the server started.')).toBeTruthy();
    expect(screen.getByText(/None: the robot only published/)).toBeTruthy();
  });

  it('shows the API error with a retry', async () => {
    mockApi({
      'GET /robots/r1/diagnostics': () =>
        new Response(JSON.stringify({ error: { code: 'robot_not_found', message: 'No robot with id r1' } }), {
          status: 404,
          headers: { 'content-type': 'application/json' },
        }),
    });
    renderApp(<DiagnosticsTab robot={robotFixture('r1')} />);
    expect(await screen.findByText(/No robot with id r1/)).toBeTruthy();
    expect(screen.getByRole('button', { name: /retry|try again/i })).toBeTruthy();
  });
});
