import { PERMISSIONS, type Permission, ROLES, type Role, roleMay } from '@tonypi/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, LiveClient, startTestServer, type TestServer } from './helpers/test-server';

/**
 * The route × role table: every operation of the OpenAPI document, called without a session and with a
 * session of each role, answers as its declared permission says (contracts `roleMay`).
 */

interface Operation {
  description?: string;
  'x-permission'?: string;
  requestBody?: unknown;
}

/** The permission an operation declares: its `x-permission`, else the "Permission: X" of its description. */
function permissionOf(op: Operation): Permission | undefined {
  const declared = op['x-permission'] ?? /Permission: ([a-z_]+(?::[a-z_]+)?)/.exec(op.description ?? '')?.[1];
  return PERMISSIONS.find((p) => p === declared);
}

let t: TestServer;
const passwords: Record<Exclude<Role, 'admin'>, string> = {
  operator: 'operator-long-password',
  viewer: 'viewer-long-password',
};
/** A user that the walk may change, reset or delete: not one whose session the walk uses. */
let victimId: string;

beforeAll(async () => {
  t = await startTestServer();
  for (const role of ['operator', 'viewer'] as const) {
    const res = await t.api('/api/v1/users', {
      method: 'POST',
      json: { username: `walk_${role}`, email: `${role}@walk.example`, role, password: passwords[role] },
    });
    expect(res.status).toBe(201);
  }
  const victim = await t.api('/api/v1/users', {
    method: 'POST',
    json: { username: 'walk_victim', email: 'victim@walk.example', role: 'viewer' },
  });
  victimId = (await victim.json()).user.id;
});
afterAll(async () => {
  await t?.close();
});

/**
 * A new session of the role. Each call that may change something gets its own, so a route that ends
 * sessions (logout, a password change) cannot spoil the next call.
 */
async function sessionOf(role: Role): Promise<string> {
  if (role === 'admin') {
    return (
      await (
        await t.api('/api/v1/auth/login', {
          method: 'POST',
          anonymous: true,
          json: { username: 'admin', password: ADMIN_PASSWORD },
        })
      ).json()
    ).access_token;
  }
  const res = await t.api('/api/v1/auth/login', {
    method: 'POST',
    anonymous: true,
    json: { username: `walk_${role}`, password: passwords[role] },
  });
  expect(res.status, `sign-in of walk_${role}`).toBe(200);
  return (await res.json()).access_token;
}

/** Real ids where the route names a user; anything else may be unknown (a 404 still says "allowed"). */
function fill(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    name === 'id' && path.startsWith('/api/v1/users') ? victimId : name === 'robot_id' ? 'tonypi_01' : 'x',
  );
}

async function call(method: string, path: string, op: Operation, token?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (op.requestBody) {
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  return fetch(`${t.url}${fill(path)}`, { method: method.toUpperCase(), headers, body });
}

describe('every operation in the OpenAPI document, with each role', () => {
  it('answers 401 without a session, 403 forbidden to a role without the permission, neither to one with it', async () => {
    const doc = await (await fetch(`${t.url}/docs/json`)).json();
    const cached = new Map<Role, string>();
    const walked: string[] = [];
    const problems: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${path}`;
        const permission = permissionOf(op);
        if (!permission) {
          problems.push(`${key}: declares no known permission`);
          continue;
        }
        walked.push(key);
        const mutating = method !== 'get' && method !== 'head';

        const anonymous = await call(method, path, op);
        if (permission === 'public') {
          if (anonymous.status === 401) problems.push(`${key} (public): 401 without a session`);
        } else if (anonymous.status !== 401) {
          problems.push(`${key}: ${anonymous.status} without a session, not 401`);
        }

        for (const role of ROLES) {
          let token = cached.get(role);
          if (!token || mutating) {
            token = await sessionOf(role);
            if (!mutating) cached.set(role, token);
          }
          const res = await call(method, path, op, token);
          const what = `${key} as ${role} (${permission})`;
          if (permission !== 'public' && !roleMay(role, permission)) {
            const body = await res.json().catch(() => undefined);
            if (res.status !== 403 || body?.error?.code !== 'forbidden') {
              problems.push(`${what}: ${res.status} ${body?.error?.code}, not 403 forbidden`);
            } else if (!String(body.error.message).includes(permission)) {
              problems.push(`${what}: the 403 does not name the permission: ${body.error.message}`);
            }
          } else if (res.status === 401 || res.status === 403 || res.status >= 500) {
            problems.push(`${what}: ${res.status} for a role that may`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(walked).toEqual(
      expect.arrayContaining([
        'POST /api/v1/auth/login',
        'GET /api/v1/robots',
        'GET /api/v1/users',
        'POST /api/v1/users',
        'GET /api/v1/users/{id}',
        'PATCH /api/v1/users/{id}',
        'POST /api/v1/users/{id}/reset-password',
        'DELETE /api/v1/users/{id}',
        'GET /api/v1/audit',
        'GET /api/v1/jobs',
        'GET /api/v1/jobs/stats',
        'GET /api/v1/jobs/{id}',
        'GET /api/v1/robots/{robot_id}/jobs/current',
        'GET /api/v1/scans',
        'GET /api/v1/items',
        'POST /api/v1/items',
        'PATCH /api/v1/items/{id}',
        'DELETE /api/v1/items/{id}',
        'POST /api/v1/items/import',
        'GET /api/v1/items/export',
        'GET /api/v1/alerts',
        'POST /api/v1/alerts/acknowledge',
        'POST /api/v1/alerts/{id}/acknowledge',
        'DELETE /api/v1/alerts/{id}',
      ]),
    );
  });

  it('reads each permission from the document: x-permission, matching the description', async () => {
    const doc = await (await fetch(`${t.url}/docs/json`)).json();
    const ops = Object.values(doc.paths as Record<string, Record<string, Operation>>).flatMap(Object.values);
    expect(ops.length).toBeGreaterThan(10);
    for (const op of ops) {
      expect(op['x-permission']).toBeDefined();
      expect(permissionOf({ description: op.description })).toBe(op['x-permission']);
    }
    expect(permissionOf({ description: 'Lists things. Permission: users:manage.' })).toBe('users:manage');
    expect(permissionOf({ description: 'Permission: root:everything.' })).toBeUndefined();
  });
});

describe('WS /api/v1/stream (not in the OpenAPI document), with each role', () => {
  it('greets a session of every role, and refuses a client that has not signed in', async () => {
    for (const role of ROLES) {
      const live = await LiveClient.connect(t.url);
      live.send({ type: 'auth', token: await sessionOf(role) });
      expect(await live.next('hello', (f) => f.authenticated === true)).toBeDefined();
      live.close();
    }
    const anonymous = await LiveClient.connect(t.url);
    anonymous.send({ type: 'subscribe', robots: ['*'], channels: ['status'] });
    expect(await anonymous.next('error')).toMatchObject({ code: 'unauthorized' });
    anonymous.close();
  });
});
