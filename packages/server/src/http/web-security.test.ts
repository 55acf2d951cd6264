import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../test-fakes';
import { errorHandler } from './api-error';
import {
  type CsrfRequest,
  csrfGuard,
  csrfRefusal,
  httpServerOptions,
  type WebSecurityOptions,
  webSecurity,
} from './web-security';

const SELF = { protocol: 'http', host: 'fleet.local:8000' };
const APP = 'https://app.example.com';
const allowed = new Set([APP]);
const request = (over: Partial<CsrfRequest> & { headers?: CsrfRequest['headers'] }): CsrfRequest => ({
  method: 'POST',
  ...SELF,
  ...over,
  headers: { cookie: 'theme=dark; tonypi_session=abc.def', ...over.headers },
});

describe('csrfRefusal: requests that carry the session cookie and change something', () => {
  it.each([
    ['an Origin of the server itself', { origin: 'http://fleet.local:8000' }],
    [
      'an Origin written with upper case (browsers send the host lower-case)',
      { origin: 'http://FLEET.local:8000' },
    ],
    ['an Origin in CORS_ORIGINS', { origin: APP }],
    [
      'no Origin but a Referer of a page of the server',
      { referer: 'http://fleet.local:8000/robots/r1?tab=log' },
    ],
    ['no Origin but a Referer on a CORS_ORIGINS origin', { referer: `${APP}/dashboard` }],
    ['neither Origin nor Referer, but X-Requested-With', { 'x-requested-with': 'fetch' }],
    [
      'an Authorization header (bearer token or API key), whatever the Origin',
      { authorization: 'Bearer x', origin: 'https://evil.example' },
    ],
  ])('lets through %s', (_what, headers) => {
    expect(csrfRefusal(request({ headers }), allowed)).toBeUndefined();
  });

  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }, /comes from https:\/\/evil\.example/],
    [
      'a foreign Origin even with X-Requested-With',
      { origin: 'https://evil.example', 'x-requested-with': 'x' },
      /evil/,
    ],
    ['Origin: null (a sandboxed frame, a redirect across sites)', { origin: 'null' }, /comes from null/],
    ['the same host on another port', { origin: 'http://fleet.local:9000' }, /neither this server/],
    ['the same host by another scheme', { origin: 'https://fleet.local:8000' }, /TRUST_PROXY/],
    ['a foreign Referer and no Origin', { referer: 'https://evil.example/x' }, /Referer/],
    ['a Referer that is not a URL', { referer: 'not a url' }, /Referer/],
    ['no Origin, no Referer and no X-Requested-With', {}, /X-Requested-With/],
  ])('refuses %s', (_what, headers, message) => {
    expect(csrfRefusal(request({ headers }), allowed)).toMatch(message);
  });

  it.each(['PUT', 'PATCH', 'DELETE'])('checks %s like POST', (method) => {
    expect(
      csrfRefusal(request({ method, headers: { origin: 'https://evil.example' } }), allowed),
    ).toBeDefined();
  });

  it('checks the live-stream upgrade (a GET) too: a page elsewhere must not open a session in the user’s name', () => {
    const upgrade = { upgrade: 'websocket', origin: 'https://evil.example' };
    expect(csrfRefusal(request({ method: 'GET', headers: upgrade }), allowed)).toBeDefined();
    const own = { upgrade: 'websocket', origin: 'http://fleet.local:8000' };
    expect(csrfRefusal(request({ method: 'GET', headers: own }), allowed)).toBeUndefined();
  });

  it('leaves reads alone, and requests without the session cookie (nothing ambient to abuse)', () => {
    expect(
      csrfRefusal(request({ method: 'GET', headers: { origin: 'https://evil.example' } }), allowed),
    ).toBeUndefined();
    const noSession = { cookie: 'tonypi_device=v1.x; tonypi_session_old=1', origin: 'https://evil.example' };
    expect(csrfRefusal(request({ headers: noSession }), allowed)).toBeUndefined();
    const noCookie = request({ headers: { origin: 'https://evil.example' } });
    delete noCookie.headers.cookie;
    expect(csrfRefusal(noCookie, allowed)).toBeUndefined();
  });

  it('takes its own origin as a proxy reports it (protocol and host are what Fastify derived under TRUST_PROXY)', () => {
    const behindProxy = request({
      protocol: 'https',
      host: 'fleet.example.com',
      headers: { origin: 'https://fleet.example.com' },
    });
    expect(csrfRefusal(behindProxy, allowed)).toBeUndefined();
  });
});

/** The plugin on a bare Fastify with the server's own options and error envelope, and routes that say what they saw. */
async function app(web: Partial<WebSecurityOptions> = {}) {
  const options: WebSecurityOptions = { corsOrigins: [], trustProxy: false, ...web };
  const { logger } = capturingLogger();
  const f = Fastify({ ...httpServerOptions(options), loggerInstance: logger });
  f.setErrorHandler(errorHandler(logger));
  await f.register(webSecurity, options);
  await f.register(csrfGuard, options);
  f.get('/seen', async (req) => ({ ip: req.ip, protocol: req.protocol, host: req.host }));
  f.post('/change', async () => ({ ok: true }));
  f.post('/upload', { bodyLimit: 1024 * 1024 }, async (req) => ({ bytes: JSON.stringify(req.body).length }));
  await f.ready();
  apps.push(f);
  return f;
}
const apps: Array<Awaited<ReturnType<typeof Fastify>>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('TRUST_PROXY: who the client is behind a reverse proxy', () => {
  const forwarded = {
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'fleet.example.com',
  };

  it('believes no X-Forwarded-* header by default: the peer is the client', async () => {
    const f = await app();
    const res = await f.inject({
      url: '/seen',
      headers: { host: 'internal:8000', ...forwarded },
      remoteAddress: '127.0.0.1',
    });
    expect(res.json()).toEqual({ ip: '127.0.0.1', protocol: 'http', host: 'internal:8000' });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('believes a listed proxy: client address, scheme and public host from its headers, and HSTS for HTTPS', async () => {
    const f = await app({ trustProxy: ['127.0.0.1'] });
    const res = await f.inject({
      url: '/seen',
      headers: { host: 'internal:8000', ...forwarded },
      remoteAddress: '127.0.0.1',
    });
    expect(res.json()).toEqual({ ip: '203.0.113.7', protocol: 'https', host: 'fleet.example.com' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    // The live stream of that page is wss:// on the public host.
    expect(res.headers['content-security-policy']).toContain("connect-src 'self' wss://fleet.example.com;");
  });

  it('does not believe the headers from an address that is not a listed proxy (a client forging them)', async () => {
    const f = await app({ trustProxy: ['10.0.0.1'] });
    const res = await f.inject({
      url: '/seen',
      headers: { host: 'internal:8000', ...forwarded },
      remoteAddress: '198.51.100.9',
    });
    expect(res.json()).toEqual({ ip: '198.51.100.9', protocol: 'http', host: 'internal:8000' });
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('with true, believes every hop: the address is the first in X-Forwarded-For', async () => {
    const f = await app({ trustProxy: true });
    const headers = { 'x-forwarded-for': '203.0.113.7, 10.0.0.2' };
    const res = await f.inject({ url: '/seen', headers, remoteAddress: '10.0.0.1' });
    expect(res.json().ip).toBe('203.0.113.7');
  });

  it('accepts the CSRF check of a browser on the public HTTPS origin only when the proxy is trusted', async () => {
    const send = (f: Awaited<ReturnType<typeof app>>) =>
      f.inject({
        method: 'POST',
        url: '/change',
        headers: {
          ...forwarded,
          host: 'internal:8000',
          origin: 'https://fleet.example.com',
          cookie: 'tonypi_session=x',
        },
        remoteAddress: '127.0.0.1',
      });
    expect((await send(await app({ trustProxy: ['127.0.0.1'] }))).statusCode).toBe(200);
    const untrusted = await send(await app());
    expect(untrusted.statusCode).toBe(403);
    expect(untrusted.json().error.message).toMatch(/TRUST_PROXY/);
  });
});

describe("Content-Security-Policy: the frames a page may show (GRAFANA_URL's panels)", () => {
  const directive = (csp: string | undefined, name: string) =>
    csp
      ?.split(';')
      .map((d) => d.trim())
      .find((d) => d.startsWith(`${name} `));

  it('writes no frame-src without frame origins: frames fall under default-src self', async () => {
    const f = await app();
    const csp = (await f.inject({ url: '/seen' })).headers['content-security-policy'] as string;
    expect(directive(csp, 'frame-src')).toBeUndefined();
    expect(directive(csp, 'default-src')).toBe("default-src 'self'");
    expect(directive(csp, 'frame-ancestors')).toBe("frame-ancestors 'none'");
  });

  it('allows frames from the given origins only, and still lets nothing frame the app', async () => {
    const f = await app({ frameOrigins: ['https://grafana.example.com'] });
    const csp = (await f.inject({ url: '/seen' })).headers['content-security-policy'] as string;
    expect(directive(csp, 'frame-src')).toBe("frame-src 'self' https://grafana.example.com");
    expect(directive(csp, 'frame-ancestors')).toBe("frame-ancestors 'none'");
  });
});

describe('body size limits', () => {
  it('refuses a body over 64 KiB with 413 payload_too_large', async () => {
    const f = await app();
    const res = await f.inject({ method: 'POST', url: '/change', payload: { text: 'x'.repeat(64 * 1024) } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('takes a body just under 64 KiB, and a larger one on a route with its own bodyLimit', async () => {
    const f = await app();
    const under = await f.inject({
      method: 'POST',
      url: '/change',
      payload: { text: 'x'.repeat(60 * 1024) },
    });
    expect(under.statusCode).toBe(200);
    const big = await f.inject({ method: 'POST', url: '/upload', payload: { text: 'x'.repeat(512 * 1024) } });
    expect(big.statusCode).toBe(200);
  });
});
