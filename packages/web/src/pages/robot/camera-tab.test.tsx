import { fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CameraSnapshot, CameraStatus } from '../../api/types';
import { robotFixture } from '../../test/fixtures';
import { mockApi, renderApp } from '../../test/render';
import { CameraTab } from './camera-tab';

const now = new Date().toISOString();

function status(over: Partial<CameraStatus> = {}): CameraStatus {
  return {
    robot_id: 'r1',
    has_camera: true,
    state: 'streaming',
    viewers: 2,
    fps: 15,
    width: 640,
    height: 480,
    frames: 300,
    last_frame_at: now,
    upstream_connections: 1,
    last_error: null,
    errors: { unreachable: 0, timeouts: 0, not_multipart: 0, oversized_frames: 0 },
    ...over,
  };
}

const snapshot = (id: number, over: Partial<CameraSnapshot> = {}): CameraSnapshot => ({
  id,
  robot_id: 'r1',
  taken_at: now,
  taken_by: 'operator-user',
  width: 640,
  height: 480,
  size_bytes: 22_000,
  alert_id: null,
  note: null,
  url: `/api/v1/camera/snapshots/${id}`,
  ...over,
});

describe('CameraTab', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows the live view through the server with its frame rate and resolution, and the stored snapshots', async () => {
    mockApi({
      'GET /robots/r1/camera/status': status(),
      'GET /robots/r1/camera/snapshots': {
        items: [snapshot(2, { note: 'door open', alert_id: 7 })],
        next_cursor: null,
        total: 1,
      },
    });
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    const img = await screen.findByAltText(/Live camera of/);
    expect(img.getAttribute('src')).toBe('/api/v1/robots/r1/camera/stream');
    expect(screen.getByTestId('camera-fps').textContent).toBe('15 fps');
    expect(screen.getByTestId('camera-resolution').textContent).toBe('640 × 480');
    expect(screen.getByTestId('camera-state').textContent).toBe('Live');
    expect(screen.getByRole('button', { name: /Fullscreen/ })).toBeTruthy();
    const snap = await screen.findByTestId('camera-snapshot');
    expect(snap.textContent).toContain('door open');
    expect(snap.textContent).toContain('alert #7');
    expect(snap.querySelector('img')?.getAttribute('src')).toBe('/api/v1/camera/snapshots/2');
    expect(screen.getByText('Snapshots (1)')).toBeTruthy();
  });

  it('lets an operator take a snapshot, which the list then shows', async () => {
    let stored: CameraSnapshot[] = [];
    const { calls } = mockApi(
      {
        'GET /robots/r1/camera/status': status(),
        'GET /robots/r1/camera/snapshots': () => ({ items: stored, next_cursor: null, total: stored.length }),
        'POST /robots/r1/camera/snapshots': () => {
          stored = [snapshot(5)];
          return new Response(JSON.stringify(stored[0]), {
            status: 201,
            headers: { 'content-type': 'application/json' },
          });
        },
      },
      { role: 'operator' },
    );
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    expect(await screen.findByText(/No snapshots of this robot yet/)).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Snapshot note (optional)'), {
      target: { value: ' shelf 3 jammed ' },
    });
    fireEvent.click(screen.getByRole('button', { name: /Take snapshot/ }));
    await screen.findByTestId('camera-snapshot');
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts.map((c) => [c.path, c.body])).toEqual([
      ['/robots/r1/camera/snapshots', { note: 'shelf 3 jammed' }],
    ]);
    expect((screen.getByLabelText('Snapshot note (optional)') as HTMLInputElement).value).toBe('');
    expect(await screen.findByText('Snapshot saved with the robot')).toBeTruthy();
  });

  it('attaches an operator’s snapshot to one of the robot’s open alerts', async () => {
    const { calls } = mockApi(
      {
        'GET /robots/r1/camera/status': status(),
        'GET /robots/r1/camera/snapshots': { items: [], next_cursor: null, total: 0 },
        'GET /alerts': ({ url }: { url: URL }) => ({
          items:
            url.searchParams.get('robot_id') === 'r1' && url.searchParams.get('resolved') === 'false'
              ? [{ id: 7, severity: 'critical', title: 'Servo 3 overheating' }]
              : [],
          next_cursor: null,
          total: 1,
        }),
        'POST /robots/r1/camera/snapshots': () =>
          new Response(JSON.stringify(snapshot(8, { alert_id: 7 })), {
            status: 201,
            headers: { 'content-type': 'application/json' },
          }),
      },
      { role: 'operator' },
    );
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    const select = await screen.findByLabelText('Alert the snapshot documents (optional)');
    await screen.findByRole('option', { name: /#7 · critical · Servo 3 overheating/ });
    fireEvent.change(select, { target: { value: '7' } });
    fireEvent.click(screen.getByRole('button', { name: /Take snapshot/ }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ alert_id: 7 });
  });

  it('lets an operator delete a snapshot after confirming; viewers get no delete button', async () => {
    let stored = [snapshot(3), snapshot(4)];
    const { calls } = mockApi(
      {
        'GET /robots/r1/camera/status': status(),
        'GET /robots/r1/camera/snapshots': () => ({ items: stored, next_cursor: null, total: stored.length }),
        'DELETE /camera/snapshots/3': () => {
          stored = stored.filter((s) => s.id !== 3);
          return new Response(null, { status: 204 });
        },
      },
      { role: 'operator' },
    );
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Delete snapshot 3' }));
    expect(await screen.findByRole('dialog', { name: 'Delete this snapshot?' })).toBeTruthy();
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Delete snapshot' }));
    await waitFor(() => expect(screen.getAllByTestId('camera-snapshot')).toHaveLength(1));
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/camera/snapshots/3']);
    expect(await screen.findByText('Snapshot deleted')).toBeTruthy();
  });

  it('gives viewers no delete button', async () => {
    mockApi(
      {
        'GET /robots/r1/camera/status': status(),
        'GET /robots/r1/camera/snapshots': { items: [snapshot(3)], next_cursor: null, total: 1 },
      },
      { role: 'viewer' },
    );
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    await screen.findByTestId('camera-snapshot');
    expect(screen.queryByRole('button', { name: /Delete snapshot/ })).toBeNull();
  });

  it('picks the alert named in the URL (the alert list’s link) for the next snapshot', async () => {
    const { calls } = mockApi(
      {
        'GET /robots/r1/camera/status': status(),
        'GET /robots/r1/camera/snapshots': { items: [], next_cursor: null, total: 0 },
        'POST /robots/r1/camera/snapshots': () =>
          new Response(JSON.stringify(snapshot(8, { alert_id: 12 })), {
            status: 201,
            headers: { 'content-type': 'application/json' },
          }),
      },
      { role: 'operator' },
    );
    renderApp(<CameraTab robot={robotFixture('r1')} />, { path: '/robots/r1?tab=camera&alert=12' });
    const select = (await screen.findByLabelText(
      'Alert the snapshot documents (optional)',
    )) as HTMLSelectElement;
    expect(select.value).toBe('12');
    fireEvent.click(screen.getByRole('button', { name: /Take snapshot/ }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ alert_id: 12 });
  });

  it('shows older snapshots a page at a time', async () => {
    mockApi({
      'GET /robots/r1/camera/status': status(),
      'GET /robots/r1/camera/snapshots': ({ url }: { url: URL }) =>
        url.searchParams.get('cursor') === 'c1'
          ? { items: [snapshot(1)], next_cursor: null, total: 2 }
          : { items: [snapshot(2)], next_cursor: 'c1', total: 2 },
    });
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    await screen.findByTestId('camera-snapshot');
    fireEvent.click(screen.getByRole('button', { name: 'Show older snapshots' }));
    await waitFor(() => expect(screen.getAllByTestId('camera-snapshot')).toHaveLength(2));
    expect(screen.queryByRole('button', { name: 'Show older snapshots' })).toBeNull();
  });

  it('offers a viewer no snapshot button', async () => {
    mockApi(
      {
        'GET /robots/r1/camera/status': status(),
        'GET /robots/r1/camera/snapshots': { items: [], next_cursor: null, total: 0 },
      },
      { role: 'viewer' },
    );
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    await screen.findByAltText(/Live camera of/);
    await screen.findByText(/No snapshots of this robot yet\./);
    expect(screen.queryByRole('button', { name: /Take snapshot/ })).toBeNull();
  });

  it('says plainly when the robot has no camera', async () => {
    mockApi({
      'GET /robots/r1/camera/status': status({
        has_camera: false,
        state: 'no_camera',
        fps: 0,
        width: null,
        height: null,
      }),
      'GET /robots/r1/camera/snapshots': { items: [], next_cursor: null, total: 0 },
    });
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    expect(await screen.findByText('No camera')).toBeTruthy();
    expect(screen.queryByAltText(/Live camera of/)).toBeNull();
  });

  it('shows an unreachable camera with the reason, and tries again on request', async () => {
    mockApi({
      'GET /robots/r1/camera/status': status({
        state: 'idle',
        fps: 0,
        last_error: 'The camera at 10.0.0.5:8081 is unreachable: connect ECONNREFUSED',
      }),
      'GET /robots/r1/camera/snapshots': { items: [], next_cursor: null, total: 0 },
    });
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    fireEvent.error(await screen.findByAltText(/Live camera of/));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('The camera is unreachable');
    expect(alert.textContent).toContain('ECONNREFUSED');
    expect(screen.getByTestId('camera-state').textContent).toBe('Unreachable');
    fireEvent.click(screen.getByRole('button', { name: /Try again/ }));
    const img = await screen.findByAltText(/Live camera of/);
    await waitFor(() => expect(img.getAttribute('src')).toBe('/api/v1/robots/r1/camera/stream?attempt=1'));
  });
});

describe('CameraTab in a hidden page', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'visible' });
  });

  it('stops watching while the page is hidden and watches again when it is shown', async () => {
    mockApi({
      'GET /robots/r1/camera/status': status(),
      'GET /robots/r1/camera/snapshots': { items: [], next_cursor: null, total: 0 },
    });
    renderApp(<CameraTab robot={robotFixture('r1')} />);
    await screen.findByAltText(/Live camera of/);
    Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'hidden' });
    fireEvent(document, new Event('visibilitychange'));
    await waitFor(() => expect(screen.queryByAltText(/Live camera of/)).toBeNull());
    Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'visible' });
    fireEvent(document, new Event('visibilitychange'));
    expect(await screen.findByAltText(/Live camera of/)).toBeTruthy();
  });
});
