import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
let robot: MqttClient;
let feeding: NodeJS.Timeout;
beforeAll(async () => {
  t = await startTestServer();
  robot = await connectMqtt(t.mqttUrl, { clientId: 'tonypi_live' });
  // A robot that never stops: the stream has frames to send right up to (and past) the expiry.
  let percent = 0;
  feeding = setInterval(() => {
    percent = (percent + 1) % 100;
    robot.publish('tonypi/tonypi_live/battery', JSON.stringify({ percent }));
  }, 50);
});
afterAll(async () => {
  clearInterval(feeding);
  await robot?.endAsync(true);
  await t?.close();
});

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
/** A token of the admin's signed-in session that expires in `seconds` (JWT times are whole seconds). */
const shortToken = (seconds: number, username = 'admin') => {
  const { sub, sid } = claimsOf(t.token);
  return t.server.http.jwt.sign({ sub, username, role: 'admin', sid }, { expiresIn: seconds });
};
const expiryOf = (token: string) => claimsOf(token).exp * 1000;

async function subscribed(token: string): Promise<LiveClient> {
  const live = await LiveClient.connect(t.url);
  live.send({ type: 'auth', token });
  await live.next('hello', (f) => f.authenticated === true);
  live.send({ type: 'subscribe', robots: ['tonypi_live'], channels: ['telemetry'] });
  await live.next('telemetry');
  return live;
}

describe('WS /api/v1/stream: a session that ends while the socket is open', () => {
  it('is closed with 4401 "Session expired" after an unauthorized error frame, and gets no frame after', async () => {
    const token = shortToken(2);
    const live = await subscribed(token);
    const closed = await live.closed();

    expect(closed).toEqual({ code: 4401, reason: 'Session expired' });
    expect(live.frames.at(-1)).toMatchObject({
      type: 'error',
      code: 'unauthorized',
      message: expect.stringMatching(/expired/),
    });
    expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(token));
    // REST refuses the same token: both ends agree.
    const rest = await t.api('/api/v1/robots', {
      anonymous: true,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(rest.status).toBe(401);
  });

  it('closes a socket signed in by its upgrade header at expiry too', async () => {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${shortToken(1)}` });
    await live.next('hello', (f) => f.authenticated === true);
    expect(await live.closed()).toEqual({ code: 4401, reason: 'Session expired' });
  });

  it('stays open when the client renews its session with a new token before expiry', async () => {
    const token = shortToken(2);
    const live = await subscribed(token);
    live.send({ type: 'auth', token: t.token });
    await waitFor(() => live.of('hello').filter((f) => f.authenticated).length === 2, 5000, 'second hello');
    // A telemetry frame stamped well after the first token's expiry: the socket outlived it.
    const after = expiryOf(token) + 500;
    await live.next('telemetry', (f) => Number(f.ts) > after, 6000);
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    live.close();
  });

  it('is closed with "Session revoked" when a session check refuses it (the hook logout will use)', async () => {
    const signedOut = new Set<string>();
    t.server.http.sessions.addCheck((s) => (signedOut.has(s.username) ? 'You signed out' : undefined));
    const keep = await subscribed(t.token);
    const gone = await subscribed(shortToken(3600, 'leaver'));
    signedOut.add('leaver');
    t.server.http.sessions.recheckAll();

    expect(await gone.closed()).toEqual({ code: 4401, reason: 'Session revoked' });
    expect(gone.frames.at(-1)).toMatchObject({
      type: 'error',
      code: 'unauthorized',
      message: 'You signed out',
    });
    keep.send({ type: 'ping', id: 'still-here' });
    expect(await keep.next('pong')).toMatchObject({ id: 'still-here' });
    keep.close();
  });
});
