import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/test-server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('POST /api/v1/auth/login rate limit', () => {
  it('answers 429 rate_limited after 10 attempts a minute from one address, even with the right password', async () => {
    // The test server's own sign-in was the first attempt of this minute.
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await t.api('/api/v1/auth/login', {
        method: 'POST',
        anonymous: true,
        json: { username: 'admin', password: 'guess' },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(9).fill(401));
    const blocked = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      json: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(blocked.status).toBe(429);
    expect((await blocked.json()).error.code).toBe('rate_limited');
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('does not limit other routes', async () => {
    expect((await t.api('/api/v1/robots')).status).toBe(200);
  });
});
