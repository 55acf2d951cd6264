import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { vi } from 'vitest';
import type { Me } from '../api/types';
import { AuthProvider } from '../auth/auth';
import { ToastProvider } from '../components/toasts';
import { LiveProvider } from '../live/live-context';
import { LiveSource } from '../live/live-source';
import { FakeSocket } from './fake-socket';

export type Role = 'admin' | 'operator' | 'viewer';

export function meAs(role: Role): Me {
  return {
    kind: 'user',
    user: { id: 'u1', username: `${role}-user`, email: `${role}@example.com`, role },
    role,
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
    session_id: 's1',
    must_change_password: false,
  };
}

type Handler = (req: { url: URL; method: string; body: unknown; headers: Headers }) => unknown | Response;

/**
 * Stubs `fetch` for the API: `routes['GET /robots']` answers that path (query ignored unless the key has
 * one); a handler's return value is sent as JSON 200, a Response as it is. `/auth/session` answers as the
 * given role unless a route says otherwise. Every call is recorded.
 */
export function mockApi(routes: Record<string, Handler | unknown>, opts: { role?: Role } = {}) {
  const calls: { method: string; path: string; search: string; body: unknown }[] = [];
  const role = opts.role ?? 'admin';
  const all: Record<string, Handler | unknown> = {
    'GET /auth/session': () => ({ signed_in: true, ...meAs(role) }),
    'GET /alerts': () => ({ items: [], next_cursor: null, total: 0 }),
    ...routes,
  };
  const fetchMock = vi.fn(async (input: string | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://app.test');
    const method = init.method ?? 'GET';
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const headers = new Headers(init.headers);
    // JSON bodies arrive parsed; others (a CSV import) as the text sent.
    const body =
      typeof init.body !== 'string'
        ? undefined
        : headers.get('content-type')?.includes('json')
          ? JSON.parse(init.body)
          : init.body;
    calls.push({ method, path, search: url.search, body });
    const handler = all[`${method} ${path}${url.search}`] ?? all[`${method} ${path}`];
    if (handler === undefined)
      return new Response(
        JSON.stringify({ error: { code: 'not_found', message: `No mock for ${method} ${path}` } }),
        {
          status: 404,
        },
      );
    const out =
      typeof handler === 'function' ? await (handler as Handler)({ url, method, body, headers }) : handler;
    if (out instanceof Response) return out;
    return new Response(out === undefined ? null : JSON.stringify(out), {
      status: out === undefined ? 204 : 200,
      headers: { 'content-type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls, fetchMock };
}

/**
 * Renders app content at `path` (in a memory router: `routes` names the page's own route pattern) with the
 * providers the app has: query cache, toasts, auth (asked through the mocked fetch) and a live source on a
 * fake socket, which `live.socket()` drives. Frames are applied when `live.flush()` is called.
 */
export function renderApp(element: ReactNode, opts: { path?: string; route?: string } = {}) {
  FakeSocket.all = [];
  let pending: (() => void) | undefined;
  const source = new LiveSource({
    url: 'ws://app.test/api/v1/stream',
    createSocket: (u) => new FakeSocket(u),
    schedule: (f) => {
      pending = f;
    },
  });
  source.start();
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter([{ path: opts.route ?? '*', element }], {
    initialEntries: [opts.path ?? '/'],
  });
  const view = render(
    <QueryClientProvider client={client}>
      <ToastProvider>
        <AuthProvider>
          <LiveProvider source={source}>
            <RouterProvider router={router} />
          </LiveProvider>
        </AuthProvider>
      </ToastProvider>
    </QueryClientProvider>,
  );
  const live = {
    source,
    socket: () => FakeSocket.latest(),
    /** Opens the stream (hello) if it is not open yet. */
    open: () => {
      const s = FakeSocket.latest();
      if (s.readyState !== 1) s.open();
      return s;
    },
    /** Runs the animation frame the source asked for. */
    flush: () => {
      const f = pending;
      pending = undefined;
      f?.();
    },
  };
  return { ...view, router, client, live };
}
