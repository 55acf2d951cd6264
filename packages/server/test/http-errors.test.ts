import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ERROR_CODES } from '@tonypi/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
let jwtSecret: string;
beforeAll(async () => {
  t = await startTestServer();
  jwtSecret = (await readFile(path.join(t.dataDir, 'secrets', 'jwt-secret'), 'utf8')).trim();
  const robot = await connectMqtt(t.mqttUrl, { clientId: 'tonypi_err' });
  await robot.publishAsync('tonypi/tonypi_err/battery', JSON.stringify({ percent: 80 }), { qos: 1 });
  await robot.endAsync();
  await waitFor(async () => (await t.api('/api/v1/robots/tonypi_err')).status === 200);
});
afterAll(async () => {
  await t?.close();
});

/** Sends bytes as they are and returns the raw answer (the parser's refusals never reach fetch's rules). */
function rawHttp(request: string): Promise<{ status: number; headers: string; body: string }> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (d) => {
      data += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), headers: head, body });
    });
  });
}

/** Asserts the API's error envelope with a code from the shared enum; returns the error. */
function expectEnvelope(body: unknown, code: string): { code: string; message: string; details?: unknown } {
  expect(body).toMatchObject({ error: { code, message: expect.any(String) } });
  const error = (body as { error: { code: string; message: string } }).error;
  expect(ERROR_CODES).toContain(error.code);
  expect(error.message.length).toBeGreaterThan(0);
  return error;
}

describe('every refusal is in the {error:{code,message}} envelope', () => {
  const cases: Array<[string, () => Promise<Response>, number, string]> = [
    [
      'a body that is not JSON',
      () =>
        t.api('/api/v1/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username":',
        }),
      400,
      'bad_request',
    ],
    [
      'an empty JSON body',
      () =>
        t.api('/api/v1/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '',
        }),
      400,
      'bad_request',
    ],
    [
      'a text/plain body',
      () =>
        t.api('/api/v1/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: 'hi',
        }),
      415,
      'unsupported_media_type',
    ],
    [
      'an XML body',
      () =>
        t.api('/api/v1/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/xml' },
          body: '<x/>',
        }),
      415,
      'unsupported_media_type',
    ],
    [
      'a body over the 64 KiB limit',
      () =>
        t.api('/api/v1/auth/login', {
          method: 'POST',
          json: { username: 'a', password: 'x'.repeat(65 * 1024) },
        }),
      413,
      'payload_too_large',
    ],
    ['an unknown route', () => t.api('/api/v1/nothing-here'), 404, 'not_found'],
    ['a plain GET of the WebSocket endpoint', () => t.api('/api/v1/stream'), 426, 'bad_request'],
    [
      'a method the route does not take',
      () => t.api('/api/v1/robots', { method: 'DELETE' }),
      405,
      'method_not_allowed',
    ],
    ['OPTIONS on a route', () => t.api('/api/v1/health', { method: 'OPTIONS' }), 405, 'method_not_allowed'],
    ['bad query types', () => t.api('/api/v1/robots?limit=abc&offset=-1'), 400, 'validation_error'],
    ['a URL with broken percent-encoding', () => t.api('/api/v1/robots/%E0%A4%A'), 400, 'bad_request'],
    [
      'a path segment over 100 characters',
      () => t.api(`/api/v1/robots/${'a'.repeat(200)}`),
      414,
      'uri_too_long',
    ],
    [
      'a URL over the header limit',
      () => t.api(`/api/v1/robots?search=${'a'.repeat(20_000)}`),
      431,
      'headers_too_large',
    ],
  ];
  for (const [what, send, status, code] of cases) {
    it(`answers ${what} with ${status} ${code}`, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expectEnvelope(await res.json(), code);
    });
  }

  it('names the allowed methods in an Allow header on 405', async () => {
    const res = await t.api('/api/v1/auth/login', { method: 'PUT' });
    expect(res.headers.get('allow')).toBe('POST');
  });

  const rawCases: Array<[string, string, number, string]> = [
    [
      'one header over 16 KiB',
      `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    [
      '3,000 headers',
      `GET /api/v1/health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    [
      'a request line over 16 KiB',
      `GET /api/v1/health?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    ['a method HTTP does not know', 'FOO /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
    ['bytes that are not HTTP', 'hello\r\n\r\n', 400, 'bad_request'],
    [
      'a Content-Length that is not a number',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      400,
      'bad_request',
    ],
  ];
  const upgrade = 'GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n';
  rawCases.push(
    [
      'a WebSocket handshake with a bad key',
      `${upgrade}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n`,
      400,
      'bad_request',
    ],
    [
      'a WebSocket handshake of an unknown version',
      `${upgrade}Sec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      400,
      'bad_request',
    ],
  );
  for (const [what, request, status, code] of rawCases) {
    it(`answers ${what} (refused before any route runs) with ${status} ${code}`, async () => {
      const res = await rawHttp(request);
      expect(res.status).toBe(status);
      expect(res.headers).toMatch(/content-type: application\/json/i);
      expectEnvelope(JSON.parse(res.body), code);
    });
  }

  it('keeps serving after all of them', async () => {
    expect((await t.api('/api/v1/health')).status).toBe(200);
  });
});

describe('GET /api/v1/robots/{id}/telemetry: times in the query', () => {
  const query = (q: string) => t.api(`/api/v1/robots/tonypi_err/telemetry?measurement=battery&${q}`);
  const fields = async (res: Response) => {
    expect(res.status).toBe(400);
    const error = expectEnvelope(await res.json(), 'validation_error') as {
      details: { fields: Array<{ field: string }> };
    };
    return error.details.fields.map((f) => f.field).sort();
  };

  it('refuses the earliest date JavaScript knows as `to` with 400, not 500', async () => {
    expect(await fields(await query('to=-271821-04-20T00:00:00.000Z'))).toEqual(['querystring.to']);
  });

  it.each([
    ['the last date JavaScript knows', 'to=%2B275760-09-13T00:00:00.000Z'],
    ['epoch ms beyond the year 9999', 'to=8640000000000000'],
    ['epoch ms of 16 digits', 'from=9999999999999999'],
    ['a date before 1970', 'from=1969-12-31T23:59:59Z'],
    ['a day that does not exist', 'from=2026-02-31T00:00:00Z'],
    ['month 13', 'from=2026-13-01'],
    ['hour 25', 'from=2026-01-01T25:00:00Z'],
    ['an offset of 30 hours', 'from=2026-01-01T00:00:00%2B30:00'],
    ['a duration of more than 100 years', 'from=36501d'],
    ['a word', 'from=yesterday'],
    ['an English date', 'from=Tue%20Dec%201%202026'],
  ])('refuses %s with 400 naming the field', async (_what, q) => {
    const name = q.split('=')[0];
    expect(await fields(await query(q))).toEqual([`querystring.${name}`]);
  });

  it('lists every bad field at once', async () => {
    const res = await t.api(
      '/api/v1/robots/tonypi_err/telemetry?measurement=weather&from=-1&to=99999999999999999&field=Bad%20Name&points=0',
    );
    expect(await fields(res)).toEqual([
      'querystring.field',
      'querystring.from',
      'querystring.measurement',
      'querystring.points',
      'querystring.to',
    ]);
  });

  it('lists a reversed window together with every other bad field, before looking the robot up', async () => {
    const res = await t.api(
      '/api/v1/robots/no_such_robot/telemetry?measurement=weather&field=Bad%20Name&points=0&from=1h&to=2h',
    );
    expect(await fields(res)).toEqual([
      'querystring.field',
      'querystring.from',
      'querystring.measurement',
      'querystring.points',
      'querystring.to',
    ]);
  });

  it('names both ends when the window is reversed or longer than 3 years', async () => {
    expect(await fields(await query('from=1h&to=2h'))).toEqual(['querystring.from', 'querystring.to']);
    expect(await fields(await query('from=1980-01-01&to=2026-01-01'))).toEqual([
      'querystring.from',
      'querystring.to',
    ]);
  });

  it.each([
    [
      'an ISO date-time in UTC',
      'from=2026-11-30T10:00:00Z&to=2026-11-30T11:00:00.5Z',
      '2026-11-30T10:00:00.000Z',
    ],
    [
      'an ISO date-time with an offset',
      'from=2026-11-30T12:00:00%2B02:00&to=2026-11-30T13:00:00Z',
      '2026-11-30T10:00:00.000Z',
    ],
    [
      'a date-time without an offset, read as UTC',
      'from=2026-11-30T10:00&to=2026-11-30T11:00',
      '2026-11-30T10:00:00.000Z',
    ],
    ['a date', 'from=2026-11-30&to=2026-12-01', '2026-11-30T00:00:00.000Z'],
    ['epoch ms', 'from=0&to=1000', '1970-01-01T00:00:00.000Z'],
    [
      'the last millisecond of 9999',
      'from=9999-12-31T00:00:00Z&to=9999-12-31T23:59:59.999Z',
      '9999-12-31T00:00:00.000Z',
    ],
  ])('answers %s', async (_what, q, from) => {
    const res = await query(q);
    expect(res.status).toBe(200);
    expect((await res.json()).from).toBe(from);
  });

  it('answers the default window before epoch 0 (to=0: from 1969-12-31T23:00)', async () => {
    const res = await query('to=0');
    expect(res.status).toBe(200);
    expect((await res.json()).from).toBe('1969-12-31T23:00:00.000Z');
  });

  it('answers a duration of 100 years back', async () => {
    const res = await query('from=36500d&to=36000d');
    expect(res.status).toBe(200);
  });
});

/** An HS256 JWT signed with the server's own key: whatever claims the test wants. */
function signed(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', jwtSecret).update(unsigned).digest('base64url')}`;
}

describe('the session guard: correctly signed tokens of the wrong shape', () => {
  const now = () => Math.floor(Date.now() / 1000);
  /** The admin's signed-in session (a token must name an open session: `sid`). */
  const session = () => JSON.parse(Buffer.from(t.token.split('.')[1] ?? '', 'base64url').toString());
  const good = () => {
    const { sub, sid } = session();
    return { sub, username: 'admin', role: 'admin', sid, iat: now(), exp: now() + 3600 };
  };
  const withToken = (token: string) =>
    t.api('/api/v1/robots', { anonymous: true, headers: { authorization: `Bearer ${token}` } });

  it('accepts a well-formed token signed with the key (the signer in this test is right)', async () => {
    expect((await withToken(signed(good()))).status).toBe(200);
  });

  it.each([
    ['an unknown role', { role: 'superuser' }],
    ['a role that is not a string', { role: ['admin'] }],
    ['no subject', { sub: undefined }],
    ['no session id', { sid: undefined }],
    ['a session id the server never opened', { sid: 'made-up-session' }],
    ['a numeric subject', { sub: 1 }],
    ['a username that is an object', { username: { $ne: null } }],
    ['no expiry', { exp: undefined }],
    ['an expiry as a string', { exp: String(now() + 3600) }],
    ['an expiry ten years ahead', { exp: now() + 10 * 365 * 86_400 }],
    ['a lifetime longer than SESSION_TTL_S', { iat: now() - 10, exp: now() + 12 * 3600 + 3600 }],
    ['an issue time in the future', { iat: now() + 3600, exp: now() + 7200 }],
    ['an expiry in the past', { iat: now() - 7200, exp: now() - 3600 }],
  ])('answers a token with %s with 401 unauthorized, not 500', async (_what, change) => {
    const res = await withToken(signed({ ...good(), ...change }));
    expect(res.status).toBe(401);
    expectEnvelope(await res.json(), 'unauthorized');
  });

  it('answers a token that is not a JSON object inside with 401', async () => {
    const part = (s: string) => Buffer.from(s).toString('base64url');
    const unsigned = `${part('{"alg":"HS256","typ":"JWT"}')}.${part('"admin"')}`;
    const token = `${unsigned}.${createHmac('sha256', jwtSecret).update(unsigned).digest('base64url')}`;
    const res = await withToken(token);
    expect(res.status).toBe(401);
    expectEnvelope(await res.json(), 'unauthorized');
  });

  it('says why an expired token is refused', async () => {
    const res = await withToken(signed({ ...good(), iat: now() - 7200, exp: now() - 3600 }));
    expect((await res.json()).error.message).toMatch(/expired/i);
  });
});
