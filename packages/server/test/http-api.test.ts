import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { PERMISSIONS, type Permission, ROLES, roleMay } from '@tonypi/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNAUTHORIZED_DESCRIPTION } from '../src/http/route-permissions';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/test-server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('POST /api/v1/auth/login', () => {
  it('returns a session token and the user for the right password', async () => {
    const res = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      json: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ token_type: 'bearer', user: { username: 'admin', role: 'admin' } });
    expect(body.access_token.split('.')).toHaveLength(3);
  });

  it('returns 401 invalid_credentials for a wrong password or an unknown user, alike', async () => {
    for (const json of [
      { username: 'admin', password: 'nope' },
      { username: 'ghost', password: 'nope' },
    ]) {
      const res = await t.api('/api/v1/auth/login', { method: 'POST', anonymous: true, json });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { code: 'invalid_credentials', message: 'Wrong username or password' },
      });
    }
  });

  it('returns 400 validation_error listing every missing field', async () => {
    const res = await t.api('/api/v1/auth/login', { method: 'POST', anonymous: true, json: {} });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('validation_error');
    expect(body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'body.password',
      'body.username',
    ]);
  });

  it('returns 400 for a body that is not JSON', async () => {
    const res = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      headers: { 'content-type': 'application/json' },
      body: '{"username":',
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('bad_request');
  });
});

describe('the session guard', () => {
  it('answers 401 unauthorized without a token, and with a forged one', async () => {
    const none = await t.api('/api/v1/robots', { anonymous: true });
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('unauthorized');
    const forged = await t.api('/api/v1/robots', {
      anonymous: true,
      headers: { authorization: `Bearer ${t.token.slice(0, -4)}AAAA` },
    });
    expect(forged.status).toBe(401);
  });

  // The WebSocket route is not in OpenAPI (swagger leaves upgrades out); live-stream.test.ts covers its auth.
  it('protects every route in the OpenAPI document except the public ones', async () => {
    const doc = await (await t.api('/docs/json', { anonymous: true })).json();
    const publicRoutes = new Set([
      'POST /api/v1/auth/login',
      // Answers 200 signed in or not (the web app's start-up question); its own tests: auth-sessions.test.ts.
      'GET /api/v1/auth/session',
      'GET /api/v1/health',
      'GET /metrics',
    ]);
    const checked: string[] = [];
    for (const [route, ops] of Object.entries(
      doc.paths as Record<string, Record<string, { description?: string }>>,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${route}`;
        expect(op.description, `${key} names its permission`).toMatch(/Permission: [a-z:]+/);
        if (publicRoutes.has(key)) continue;
        const res = await t.api(route.replace(/\{[^}]+\}/g, 'tonypi_01'), {
          method: method.toUpperCase(),
          anonymous: true,
        });
        expect(res.status, key).toBe(401);
        checked.push(key);
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'GET /api/v1/robots',
        'GET /api/v1/robots/{robot_id}',
        'GET /api/v1/robots/{robot_id}/latest',
        'GET /api/v1/robots/{robot_id}/telemetry',
        'GET /api/v1/robots/{robot_id}/telemetry/fields',
        'GET /api/v1/auth/me',
        'POST /api/v1/auth/logout',
        'POST /api/v1/auth/password',
        'POST /api/v1/api-keys',
        'GET /api/v1/api-keys',
        'DELETE /api/v1/api-keys/{id}',
      ]),
    );
  });
});

describe('the OpenAPI document', () => {
  it("names each operation's permission once, and has 401/403 exactly as the permission implies", async () => {
    const doc = await (await t.api('/docs/json', { anonymous: true })).json();
    const seen = new Set<Permission>();
    for (const [route, ops] of Object.entries(
      doc.paths as Record<
        string,
        Record<string, { description?: string; responses: Record<string, { description?: string }> }>
      >,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${route}`;
        const named = [...(op.description ?? '').matchAll(/Permission: ([a-z_:]+)/g)].map((m) => m[1]);
        expect(named, `${key} names its permission once`).toHaveLength(1);
        const permission = named[0] as Permission;
        expect(PERMISSIONS, key).toContain(permission);
        seen.add(permission);
        const lacking = ROLES.filter((role) => !roleMay(role, permission));
        const { 401: unauthorized, 403: forbidden } = op.responses;
        if (permission === 'public') {
          // A public route may answer 401/403 for its own reasons (a wrong password, a disabled account),
          // never the guard's.
          expect(unauthorized?.description, key).not.toBe(UNAUTHORIZED_DESCRIPTION);
          expect(forbidden?.description ?? '', key).not.toContain('(`forbidden`)');
          continue;
        }
        expect(unauthorized?.description, key).toBe(UNAUTHORIZED_DESCRIPTION);
        // Every role has it: no guard 403 (the route may still declare one of its own, e.g. a key changing a password).
        if (lacking.length === 0) expect(forbidden?.description ?? '', key).not.toContain('(`forbidden`)');
        else {
          expect(forbidden?.description, key).toContain(`may not ${permission} (\`forbidden\`)`);
          for (const role of lacking) expect(forbidden?.description, key).not.toContain(role);
        }
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(['public', 'robots:read', 'telemetry:read']));
  });

  it('describes the 401 answer with the error envelope', async () => {
    const doc = await (await t.api('/docs/json', { anonymous: true })).json();
    const schema = doc.paths['/api/v1/robots'].get.responses['401'].content['application/json'].schema;
    expect(JSON.stringify(schema)).toContain('"$ref":"#/components/schemas/Error"');
  });
});

describe('GET /api/v1/health', () => {
  it('is public and reports every component up', async () => {
    const res = await t.api('/api/v1/health', { anonymous: true });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.status).toBe('ok');
    expect(body.components).toMatchObject({
      database: { status: 'up', kind: 'pglite' },
      telemetry: { status: 'up', kind: 'duckdb' },
      broker: { status: 'up' },
    });
    expect(body.ingest).toMatchObject({ messages_accepted: 0, messages_rejected: 0 });
    expect(body.warnings).toContain('Robots without credentials are accepted (ALLOW_ANONYMOUS_ROBOTS=true).');
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with the ingest counters', async () => {
    const res = await t.api('/metrics', { anonymous: true });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('tonypi_ingest_messages_total{result="accepted"} 0');
    expect(text).toContain('tonypi_robots_online 0');
  });
});

describe('GET /api/v1/robots/:robot_id', () => {
  it('returns 404 robot_not_found for an unknown robot', async () => {
    const res = await t.api('/api/v1/robots/tonypi_77');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'robot_not_found', message: 'No robot with id tonypi_77' },
    });
  });

  it('returns 400 validation_error for an id with forbidden characters', async () => {
    const res = await t.api(`/api/v1/robots/${encodeURIComponent("x' OR 1=1 --")}`);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: 'validation_error' });
  });
});

describe('GET /api/v1/robots', () => {
  it('returns an empty page when no robot has reported', async () => {
    const res = await t.api('/api/v1/robots');
    expect(await res.json()).toEqual({ items: [], total: 0 });
  });

  it('rejects an unknown sort and an out-of-range limit, naming both', async () => {
    const res = await t.api('/api/v1/robots?sort=battery&limit=9999');
    expect(res.status).toBe(400);
    const fields = (await res.json()).error.details.fields.map((f: { field: string }) => f.field);
    expect(fields.sort()).toEqual(['querystring.limit', 'querystring.sort']);
  });

  it('is gzipped for a client that accepts it, the same JSON; as it is for one that does not', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await t.api('/api/v1/robots', {
        method: 'POST',
        json: { robot_id: `gzip_${String(i).padStart(2, '0')}` },
      });
      expect(res.status).toBe(201);
    }
    /** The answer as it comes over the wire, not decoded. */
    const raw = (acceptEncoding?: string) =>
      new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const headers: Record<string, string> = { authorization: `Bearer ${t.token}` };
        if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
        httpGet(`${t.url}/api/v1/robots?limit=100`, { headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    const plain = await raw();
    expect(plain.headers['content-encoding']).toBeUndefined();
    const list = JSON.parse(plain.body.toString());
    expect(list.total).toBe(20);

    const gz = await raw('gzip, deflate, br');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toMatch(/accept-encoding/i);
    expect(gz.body.length).toBeLessThan(plain.body.length / 3);
    expect(JSON.parse(gunzipSync(gz.body).toString())).toEqual(list);

    // Refused by the client (q=0), or not offered: sent as it is.
    for (const refused of ['gzip;q=0, identity', 'br']) {
      const res = await raw(refused);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(res.body.toString())).toEqual(list);
    }
  });
});

describe('a NUL character in input', () => {
  it('gets 400 validation_error, not a database error', async () => {
    const search = await t.api('/api/v1/robots?search=%00');
    expect(search.status).toBe(400);
    expect((await search.json()).error.details.fields[0]).toEqual({
      field: 'querystring.search',
      message: 'must not contain NUL characters',
    });
    const login = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      json: { username: 'ad\u0000min', password: 'x' },
    });
    expect(login.status).toBe(400);
  });
});

describe('unknown routes', () => {
  it('answer 404 not_found in the error shape', async () => {
    const res = await t.api('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });
});
