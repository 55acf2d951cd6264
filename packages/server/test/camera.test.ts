import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type ClientRequest, createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CameraServer, prepareTestPattern } from '@tonypi/agent';
import jpeg from 'jpeg-js';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CameraService } from '../src/camera/camera.service';
import { MjpegParser, multipartBoundary } from '../src/camera/mjpeg-parser';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * Issue #11 §2: a robot's camera through the server, against the simulator's camera (its synthetic MJPEG
 * stream) and against cameras that misbehave.
 */

let t: TestServer;
let sim: CameraServer;
let camera: CameraService;
const robots: MqttClient[] = [];
const servers: Server[] = [];
const FRAME_PAD = 200_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  t = await startTestServer({
    CAMERA_LINGER_MS: '300',
    CAMERA_TIMEOUT_MS: '1500',
    CAMERA_SNAPSHOTS_PER_ROBOT: '3',
  });
  camera = t.server.service('camera');
  // Frames padded to ~220 KB: the kernel's socket buffers (MBs on loopback) fill within seconds for a paused viewer.
  sim = await CameraServer.start({ robotIds: ['cam_sim'], fps: 15, padBytes: FRAME_PAD });
  // The pattern's shared bands are encoded on a camera's first request (~0.6 s, more on a busy machine): now,
  // so a first frame never waits past CAMERA_TIMEOUT_MS for them.
  await prepareTestPattern();
  await report('cam_sim', sim.urlFor('cam_sim'));
  await report('cam_none', undefined);
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
afterAll(async () => {
  for (const r of robots) await r.endAsync(true);
  await sim?.stop();
  await t?.close();
});

/** A robot says it is online, with `camera_url` (or none). */
async function report(id: string, camera_url: string | undefined): Promise<void> {
  let c = robots.find((r) => r.options.clientId === id);
  if (!c) {
    c = await connectMqtt(t.mqttUrl, { clientId: id });
    robots.push(c);
  }
  await c.publishAsync(
    `tonypi/${id}/status`,
    JSON.stringify({ ts: Date.now(), status: 'online', ...(camera_url ? { camera_url } : {}) }),
    { qos: 1, retain: false },
  );
  await waitFor(
    async () => {
      const res = await t.api(`/api/v1/robots/${id}`);
      return res.status === 200 && (await res.json()).camera_url === (camera_url ?? null);
    },
    5000,
    `${id} known with its camera`,
  );
}

/** A viewer of a stream through the server: counts the frames it parses; `paused` reads nothing until resumed. */
class Viewer {
  frames = 0;
  ended = false;
  status = 0;
  lastJpeg: Buffer | undefined;
  res: IncomingMessage | undefined;
  readonly ready: Promise<void>;
  private req: ClientRequest | undefined;

  constructor(robot_id: string, opts: { paused?: boolean; token?: string | null } = {}) {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? t.token : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    this.ready = new Promise((resolve, reject) => {
      this.req = get(`${t.url}/api/v1/robots/${robot_id}/camera/stream`, { headers }, (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        const boundary = multipartBoundary(res.headers['content-type']);
        const parser = boundary
          ? new MjpegParser(boundary, 4 << 20, (f) => {
              this.frames++;
              this.lastJpeg = f.jpeg;
            })
          : undefined;
        if (opts.paused) res.pause();
        res.on('data', (c: Buffer) => parser?.push(c));
        res.on('end', () => {
          this.ended = true;
        });
        res.on('close', () => {
          this.ended = true;
        });
        resolve();
      });
      this.req.on('error', (err) => (this.res ? undefined : reject(err)));
    });
  }

  async body(): Promise<{ error: { code: string; message: string } }> {
    const chunks: Buffer[] = [];
    for await (const c of this.res!) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString());
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req?.destroy();
  }
}

const statusOf = async (id: string) => await (await t.api(`/api/v1/robots/${id}/camera/status`)).json();

describe('GET /api/v1/robots/{robot_id}/camera/stream', () => {
  it('serves 10 viewers and a paused one from one upstream connection, the paused one skipping frames with bounded buffers', async () => {
    const before = sim.stats().connections;
    const viewers = Array.from({ length: 10 }, () => new Viewer('cam_sim'));
    const slow = new Viewer('cam_sim', { paused: true });
    await Promise.all([...viewers, slow].map((v) => v.ready));
    for (const v of [...viewers, slow]) expect(v.status).toBe(200);
    expect(viewers[0]!.res!.headers['content-type']).toBe('multipart/x-mixed-replace; boundary=tonypiframe');

    // Until the paused viewer's socket is backed up, then 2 s more: how much the server holds meanwhile.
    let maxBuffered = 0;
    let skipping: number | undefined;
    const started = Date.now();
    while (skipping === undefined || Date.now() - skipping < 2000) {
      if (skipping === undefined && camera.counters.skipped > 0) skipping = Date.now();
      if (Date.now() - started > 20_000) throw new Error('the paused viewer never backed up');
      maxBuffered = Math.max(maxBuffered, camera.load().buffered_bytes);
      await sleep(20);
    }
    const elapsedS = (Date.now() - started) / 1000;
    expect(sim.stats().connections - before).toBe(1);
    const status = await statusOf('cam_sim');
    expect(status).toMatchObject({
      has_camera: true,
      state: 'streaming',
      viewers: 11,
      width: 640,
      height: 480,
    });
    expect(status.fps).toBeGreaterThan(10);
    for (const v of viewers) expect(v.frames).toBeGreaterThan(elapsedS * 10); // 15 fps
    const frame = jpeg.decode(viewers[0]!.lastJpeg!, { useTArray: true });
    expect([frame.width, frame.height]).toEqual([640, 480]);
    // Each viewer's socket holds at most one frame beyond what the kernel buffers: never a queue of them.
    const frameBytes = viewers[0]!.lastJpeg!.length;
    expect(maxBuffered).toBeLessThanOrEqual(11 * (frameBytes + 1024));

    const fastFrames = viewers[0]!.frames;
    slow.resume();
    await sleep(500);
    expect(slow.frames).toBeLessThan(fastFrames);
    expect(slow.frames).toBeGreaterThan(0);
    for (const v of [...viewers, slow]) v.close();
    await waitFor(
      async () => (await statusOf('cam_sim')).state === 'idle',
      5000,
      'upstream closed after the last viewer',
    );
    expect(sim.stats().streams).toBe(0);
  });

  it('reconnects when the camera drops the stream, while viewers remain', async () => {
    const v = new Viewer('cam_sim');
    await v.ready;
    await waitFor(() => v.frames >= 5, 5000, 'frames');
    const before = sim.stats().connections;
    sim.dropStreams();
    const seen = v.frames;
    await waitFor(() => v.frames >= seen + 10, 5000, 'frames after the reconnect');
    expect(sim.stats().connections - before).toBe(1);
    expect(v.ended).toBe(false);
    expect((await statusOf('cam_sim')).state).toBe('streaming');
    v.close();
  });

  it('retries a camera that went away with growing delays while someone watches, and streams again when it is back', async () => {
    const small = Buffer.from(await (await t.api('/api/v1/robots/cam_sim/camera/snapshot')).arrayBuffer());
    const serve = (_req: IncomingMessage, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame' });
      const timer = setInterval(() => {
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${small.length}\r\n\r\n`);
        res.write(small);
        res.write('\r\n');
      }, 50);
      res.on('close', () => clearInterval(timer));
    };
    const first = await listen(serve);
    const port = (first.address() as AddressInfo).port;
    await report('cam_flaky', `http://127.0.0.1:${port}/?action=stream`);
    const v = new Viewer('cam_flaky');
    await v.ready;
    await waitFor(() => v.frames >= 3, 5000, 'frames');
    const failedBefore = (await statusOf('cam_flaky')).errors.unreachable;
    first.closeAllConnections();
    await new Promise((r) => first.close(r));
    await sleep(2500);
    const down = await statusOf('cam_flaky');
    expect(down.state).toBe('reconnecting');
    // 250, 500, 1000 ms … between attempts: a handful in 2.5 s, not one every 250 ms.
    const attempts = down.errors.unreachable - failedBefore;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(v.ended).toBe(false);
    const again = createServer(serve);
    servers.push(again);
    await new Promise<void>((resolve) => again.listen(port, '127.0.0.1', () => resolve()));
    const seen = v.frames;
    await waitFor(() => v.frames >= seen + 3, 10_000, 'frames once the camera is back');
    expect((await statusOf('cam_flaky')).state).toBe('streaming');
    v.close();
  });

  it('answers 409 no_camera for a robot without a camera, 404 for an unknown robot, 401 without a session', async () => {
    const none = await t.api('/api/v1/robots/cam_none/camera/stream');
    expect(none.status).toBe(409);
    expect((await none.json()).error.code).toBe('no_camera');
    expect((await t.api('/api/v1/robots/cam_none/camera/snapshot')).status).toBe(409);
    expect(await statusOf('cam_none')).toMatchObject({ has_camera: false, state: 'no_camera' });
    const unknown = await t.api('/api/v1/robots/cam_nobody/camera/stream');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('robot_not_found');
    const anonymous = await t.api('/api/v1/robots/cam_sim/camera/stream', { anonymous: true });
    expect(anonymous.status).toBe(401);
    expect((await t.api('/api/v1/robots/cam_sim/camera/snapshot', { anonymous: true })).status).toBe(401);
  });

  it('answers 502 camera_unreachable when nothing listens and 504 when the camera never answers', async () => {
    const refused = await listen(() => undefined);
    const port = (refused.address() as AddressInfo).port;
    refused.close();
    await report('cam_gone', `http://127.0.0.1:${port}/?action=stream`);
    const gone = await t.api('/api/v1/robots/cam_gone/camera/stream');
    expect(gone.status).toBe(502);
    expect((await gone.json()).error).toMatchObject({
      code: 'camera_unreachable',
      message: expect.stringMatching(/unreachable/),
    });

    const silent = await listen(() => undefined); // takes the request, never answers
    await report('cam_silent', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/?action=stream`);
    const hung = await t.api('/api/v1/robots/cam_silent/camera/stream');
    expect(hung.status).toBe(504);
    expect((await hung.json()).error.code).toBe('camera_unreachable');
    const snap = await t.api('/api/v1/robots/cam_silent/camera/snapshot');
    expect(snap.status).toBe(504);
  });

  it('counts a camera that sends no MJPEG, and ends viewers cleanly at an oversized frame; the server stays up', async () => {
    const before = { ...camera.counters };
    const html = await listen((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'),
    );
    await report('cam_html', `http://127.0.0.1:${(html.address() as AddressInfo).port}/?action=stream`);
    const a = await t.api('/api/v1/robots/cam_html/camera/stream');
    expect(a.status).toBe(502);
    expect((await a.json()).error.message).toMatch(/not an MJPEG stream/);

    const garbage = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame' });
      res.write(Buffer.alloc(64 * 1024, 0x41));
    });
    await report('cam_garbage', `http://127.0.0.1:${(garbage.address() as AddressInfo).port}/?action=stream`);
    expect((await t.api('/api/v1/robots/cam_garbage/camera/stream')).status).toBe(502);

    const small = Buffer.from(await (await t.api('/api/v1/robots/cam_sim/camera/snapshot')).arrayBuffer());
    const oversized = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame' });
      res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${small.length}\r\n\r\n`);
      res.write(small);
      res.write('\r\n');
      setTimeout(
        () => res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${3 << 20}\r\n\r\n`),
        300,
      );
    });
    await report('cam_big', `http://127.0.0.1:${(oversized.address() as AddressInfo).port}/?action=stream`);
    const v = new Viewer('cam_big');
    await v.ready;
    expect(v.status).toBe(200);
    await waitFor(() => v.ended, 5000, 'the viewer’s stream ends');
    expect(v.frames).toBe(1);

    // Garbage after a good frame: the viewer's stream ends too.
    const derailed = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame' });
      res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${small.length}\r\n\r\n`);
      res.write(small);
      res.write('\r\n');
      setTimeout(() => res.write(Buffer.alloc(64 * 1024, 0x42)), 300);
    });
    await report(
      'cam_derailed',
      `http://127.0.0.1:${(derailed.address() as AddressInfo).port}/?action=stream`,
    );
    const w = new Viewer('cam_derailed');
    await w.ready;
    expect(w.status).toBe(200);
    await waitFor(() => w.ended, 5000, 'the viewer’s stream ends');
    expect(w.frames).toBe(1);

    expect(camera.counters.not_multipart - before.not_multipart).toBe(3);
    expect(camera.counters.oversized_frames - before.oversized_frames).toBe(1);
    expect((await t.api('/api/v1/health')).status).toBe(200);
    expect((await statusOf('cam_big')).errors.oversized_frames).toBeGreaterThan(0);
  });
});

describe('camera snapshots', () => {
  it('GET …/camera/snapshot answers one JPEG from the camera', async () => {
    const res = await t.api('/api/v1/robots/cam_sim/camera/snapshot');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const img = jpeg.decode(Buffer.from(await res.arrayBuffer()), { useTArray: true });
    expect([img.width, img.height]).toEqual([640, 480]);
  });

  it('GET …/camera/snapshot takes a frame of the stream from a camera that has no snapshots', async () => {
    const small = Buffer.from(await (await t.api('/api/v1/robots/cam_sim/camera/snapshot')).arrayBuffer());
    const streamOnly = await listen((req, res) => {
      if (req.url?.includes('action=snapshot')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=frame' });
      res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${small.length}\r\n\r\n`);
      res.write(small);
      res.write('\r\n');
    });
    await report(
      'cam_streamonly',
      `http://127.0.0.1:${(streamOnly.address() as AddressInfo).port}/?action=stream`,
    );
    const res = await t.api('/api/v1/robots/cam_streamonly/camera/snapshot');
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(small);
  });

  it('POST stores the current image with the robot, audited; the list is newest first and paged; the image is served', async () => {
    const first = await t.api('/api/v1/robots/cam_sim/camera/snapshots', {
      method: 'POST',
      json: { note: 'door left open' },
    });
    expect(first.status, await first.clone().text()).toBe(201);
    const a = await first.json();
    expect(a).toMatchObject({
      robot_id: 'cam_sim',
      taken_by: 'admin',
      width: 640,
      height: 480,
      note: 'door left open',
      alert_id: null,
      url: `/api/v1/camera/snapshots/${a.id}`,
    });
    const posted = await t.api('/api/v1/robots/cam_sim/camera/snapshots', { method: 'POST' });
    expect(posted.status, await posted.clone().text()).toBe(201);
    const second = await posted.json();

    const page1 = await (await t.api('/api/v1/robots/cam_sim/camera/snapshots?limit=1')).json();
    expect(page1.total).toBe(2);
    expect(page1.items.map((s: { id: number }) => s.id)).toEqual([second.id]);
    const page2 = await (
      await t.api(`/api/v1/robots/cam_sim/camera/snapshots?limit=1&cursor=${page1.next_cursor}`)
    ).json();
    expect(page2.items.map((s: { id: number }) => s.id)).toEqual([a.id]);
    expect(page2.next_cursor).toBeNull();

    const image = await t.api(a.url);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await image.arrayBuffer()).length).toBe(a.size_bytes);
    expect((await t.api('/api/v1/camera/snapshots/999999')).status).toBe(404);

    const audit = await (await t.api('/api/v1/audit?action=robot.camera.snapshot')).json();
    expect(audit.items.length).toBeGreaterThanOrEqual(2);
    expect(audit.items[0]).toMatchObject({
      action: 'robot.camera.snapshot',
      target: { type: 'robot', id: 'cam_sim' },
      outcome: 'success',
    });

    const unknownAlert = await t.api('/api/v1/robots/cam_sim/camera/snapshots', {
      method: 'POST',
      json: { alert_id: 999_999 },
    });
    expect(unknownAlert.status).toBe(404);
    expect((await unknownAlert.json()).error.code).toBe('alert_not_found');
    const longNote = await t.api('/api/v1/robots/cam_sim/camera/snapshots', {
      method: 'POST',
      json: { note: 'x'.repeat(501) },
    });
    expect(longNote.status).toBe(400);
    expect((await t.api('/api/v1/robots/cam_none/camera/snapshots', { method: 'POST' })).status).toBe(409);
    expect((await t.api('/api/v1/robots/cam_nobody/camera/snapshots')).status).toBe(404);
  });
});

describe('snapshots kept for an alert, in a report, and their retention', () => {
  const store = async (robot: string, body?: Record<string, unknown>) => {
    const res = await t.api(`/api/v1/robots/${robot}/camera/snapshots`, {
      method: 'POST',
      ...(body ? { json: body } : {}),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: number; alert_id: number | null; url: string };
  };
  const ids = (list: { items: { id: number }[] }) => list.items.map((s) => s.id);

  it('lists the snapshots of an alert (robot list ?alert_id=, the alert list’s ?alert_ids=), and deletes one, audited', async () => {
    // A second robot whose camera is the simulator's: its snapshots are its own.
    await report('cam_alerts', sim.urlFor('cam_sim'));
    const raise = async (title: string) => {
      const res = await t.api('/api/v1/alerts', {
        method: 'POST',
        json: { robot_id: 'cam_alerts', severity: 'warning', title, message: 'seen on camera' },
      });
      expect(res.status).toBe(201);
      return (await res.json()).id as number;
    };
    const a1 = await raise('Arm stuck');
    const a2 = await raise('Fell over');
    const s1 = await store('cam_alerts', { alert_id: a1 });
    const s2 = await store('cam_alerts', { alert_id: a2, note: 'on its back' });
    const s3 = await store('cam_alerts', { alert_id: a1 });
    expect(s1.alert_id).toBe(a1);

    const ofA1 = await (await t.api(`/api/v1/robots/cam_alerts/camera/snapshots?alert_id=${a1}`)).json();
    expect(ids(ofA1)).toEqual([s3.id, s1.id]);
    expect(ofA1.total).toBe(2);
    const both = await (
      await t.api(`/api/v1/camera/snapshots?alert_ids=${a1},${a2}&alert_ids=999999`)
    ).json();
    expect(ids(both)).toEqual([s3.id, s2.id, s1.id]);

    // Bad input: each a 400 naming the parameter.
    for (const q of ['alert_ids=abc', 'alert_ids=1,-2', 'alert_ids=', '']) {
      const res = await t.api(`/api/v1/camera/snapshots?${q}`);
      expect(res.status, q).toBe(400);
      expect(JSON.stringify(await res.json()), q).toContain('alert_ids');
    }
    const tooMany = Array.from({ length: 201 }, (_, i) => i + 1).join(',');
    expect((await t.api(`/api/v1/camera/snapshots?alert_ids=${tooMany}`)).status).toBe(400);
    expect((await t.api('/api/v1/robots/cam_alerts/camera/snapshots?alert_id=x')).status).toBe(400);
    // A snapshot for another robot's alert is refused.
    const wrong = await t.api('/api/v1/robots/cam_sim/camera/snapshots', {
      method: 'POST',
      json: { alert_id: a1 },
    });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(await wrong.json())).toContain("not cam_sim's");

    // Viewers read them but cannot delete; an operator can.
    const created = await t.api('/api/v1/users', {
      method: 'POST',
      json: {
        username: 'cam_viewer',
        email: 'viewer@cam.example',
        role: 'viewer',
        password: 'viewer-long-password',
      },
    });
    expect(created.status).toBe(201);
    const login = await t.api('/api/v1/auth/login', {
      method: 'POST',
      anonymous: true,
      json: { username: 'cam_viewer', password: 'viewer-long-password' },
    });
    const viewer = (await login.json()).access_token as string;
    const asViewer = { anonymous: true, headers: { authorization: `Bearer ${viewer}` } } as const;
    expect((await t.api(`/api/v1/camera/snapshots?alert_ids=${a1}`, asViewer)).status).toBe(200);
    expect((await t.api(`/api/v1/camera/snapshots/${s1.id}`, { ...asViewer, method: 'DELETE' })).status).toBe(
      403,
    );
    expect((await t.api(`/api/v1/camera/snapshots/${s1.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await t.api(s1.url)).status).toBe(404);
    const again = await t.api(`/api/v1/camera/snapshots/${s1.id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect((await again.json()).error.code).toBe('camera_snapshot_not_found');
    const audit = await (await t.api('/api/v1/audit?action=robot.camera.snapshot.delete')).json();
    expect(audit.items[0]).toMatchObject({
      target: { type: 'robot', id: 'cam_alerts' },
      details: { snapshot_id: s1.id },
    });
  });

  it('puts the robot’s snapshots of the period in its report, their images in the PDF', async () => {
    await report('cam_report', sim.urlFor('cam_sim'));
    const plain = await store('cam_report');
    const noted = await store('cam_report', { note: 'Gripper worn — see the left finger' });
    const res = await t.api('/api/v1/reports', {
      method: 'POST',
      json: { kind: 'performance', robot_id: 'cam_report', from: '1h' },
    });
    expect(res.status).toBe(202);
    const { report_id } = await res.json();
    const done = await waitFor(
      async () => {
        const r = await (await t.api(`/api/v1/reports/${report_id}`)).json();
        if (r.status === 'failed') throw new Error(r.error);
        return r.status === 'completed' ? r : undefined;
      },
      20_000,
      'report completed',
    );
    // The noted one first, then the newest.
    expect(done.document.snapshots.map((s: { id: number }) => s.id)).toEqual([noted.id, plain.id]);
    expect(done.document.snapshots[0]).toMatchObject({
      robot_id: 'cam_report',
      note: 'Gripper worn — see the left finger',
    });

    const pdf = Buffer.from(await (await t.api(`/api/v1/reports/${report_id}/pdf`)).arrayBuffer());
    const dir = await mkdtemp(path.join(tmpdir(), 'tonypi-snap-report-'));
    try {
      const file = path.join(dir, 'r.pdf');
      await writeFile(file, pdf);
      const text = execFileSync('/usr/bin/pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
      expect(text).toContain('Camera snapshots');
      expect(text).toContain('Gripper worn');
      const images = execFileSync('/usr/bin/pdfimages', ['-list', file], { encoding: 'utf8' });
      // Two header lines, then one line per image: both 640×480 JPEGs.
      const rows = images.trim().split('\n').slice(2);
      expect(rows).toHaveLength(2);
      for (const r of rows) expect(r).toMatch(/\s640\s+480\s.*jpeg/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('deletes snapshots past the retention age and beyond CAMERA_SNAPSHOTS_PER_ROBOT, newest kept', async () => {
    await report('cam_keep', sim.urlFor('cam_sim'));
    const kept = [];
    for (let i = 0; i < 5; i++) kept.push(await store('cam_keep'));
    const old = await store('cam_keep');
    await t.server
      .service('db')
      .query("UPDATE camera_snapshots SET taken_at = now() - interval '91 days' WHERE id = $1", [old.id]);
    const before = camera.retentionCounters.pruned;
    const deleted = await camera.prune();
    expect(deleted).toBeGreaterThanOrEqual(3);
    const left = await (await t.api('/api/v1/robots/cam_keep/camera/snapshots')).json();
    expect(ids(left)).toEqual(
      kept
        .slice(2)
        .map((s) => s.id)
        .reverse(),
    );
    expect(camera.retentionCounters.pruned - before).toBe(deleted);
    const health = await (await t.api('/api/v1/health')).json();
    expect(health.camera).toMatchObject({ pruned: camera.retentionCounters.pruned, prune_errors: 0 });
  });
});

function listen(
  handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void,
): Promise<Server> {
  const s = createServer(handler);
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}
