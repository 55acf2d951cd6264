import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { prepareTestPattern, TestPattern } from './test-pattern';

export const CAMERA_BOUNDARY = 'boundarydonotcross';

export interface CameraServerOptions {
  /** The robots whose cameras it serves, at /cam/{robot_id}/?action=stream|snapshot. */
  robotIds: readonly string[];
  /** Default 127.0.0.1: the simulator's cameras are for this machine's server only. */
  host?: string;
  /** 0 (default) = a free port. */
  port?: number;
  /** Frames per second of each stream (default 15). */
  fps?: number;
  /**
   * Bytes of JPEG comment added to every frame (default 0): frames the size of a high-quality camera's, for
   * tests and benchmarks of what carries them.
   */
  padBytes?: number;
}

export interface CameraServerStats {
  /** Open stream connections. */
  streams: number;
  /** Stream connections ever opened. */
  connections: number;
  /** Frames written to sockets. */
  framesSent: number;
  /** Frames skipped for a client whose socket was still backed up. */
  framesSkipped: number;
}

interface Camera {
  pattern?: TestPattern;
  clients: Set<ServerResponse>;
  timer?: NodeJS.Timeout;
  n: number;
}

/**
 * The simulated fleet's cameras, one HTTP server for all: each robot's MJPEG stream (multipart/x-mixed-replace,
 * as mjpg-streamer serves it on a TonyPi, with an `X-Timestamp` per part) and snapshot. A robot's frames are
 * made only while someone watches it; a client whose socket is backed up skips frames.
 */
export class CameraServer {
  private readonly cameras = new Map<string, Camera>();
  private readonly sockets = new Set<Socket>();
  private readonly counters = { connections: 0, framesSent: 0, framesSkipped: 0 };
  private readonly intervalMs: number;
  private readonly pad: Buffer | undefined;

  private constructor(
    private readonly server: Server,
    private readonly host: string,
    readonly port: number,
    fps: number,
    padBytes: number,
  ) {
    this.intervalMs = 1000 / fps;
    this.pad = padBytes > 0 ? comments(padBytes) : undefined;
  }

  static async start(opts: CameraServerOptions): Promise<CameraServer> {
    const host = opts.host ?? '127.0.0.1';
    const fps = opts.fps ?? 15;
    if (!(fps > 0 && fps <= 60)) throw new RangeError(`fps must be in (0, 60], got ${fps}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
    const cam = new CameraServer(
      server,
      host,
      (server.address() as AddressInfo).port,
      fps,
      opts.padBytes ?? 0,
    );
    for (const id of opts.robotIds) cam.cameras.set(id, { clients: new Set(), n: 0 });
    server.on('connection', (s) => {
      s.setNoDelay(true);
      cam.sockets.add(s);
      s.once('close', () => cam.sockets.delete(s));
    });
    server.on('request', (req, res) => void cam.handle(req, res));
    return cam;
  }

  /** The `camera_url` a robot reports (its stream). */
  urlFor(robotId: string): string {
    return `http://${this.host}:${this.port}/cam/${encodeURIComponent(robotId)}/?action=stream`;
  }

  stats(): CameraServerStats {
    let streams = 0;
    for (const c of this.cameras.values()) streams += c.clients.size;
    return { streams, ...this.counters };
  }

  /** Cuts every open stream (tests: an upstream that dies). */
  dropStreams(): void {
    for (const c of this.cameras.values()) for (const res of c.clients) res.destroy();
  }

  async stop(): Promise<void> {
    for (const c of this.cameras.values()) clearInterval(c.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://camera');
    const m = /^\/cam\/([^/]+)\/?$/.exec(url.pathname);
    const id = m ? decodeURIComponent(m[1]!) : undefined;
    const camera = id === undefined ? undefined : this.cameras.get(id);
    if (!camera || req.method !== 'GET' || !id) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such camera\n');
      return;
    }
    await prepareTestPattern();
    camera.pattern ??= new TestPattern(id);
    const pattern = camera.pattern;
    const action = url.searchParams.get('action') ?? 'stream';
    if (action === 'snapshot') {
      const jpg = pattern.frame(camera.n);
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': jpg.length,
        'cache-control': 'no-store',
      });
      res.end(jpg);
      return;
    }
    if (action !== 'stream') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('action must be stream or snapshot\n');
      return;
    }
    res.writeHead(200, {
      'content-type': `multipart/x-mixed-replace;boundary=${CAMERA_BOUNDARY}`,
      'cache-control': 'no-store',
      connection: 'close',
    });
    this.counters.connections++;
    camera.clients.add(res);
    res.once('close', () => {
      camera.clients.delete(res);
      if (camera.clients.size === 0) {
        clearInterval(camera.timer);
        camera.timer = undefined;
      }
    });
    camera.timer ??= setInterval(() => this.tick(camera, pattern), this.intervalMs);
  }

  private tick(camera: Camera, pattern: TestPattern): void {
    const now = Date.now();
    const plain = pattern.frame(camera.n++, now);
    const jpg = this.pad ? Buffer.concat([plain.subarray(0, 2), this.pad, plain.subarray(2)]) : plain;
    // Stamped once made (a new second's band takes an encode): the time it leaves the camera, as mjpg-streamer's.
    const head = Buffer.from(
      `--${CAMERA_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpg.length}\r\n` +
        `X-Timestamp: ${(Date.now() / 1000).toFixed(3)}\r\n\r\n`,
    );
    for (const res of camera.clients) {
      if (res.writableNeedDrain) {
        this.counters.framesSkipped++;
        continue;
      }
      res.write(head);
      res.write(jpg);
      res.write('\r\n');
      this.counters.framesSent++;
    }
  }
}

/** COM segments (FF FE, at most 65,533 bytes of text each) adding up to about `bytes`. */
function comments(bytes: number): Buffer {
  const parts: Buffer[] = [];
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, 65_533);
    const seg = Buffer.alloc(4 + n, 0x20);
    seg.writeUInt16BE(0xfffe, 0);
    seg.writeUInt16BE(n + 2, 2);
    parts.push(seg);
    left -= n;
  }
  return Buffer.concat(parts);
}
