import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/users/passwords';
import { UsersRepository } from '../src/users/users.repository';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/test-server';

let t: TestServer;
/** The device cookie the real admin's browser got when it signed in before the attack. */
let adminDevice: string;

interface Answer {
  status: number;
  retryAfter?: string;
  setCookie?: string;
  body: { error?: { code: string; message: string } };
}

/**
 * POST /api/v1/auth/login from a given loopback address (Linux routes all of 127/8 to lo, so
 * each 127.0.0.x is a client address of its own).
 */
function login(
  username: string,
  password: string,
  opts: { from?: string; cookie?: string } = {},
): Promise<Answer> {
  const { port } = new URL(t.url);
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/auth/login',
        method: 'POST',
        localAddress: opts.from ?? '127.0.0.1',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(opts.cookie ? { cookie: opts.cookie } : {}),
        },
      },
      (res) => {
        let data = '';
        res.on('data', (d) => {
          data += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            setCookie: res.headers['set-cookie']?.[0],
            body: JSON.parse(data),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Guesses at the admin's password until the account is locked (whatever earlier tests left). */
async function lockAdmin(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    if ((await login('admin', 'attacker-guess', { from: '127.0.4.1' })).status === 429) return;
  }
  throw new Error('the admin account did not lock after 10 guesses');
}

const cookieOf = (setCookie: string | undefined) => setCookie?.split(';')[0] ?? '';

beforeAll(async () => {
  t = await startTestServer();
  const signIn = await login('admin', ADMIN_PASSWORD, { from: '127.0.0.2' });
  expect(signIn.status).toBe(200);
  adminDevice = cookieOf(signIn.setCookie);
  // A second real account, for comparing real and made-up usernames on accounts nobody guessed at.
  await new UsersRepository(t.server.db).create({
    username: 'viewer1',
    email: 'viewer1@example.com',
    password_hash: await hashPassword('viewer1-password'),
    role: 'viewer',
  });
});
afterAll(async () => {
  await t?.close();
});

describe('POST /api/v1/auth/login throttling', () => {
  it('sets an httpOnly, SameSite=Strict device cookie on a successful sign-in', async () => {
    expect(adminDevice).toMatch(/^tonypi_device=v1\./);
    const again = await login('admin', ADMIN_PASSWORD, { from: '127.0.0.2', cookie: adminDevice });
    expect(again.setCookie).toMatch(/; HttpOnly; SameSite=Strict$/);
  });

  it('throttles 200 guesses at one account from 20 addresses, 20 at a time: almost all get 429 without a password check', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          login('admin', `guess-${round}-${i}`, { from: `127.0.1.${i + 1}` }),
        ),
      );
      for (const a of answers) {
        statuses.push(a.status);
        if (a.status === 429) {
          expect(a.body.error?.code).toBe('rate_limited');
          expect(a.retryAfter).toMatch(/^[1-9]\d*$/);
        }
      }
    }
    const guessed = statuses.filter((s) => s === 401).length;
    expect(statuses.filter((s) => s === 429).length + guessed).toBe(200);
    // 5 free guesses, then a lock that doubles (1 s, 2 s, 4 s …): a handful more while the test
    // runs. Attempts are counted when they start, so the 20 sent at once are not all checked.
    // Before per-account throttling all 200 were.
    expect(guessed).toBeGreaterThanOrEqual(5);
    expect(guessed).toBeLessThanOrEqual(10);
  });

  it('lets the real admin with a device cookie sign in during the lockout, and nobody else', async () => {
    await lockAdmin();
    const noCookie = await login('admin', ADMIN_PASSWORD, { from: '127.0.0.2' });
    expect(noCookie.status).toBe(429);
    const forged = await login('admin', ADMIN_PASSWORD, {
      from: '127.0.0.2',
      cookie: `${adminDevice.slice(0, -4)}AAAA`,
    });
    expect(forged.status).toBe(429);
    const withCookie = await login('admin', ADMIN_PASSWORD, { from: '127.0.1.1', cookie: adminDevice });
    expect(withCookie.status).toBe(200);
  });

  it('lets a client holding a valid session of the user sign in during the lockout', async () => {
    await lockAdmin();
    expect((await login('admin', ADMIN_PASSWORD)).status).toBe(429);
    const res = await fetch(`${t.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    expect(res.status).toBe(200);
  });

  it('throttles a device that guesses wrong on its own, not the other devices', async () => {
    const mine = await login('admin', ADMIN_PASSWORD, { from: '127.0.2.1', cookie: adminDevice });
    const device = cookieOf(mine.setCookie);
    for (let i = 0; i < 5; i++)
      expect((await login('admin', 'typo', { from: '127.0.2.1', cookie: device })).status).toBe(401);
    expect((await login('admin', ADMIN_PASSWORD, { from: '127.0.2.1', cookie: device })).status).toBe(429);
    expect((await login('admin', ADMIN_PASSWORD, { from: '127.0.2.1', cookie: adminDevice })).status).toBe(
      200,
    );
  });

  it('answers an unknown user exactly as a real one, throttle included', async () => {
    const trace = async (username: string, from: string) => {
      const answers: Array<[number, string | undefined, unknown]> = [];
      for (let i = 0; i < 7; i++) {
        const a = await login(username, 'wrong-guess', { from });
        answers.push([a.status, a.retryAfter, a.body]);
      }
      return answers;
    };
    const ghost = await trace('ghost', '127.0.0.3');
    const real = await trace('viewer1', '127.0.0.4');
    expect(real).toEqual(ghost);
    expect(real.map(([status]) => status)).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('throttles one address trying many usernames after 10 failures', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await login(`user-${i}`, 'x', { from: '127.0.3.1' })).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
  });

  it('does not limit other routes', async () => {
    expect((await t.api('/api/v1/robots')).status).toBe(200);
  });
});
