import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CameraState } from '@tonypi/contracts';
import type { Logger } from '../logger';
import { jpegSize, type MjpegFrame, MjpegParser, MjpegStreamError, multipartBoundary } from './mjpeg-parser';

/** The boundary of the streams the server sends its viewers. */
export const PROXY_BOUNDARY = 'tonypiframe';

export interface CameraLimits {
  maxFrameBytes: number;
  maxViewers: number;
  /** Connecting and the response's headers; and the first frame a new viewer waits for. */
  connectTimeoutMs: number;
  /** No bytes from the camera for this long: the connection is dropped and retried. */
  idleTimeoutMs: number;
  /** Upstream stays open this long after the last viewer left (a page reload reuses it). */
  lingerMs: number;
  /** Reconnect delays: first, doubling up to max. */
  backoffMinMs: number;
  backoffMaxMs: number;
}

export interface CameraCounters {
  upstream_connections: number;
  unreachable: number;
  timeouts: number;
  not_multipart: number;
  oversized_frames: number;
  frames: number;
  /** Frames a viewer did not get because its socket was still sending an earlier one. */
  skipped: number;
}

export const newCounters = (): CameraCounters => ({
  upstream_connections: 0,
  unreachable: 0,
  timeouts: 0,
  not_multipart: 0,
  oversized_frames: 0,
  frames: 0,
  skipped: 0,
});

interface Frame extends MjpegFrame {
  seq: number;
  receivedAt: number;
}

/** One browser watching: a response after its multipart headers. */
class Viewer {
  sentSeq = -1;
  waiting = false;
  constructor(readonly res: ServerResponse) {}
}

export class CameraFailure extends Error {
  constructor(
    readonly kind: 'unreachable' | 'timeout' | 'not_multipart' | 'oversized_frame',
    message: string,
    /** The camera answered, just not with what was asked (an HTTP error, not a JPEG). */
    readonly answered = false,
  ) {
    super(message);
  }
}

/** What a feed reports (CameraStatus without the robot's fields). */
export interface FeedStatus {
  state: CameraState;
  viewers: number;
  fps: number;
  width: number | null;
  height: number | null;
  frames: number;
  last_frame_at: string | null;
  last_error: string | null;
}

const FPS_WINDOW_MS = 3000;

/**
 * One robot's camera as the server reads it: at most one upstream connection, however many viewers, opened
 * by the first viewer and closed `lingerMs` after the last. Each frame goes to every viewer whose socket has
 * taken the previous one; a viewer still sending gets the newest frame when its socket drains, the ones in
 * between are skipped (latest-frame semantics): a viewer never costs more than one frame of memory. A lost
 * connection is retried with exponential backoff while viewers remain; a camera that sends something other
 * than MJPEG, or a frame over the limit, ends every viewer's stream.
 */
export class CameraFeed {
  private readonly viewers = new Set<Viewer>();
  private latest: Frame | undefined;
  private seq = 0;
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private state: CameraState = 'idle';
  private retryTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lastError: string | null = null;
  private size: { width: number; height: number } | undefined;
  private readonly arrivals: number[] = [];
  private frameWaiters = new Set<{ resolve: (f: Frame) => void; reject: (e: CameraFailure) => void }>();
  private closed = false;
  private framesThisStream = 0;

  constructor(
    readonly url: string,
    private readonly limits: CameraLimits,
    /** Counted in each (the server's totals and this robot's). */
    private readonly counters: readonly CameraCounters[],
    private readonly logger: Logger,
    /** Called when the feed has nothing left to do (no viewers, upstream closed). */
    private readonly onIdle: (feed: CameraFeed) => void,
  ) {}

  private count(key: keyof CameraCounters): void {
    for (const c of this.counters) c[key]++;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Bytes the viewers' sockets hold, not yet sent (bounded: about one frame each). */
  bufferedBytes(): number {
    let n = 0;
    for (const v of this.viewers) n += v.res.writableLength;
    return n;
  }

  status(now = Date.now()): FeedStatus {
    while (this.arrivals.length > 0 && this.arrivals[0]! < now - FPS_WINDOW_MS) this.arrivals.shift();
    const fps =
      this.arrivals.length >= 2
        ? ((this.arrivals.length - 1) * 1000) / Math.max(1, this.arrivals.at(-1)! - this.arrivals[0]!)
        : 0;
    return {
      state: this.state,
      viewers: this.viewers.size,
      fps: Math.round(fps * 10) / 10,
      width: this.size?.width ?? null,
      height: this.size?.height ?? null,
      frames: this.framesThisStream,
      last_frame_at: this.latest ? new Date(this.latest.receivedAt).toISOString() : null,
      last_error: this.lastError,
    };
  }

  /** The newest frame if it is recent (the stream is flowing), else undefined. */
  freshFrame(maxAgeMs = 2000): MjpegFrame | undefined {
    return this.latest && Date.now() - this.latest.receivedAt <= maxAgeMs && this.state === 'streaming'
      ? this.latest
      : undefined;
  }

  /**
   * Resolves with a frame once the camera sends one (at once if it is streaming), opening the connection if
   * needed; rejects with CameraFailure when the first attempt fails or times out. Keeps the feed open for
   * `lingerMs` when nobody watches.
   */
  firstFrame(): Promise<MjpegFrame> {
    const fresh = this.freshFrame();
    if (fresh) return Promise.resolve(fresh);
    return new Promise<MjpegFrame>((resolve, reject) => {
      const waiter = {
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
          // Nobody may come to watch (the client left meanwhile): the connection then closes after the linger.
          setImmediate(() => this.scheduleLinger());
        },
        reject: (e: CameraFailure) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.frameWaiters.delete(waiter);
        this.count('timeouts');
        reject(
          new CameraFailure('timeout', `The camera sent no frame within ${this.limits.connectTimeoutMs} ms`),
        );
        this.scheduleLinger();
      }, this.limits.connectTimeoutMs);
      this.frameWaiters.add(waiter);
      this.ensureConnected();
    });
  }

  /** Starts sending frames to `res` (its multipart headers are written already). */
  addViewer(res: ServerResponse): void {
    if (res.destroyed) {
      this.scheduleLinger();
      return;
    }
    const v = new Viewer(res);
    this.viewers.add(v);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const leave = () => {
      if (!this.viewers.delete(v)) return;
      if (this.viewers.size === 0) this.scheduleLinger();
    };
    res.once('close', leave);
    res.on('drain', () => {
      v.waiting = false;
      if (this.latest && this.latest.seq > v.sentSeq) this.send(v, this.latest);
    });
    this.ensureConnected();
    if (this.latest && this.state === 'streaming') this.send(v, this.latest);
  }

  /** Ends every viewer and the upstream connection. */
  close(): void {
    this.closed = true;
    this.endViewers();
    this.disconnect();
    clearTimeout(this.retryTimer);
    clearTimeout(this.lingerTimer);
    for (const w of this.frameWaiters) w.reject(new CameraFailure('unreachable', 'The camera proxy stopped'));
    this.frameWaiters.clear();
  }

  private send(v: Viewer, f: Frame): void {
    const { res } = v;
    if (res.destroyed || res.writableEnded) return;
    if (res.writableNeedDrain) {
      v.waiting = true;
      return;
    }
    v.sentSeq = f.seq;
    const head =
      `--${PROXY_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.jpeg.length}\r\n` +
      (f.timestamp === undefined ? '' : `X-Timestamp: ${(f.timestamp / 1000).toFixed(3)}\r\n`) +
      '\r\n';
    // One writev for the part's three pieces.
    res.cork();
    res.write(head);
    res.write(f.jpeg);
    res.write('\r\n');
    res.uncork();
  }

  private onFrame(frame: MjpegFrame): void {
    if (frame.jpeg.length === 0) return;
    const now = Date.now();
    const f: Frame = { ...frame, seq: this.seq++, receivedAt: now };
    this.latest = f;
    this.count('frames');
    this.framesThisStream++;
    this.arrivals.push(now);
    if (this.arrivals.length > 200) this.arrivals.shift();
    if (this.framesThisStream === 1 || this.framesThisStream % 30 === 0)
      this.size = jpegSize(f.jpeg) ?? this.size;
    this.state = 'streaming';
    this.attempt = 0;
    this.lastError = null;
    for (const w of this.frameWaiters) w.resolve(f);
    this.frameWaiters.clear();
    for (const v of this.viewers) {
      if (v.waiting || v.res.writableNeedDrain) {
        v.waiting = true;
        this.count('skipped');
        continue;
      }
      this.send(v, f);
    }
  }

  private ensureConnected(): void {
    if (this.closed || this.req || this.retryTimer) return;
    this.connect();
  }

  private connect(): void {
    const url = new URL(this.url);
    this.state = this.attempt === 0 && this.framesThisStream === 0 ? 'connecting' : 'reconnecting';
    this.count('upstream_connections');
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // Only the robot's own camera_url is ever fetched, never a redirect target (node's client follows none).
    const req = request(url, {
      method: 'GET',
      headers: { accept: 'multipart/x-mixed-replace, image/jpeg', 'user-agent': 'tonypi-fleet-monitor' },
      timeout: this.limits.connectTimeoutMs,
    });
    this.req = req;
    req.setNoDelay(true);
    req.on('timeout', () =>
      this.fail(req, new CameraFailure('timeout', `The camera at ${url.host} did not answer in time`)),
    );
    req.on('error', (err) =>
      this.fail(
        req,
        new CameraFailure('unreachable', `The camera at ${url.host} is unreachable: ${err.message}`),
      ),
    );
    req.on('response', (res) => {
      if (this.req !== req) {
        res.destroy();
        return;
      }
      this.res = res;
      if (res.statusCode !== 200) {
        this.fail(
          req,
          new CameraFailure('unreachable', `The camera at ${url.host} answered HTTP ${res.statusCode}`),
        );
        return;
      }
      const boundary = multipartBoundary(res.headers['content-type']);
      if (!boundary) {
        this.fail(
          req,
          new CameraFailure(
            'not_multipart',
            `The camera at ${url.host} sent ${res.headers['content-type'] ?? 'no content type'}, not an MJPEG stream`,
          ),
        );
        return;
      }
      req.setTimeout(0);
      const parser = new MjpegParser(boundary, this.limits.maxFrameBytes, (f) => this.onFrame(f));
      this.armIdle(req);
      res.on('data', (chunk: Buffer) => {
        if (this.req !== req) return;
        this.armIdle(req);
        try {
          parser.push(chunk);
        } catch (err) {
          if (err instanceof MjpegStreamError) {
            this.fail(
              req,
              new CameraFailure(
                err.reason === 'oversized_frame' ? 'oversized_frame' : 'not_multipart',
                err.message,
              ),
            );
          } else throw err;
        }
      });
      res.on('end', () =>
        this.fail(req, new CameraFailure('unreachable', `The camera at ${url.host} ended the stream`)),
      );
      res.on('error', (err) =>
        this.fail(
          req,
          new CameraFailure('unreachable', `The camera at ${url.host} dropped the stream: ${err.message}`),
        ),
      );
    });
    req.end();
  }

  private armIdle(req: ClientRequest): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(
      () =>
        this.fail(
          req,
          new CameraFailure('timeout', `The camera sent nothing for ${this.limits.idleTimeoutMs} ms`),
        ),
      this.limits.idleTimeoutMs,
    );
  }

  /** The connection `req` failed: counted; viewers end (bad stream) or it is retried with backoff. */
  private fail(req: ClientRequest, failure: CameraFailure): void {
    if (this.req !== req) return;
    this.disconnect();
    this.count(
      failure.kind === 'timeout'
        ? 'timeouts'
        : failure.kind === 'unreachable'
          ? 'unreachable'
          : failure.kind === 'not_multipart'
            ? 'not_multipart'
            : 'oversized_frames',
    );
    this.lastError = failure.message;
    this.logger.warn(
      { camera: new URL(this.url).host, kind: failure.kind, err: failure.message },
      'camera stream failed',
    );
    for (const w of this.frameWaiters) w.reject(failure);
    this.frameWaiters.clear();
    const protocolError = failure.kind === 'not_multipart' || failure.kind === 'oversized_frame';
    if (protocolError) this.endViewers();
    if (this.viewers.size === 0 || this.closed) {
      this.state = 'idle';
      this.framesThisStream = 0;
      this.onIdle(this);
      return;
    }
    this.state = 'reconnecting';
    const delay = Math.min(this.limits.backoffMaxMs, this.limits.backoffMinMs * 2 ** this.attempt);
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.viewers.size > 0 && !this.closed) this.connect();
    }, delay);
  }

  private disconnect(): void {
    clearTimeout(this.idleTimer);
    const req = this.req;
    this.req = undefined;
    this.res?.destroy();
    this.res = undefined;
    req?.destroy();
  }

  private endViewers(): void {
    for (const v of this.viewers) {
      // The closing delimiter: the browser's <img> keeps the last frame and fires no error.
      if (!v.res.destroyed) v.res.end(`--${PROXY_BOUNDARY}--\r\n`);
    }
    this.viewers.clear();
  }

  private scheduleLinger(): void {
    if (this.viewers.size > 0 || this.lingerTimer || this.frameWaiters.size > 0) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.viewers.size > 0 || this.frameWaiters.size > 0) return;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.disconnect();
      this.state = 'idle';
      this.framesThisStream = 0;
      this.latest = undefined;
      this.onIdle(this);
    }, this.limits.lingerMs);
  }
}
