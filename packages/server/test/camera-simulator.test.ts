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
    const streamed = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const req = get(
        `${t.url}/api/v1/robots/${robot.robot_id}/camera/stream`,
        { headers: { authorization: `Bearer ${t.token}` }, agent: false },
        (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (bytes >= 100_000) {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, bytes });
            }
          });
        },
      );
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    expect(streamed.status).toBe(200);
    const status = await (await t.api(`/api/v1/robots/${robot.robot_id}/camera/status`)).json();
    expect(status).toMatchObject({ has_camera: true, width: 640, height: 480 });
  });
});
