import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/test-server';

/** The server as a browser meets it: headers, CORS, CSRF, proxies, body sizes. */

const APP_ORIGIN = 'https://app.example.com';
const EVIL = 'https://evil.example';
const LOGIN = { username: 'admin', password: ADMIN_PASSWORD };

function expectSecurityHeaders(headers: Headers, what: string): void {
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('DENY');
  expect(headers.get('content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
  expect(headers.get('referrer-policy'), what).toBe('same-origin');
  expect(headers.get('x-powered-by'), what).toBeNull();
  // Plain HTTP: no HSTS.
  expect(headers.get('strict-transport-security'), what).toBeNull();
}

/** Sends bytes as they are (for refusals of the HTTP parser, which never reach a hook) and returns the head. */
function rawHead(url: string, request: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (d) => {
      data += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(data.split('\r\n\r\n')[0] ?? ''));
  });
}

/**
 * Answers read to the end: a body left unread keeps its connection busy, and the server's shutdown waits for it.
 */
async function settled(response: Promise<Response>): Promise<Response> {
  const res = await response;
  const body = await res.arrayBuffer();
  return new Response(body.byteLength > 0 ? body : null, { status: res.status, headers: res.headers });
}
const api = (t: TestServer, pathname: string, init?: Parameters<TestServer['api']>[1]) =>
  settled(t.api(pathname, init));
const get = (url: string | URL, init?: RequestInit) => settled(fetch(url, init));

const post = (t: TestServer, pathname: string, headers: Record<string, string>, json: unknown = LOGIN) =>
  get(`${t.url}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(json),
  });

/** Opens the live stream with the given headers; resolves with the HTTP status of a refused upgrade, or 101. */
function upgradeStatus(t: TestServer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/v1/stream`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(err);
    });
  });
}

describe('a server with the defaults', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  const answers: Array<[string, () => Promise<Response>, number]> = [
    ['a health report', () => api(t, '/api/v1/health'), 200],
    ['a refusal for want of a session', () => api(t, '/api/v1/robots', { anonymous: true }), 401],
    ['an unknown route', () => api(t, '/api/v1/nothing-here'), 404],
    ['a method the route does not take', () => api(t, '/api/v1/robots', { method: 'DELETE' }), 405],
    [
      'a body over the limit',
      () => api(t, '/api/v1/auth/login', { method: 'POST', json: { ...LOGIN, pad: 'x'.repeat(70_000) } }),
      413,
    ],
    ['a URL the router cannot read (answered before any hook)', () => api(t, '/api/v1/robots/%E0%A4%A'), 400],
    ['the API reference', () => api(t, '/docs'), 200],
    ['the metrics', () => api(t, '/metrics'), 200],
  ];
  for (const [what, send, status] of answers) {
    it(`puts the security headers on ${what} (${status})`, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      expectSecurityHeaders(res.headers, what);
    });
  }

  it('puts them on what the HTTP parser refuses before Fastify sees it (431)', async () => {
    const head = await rawHead(
      t.url,
      `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(head).toMatch(/^HTTP\/1\.1 431/);
    expect(head).toMatch(/^x-content-type-options: nosniff$/im);
    expect(head).toMatch(/^x-frame-options: DENY$/im);
    expect(head).toMatch(/^content-security-policy: default-src 'none'; frame-ancestors 'none'$/im);
  });

  it('gives the web app the policy it is built for: its own scripts and styles, live stream to this host', async () => {
    const res = await api(t, '/api/v1/health');
    const host = new URL(t.url).host;
    const csp = Object.fromEntries(
      (res.headers.get('content-security-policy') ?? '').split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(csp).toEqual({
      'default-src': "'self'",
      'base-uri': "'self'",
      'script-src': "'self'",
      'script-src-attr': "'none'",
      'style-src': "'self'",
      'img-src': "'self' data: blob:",
      'font-src': "'self' data:",
      'connect-src': `'self' ws://${host}`,
      'worker-src': "'self' blob:",
      'object-src': "'none'",
      'frame-ancestors': "'none'",
      'form-action': "'self'",
    });
  });

  it('serves /docs with a policy that lets every script and style sheet it references load', async () => {
    const res = await api(t, '/docs/');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self' 'unsafe-inline';");
    // No inline script: script-src 'self' allows only files from this origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      const url = new URL(asset, `${t.url}/docs/`);
      expect(url.origin, asset).toBe(t.url);
      const loaded = await get(url);
      expect(loaded.status, asset).toBe(200);
      expectSecurityHeaders(loaded.headers, asset);
    }
    // The UI then fetches the OpenAPI document from this origin (connect-src 'self').
    const spec = await api(t, '/docs/json');
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as { info: { description: string } }).info.description).toContain(
      'csrf_failed',
    );
  });

  describe('CORS is closed', () => {
    it('gives no Access-Control-Allow-Origin to any origin', async () => {
      for (const origin of [APP_ORIGIN, EVIL, t.url]) {
        const res = await api(t, '/api/v1/health', { headers: { origin } });
        expect(res.status).toBe(200);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
        expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      }
    });

    it('answers a preflight 405 without CORS headers, so the browser does not send the request', async () => {
      const res = await get(`${t.url}/api/v1/auth/login`, {
        method: 'OPTIONS',
        headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-methods')).toBeNull();
    });
  });

  describe('CSRF: a request that changes something with the session cookie', () => {
    // The cookie need not be valid: the check runs before authentication.
    const cookie = 'tonypi_session=not-a-real-session';

    it('is refused 403 csrf_failed when it comes from another origin', async () => {
      const res = await post(t, '/api/v1/auth/login', { cookie, origin: EVIL });
      expect(res.status).toBe(403);
      expectSecurityHeaders(res.headers, 'the refusal');
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('csrf_failed');
      expect(body.error.message).toContain(EVIL);
    });

    it('is refused when it shows no sign of the web app (no Origin, Referer or X-Requested-With)', async () => {
      const res = await post(t, '/api/v1/auth/login', { cookie });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
        /X-Requested-With/,
      );
    });

    it('goes through from the server’s own origin, or with X-Requested-With', async () => {
      expect((await post(t, '/api/v1/auth/login', { cookie, origin: t.url })).status).toBe(200);
      expect((await post(t, '/api/v1/auth/login', { cookie, referer: `${t.url}/robots` })).status).toBe(200);
      expect(
        (await post(t, '/api/v1/auth/login', { cookie, 'x-requested-with': 'XMLHttpRequest' })).status,
      ).toBe(200);
    });

    it('is not asked of a request with a bearer token, wherever it comes from', async () => {
      const res = await post(t, '/api/v1/auth/login', {
        cookie,
        origin: EVIL,
        authorization: `Bearer ${t.token}`,
      });
      expect(res.status).toBe(200);
    });

    it('is not asked without the session cookie (an API client, a first sign-in)', async () => {
      expect((await post(t, '/api/v1/auth/login', { origin: EVIL })).status).toBe(200);
    });

    it('also guards the live-stream upgrade: a page on another origin cannot open it with the cookie', async () => {
      expect(await upgradeStatus(t, { cookie, origin: EVIL })).toBe(403);
      expect(await upgradeStatus(t, { cookie, origin: t.url })).toBe(101);
    });
  });
});

describe('a server with CORS_ORIGINS and TRUST_PROXY', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      CORS_ORIGINS: `${APP_ORIGIN}, http://localhost:5173`,
      TRUST_PROXY: '127.0.0.1',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a preflight from a listed origin with the methods, the asked headers and credentials', async () => {
    const res = await get(`${t.url}/api/v1/robots/r1`, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'content-type,x-requested-with',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-methods')).toContain('DELETE');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type,x-requested-with');
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it('names a listed origin on answers, refusals included (the browser lets the app read the error)', async () => {
    for (const origin of [APP_ORIGIN, 'http://localhost:5173']) {
      const ok = await api(t, '/api/v1/health', { headers: { origin } });
      expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
      const refused = await api(t, '/api/v1/robots', { anonymous: true, headers: { origin } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(origin);
      expect(refused.headers.get('access-control-expose-headers')).toContain('retry-after');
    }
  });

  it('gives any other origin nothing: no CORS headers, its preflight 405', async () => {
    const res = await api(t, '/api/v1/health', { headers: { origin: EVIL } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await get(`${t.url}/api/v1/health`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(405);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets a listed origin make changes with the session cookie, and still refuses others', async () => {
    const cookie = 'tonypi_session=not-a-real-session';
    expect((await post(t, '/api/v1/auth/login', { cookie, origin: APP_ORIGIN })).status).toBe(200);
    expect((await post(t, '/api/v1/auth/login', { cookie, origin: EVIL })).status).toBe(403);
  });

  it('knows from the trusted proxy that the browser came over HTTPS: HSTS, a Secure cookie, the public origin', async () => {
    const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fleet.example.com' };
    const health = await api(t, '/api/v1/health', { headers: proxied });
    expect(health.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect((await api(t, '/api/v1/health')).headers.get('strict-transport-security')).toBeNull();

    const overHttps = await post(t, '/api/v1/auth/login', proxied);
    expect(overHttps.status).toBe(200);
    expect(overHttps.headers.get('set-cookie')).toMatch(/;\s*Secure/i);
    const overHttp = await post(t, '/api/v1/auth/login', {});
    expect(overHttp.headers.get('set-cookie')).not.toMatch(/;\s*Secure/i);

    // The CSRF check compares with the public origin the proxy reports.
    const cookie = 'tonypi_session=x';
    expect(
      (await post(t, '/api/v1/auth/login', { ...proxied, cookie, origin: 'https://fleet.example.com' }))
        .status,
    ).toBe(200);
  });
});
