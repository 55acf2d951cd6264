import { get } from 'node:http';
import jpeg from 'jpeg-js';
import { afterEach, describe, expect, it } from 'vitest';
import { CAMERA_BOUNDARY, CameraServer } from './camera-server';

let server: CameraServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function fetchBytes(url: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'] ?? '',
          body: Buffer.concat(chunks),
        }),
      );
    }).on('error', reject);
  });
}

/** Reads `frames` parts of a stream, then hangs up. */
function readParts(
  url: string,
  frames: number,
): Promise<{ type: string; parts: { headers: string; jpg: Buffer }[] }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let buf = Buffer.alloc(0);
      const parts: { headers: string; jpg: Buffer }[] = [];
      res.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const headers = buf.subarray(0, end).toString();
          const len = Number(/Content-Length: (\d+)/i.exec(headers)?.[1]);
          if (buf.length < end + 4 + len + 2) return;
          parts.push({ headers, jpg: buf.subarray(end + 4, end + 4 + len) });
          buf = buf.subarray(end + 4 + len + 2);
          if (parts.length === frames) {
            req.destroy();
            resolve({ type: res.headers['content-type'] ?? '', parts });
            return;
          }
        }
      });
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
  });
}

describe('the simulated camera server', () => {
  it('streams 640×480 JPEG frames as multipart/x-mixed-replace at about the frame rate asked', async () => {
    server = await CameraServer.start({ robotIds: ['tonypi_sim_01'], fps: 15 });
    const url = server.urlFor('tonypi_sim_01');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cam\/tonypi_sim_01\/\?action=stream$/);
    await readParts(url, 1); // the shared bands are encoded on the first request
    const started = Date.now();
    const { type, parts } = await readParts(url, 15);
    const elapsed = Date.now() - started;
    expect(type).toBe(`multipart/x-mixed-replace;boundary=${CAMERA_BOUNDARY}`);
    expect(parts[0]!.headers).toMatch(new RegExp(`^--${CAMERA_BOUNDARY}\\r\\nContent-Type: image/jpeg`));
    expect(parts[0]!.headers).toMatch(/X-Timestamp: \d+\.\d{3}/);
    expect(elapsed).toBeGreaterThan(700);
    expect(elapsed).toBeLessThan(2500);
    const a = jpeg.decode(parts[0]!.jpg, { useTArray: true });
    const b = jpeg.decode(parts[1]!.jpg, { useTArray: true });
    expect([a.width, a.height]).toEqual([640, 480]);
    expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).not.toBe(0); // the pattern moves
  });

  it('answers a snapshot as one JPEG, and 404 for a robot it does not serve', async () => {
    server = await CameraServer.start({ robotIds: ['r1'] });
    const snap = await fetchBytes(server.urlFor('r1').replace('action=stream', 'action=snapshot'));
    expect(snap.status).toBe(200);
    expect(snap.type).toBe('image/jpeg');
    expect(jpeg.decode(snap.body, { useTArray: true }).width).toBe(640);
    expect((await fetchBytes(server.urlFor('nobody'))).status).toBe(404);
  });

  it('makes frames only while someone watches', async () => {
    server = await CameraServer.start({ robotIds: ['r1'], fps: 30 });
    await readParts(server.urlFor('r1'), 3);
    await new Promise((r) => setTimeout(r, 100));
    const sent = server.stats().framesSent;
    expect(server.stats().streams).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.stats().framesSent).toBe(sent);
  });
});
