import { get } from 'node:http';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/test-server';

/** `npm start`'s simulated robots have cameras: what they report as camera_url streams through the server. */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ SIMULATED_ROBOTS: '1' });
});
afterAll(async () => {
  await t?.close();
});

/** Opens the stream with node:http and resolves once `bytes` arrived; the response stays open. */
function watch(robot_id: string, bytes: number) {
  return new Promise<{ status: number; ended: Promise<void>; close: () => void }>((resolve, reject) => {
    const req = get(
      `${t.url}/api/v1/robots/${robot_id}/camera/stream`,
      { headers: { authorization: `Bearer ${t.token}` }, agent: false },
      (res) => {
        let seen = 0;
        const ended = new Promise<void>((done) => res.once('close', () => done()));
        res.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen >= bytes) resolve({ status: res.statusCode ?? 0, ended, close: () => req.destroy() });
        });
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
  });
}

describe('a simulated robot’s camera', () => {
  it('reports a camera_url on 127.0.0.1 that the server proxies: a 640×480 test pattern', async () => {
    const robot = await waitFor(
      async () => {
        const list = await (await t.api('/api/v1/robots')).json();
        return (list.items as Array<{ robot_id: string; camera_url: string | null }>).find(
          (r) => r.camera_url,
        );
      },
      10_000,
      'a simulated robot with a camera',
    );
    expect(robot.camera_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cam\/tonypi_sim_01\/\?action=stream$/);
    const snap = await t.api(`/api/v1/robots/${robot.robot_id}/camera/snapshot`);
    expect(snap.status).toBe(200);
    const img = jpeg.decode(Buffer.from(await snap.arrayBuffer()), { useTArray: true });
    expect([img.width, img.height]).toEqual([640, 480]);

    // node:http, not fetch: a fetch body cancelled mid-stream leaves undici holding a fresh connection open.
    const streamed = await watch(robot.robot_id, 100_000);
    streamed.close();
    expect(streamed.status).toBe(200);
    const status = await (await t.api(`/api/v1/robots/${robot.robot_id}/camera/status`)).json();
    expect(status).toMatchObject({ has_camera: true, width: 640, height: 480 });
  });

  it('ends the streams of viewers still watching when the server stops, without waiting for them', async () => {
    const v = await watch('tonypi_sim_01', 50_000);
    const started = Date.now();
    await t.close();
    t = undefined as unknown as TestServer;
    await v.ended;
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
