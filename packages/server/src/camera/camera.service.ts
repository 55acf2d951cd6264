import type { ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CameraSnapshot, CameraStatus } from '@tonypi/contracts';
import type { AuditEntry, AuditTrail } from '../audit/audit-trail';
import { ApiError, notFound, validationError } from '../errors';
import type { Logger } from '../logger';
import {
  type CameraCounters,
  CameraFailure,
  CameraFeed,
  type CameraLimits,
  newCounters,
} from './camera-feed';
import type { CameraSnapshotsRepository, SnapshotPosition, SnapshotRow } from './camera-snapshots.repository';
import { jpegSize } from './mjpeg-parser';

export interface CameraServiceOptions {
  repo: CameraSnapshotsRepository;
  audit: AuditTrail;
  /** The robot's servable camera_url (http(s) only), null when it reported none; throws 404 for an unknown robot. */
  cameraUrlOf: (robot_id: string) => Promise<string | null>;
  /** Throws 404 for an unknown alert; its robot otherwise. */
  alertRobot: (alert_id: number) => Promise<string | null>;
  limits: CameraLimits;
  /** Stored snapshots' retention: by age and by count per robot. */
  retention?: { maxAgeMs: number; perRobot: number };
  logger: Logger;
  now?: () => number;
}

/** Retention deletes this many rows per statement, so one run never holds the database for long. */
const PRUNE_BATCH = 500;
/** The alert list shows at most this many snapshots per alert. */
const SNAPSHOTS_PER_ALERT = 10;

type Auditor = Pick<AuditEntry, 'actor' | 'address' | 'user_agent'>;

export const noCamera = (robot_id: string) =>
  new ApiError(409, 'no_camera', `${robot_id} reported no camera (no camera_url in its status)`);

function unreachable(err: unknown): ApiError {
  if (err instanceof CameraFailure) {
    return new ApiError(err.kind === 'timeout' ? 504 : 502, 'camera_unreachable', err.message, {
      reason: err.kind,
    });
  }
  return new ApiError(502, 'camera_unreachable', `The camera is unreachable: ${(err as Error).message}`);
}

export function encodeSnapshotCursor(p: SnapshotPosition): string {
  return Buffer.from(`${p.ts}.${p.id}`).toString('base64url');
}

export function decodeSnapshotCursor(cursor: string): SnapshotPosition | undefined {
  const m = /^(\d{1,16})\.(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { ts: Number(m[1]), id: Number(m[2]) } : undefined;
}

const toSnapshot = (r: SnapshotRow): CameraSnapshot => ({
  id: r.id,
  robot_id: r.robot_id,
  taken_at: r.taken_at.toISOString(),
  taken_by: r.taken_by_name,
  width: r.width,
  height: r.height,
  size_bytes: r.size,
  alert_id: r.alert_id,
  note: r.note,
  url: `/api/v1/camera/snapshots/${r.id}`,
});

/** The URL of a camera's single JPEG: mjpg-streamer's `?action=snapshot` on the reported URL. */
export function snapshotUrl(cameraUrl: string): string {
  const u = new URL(cameraUrl);
  u.searchParams.set('action', 'snapshot');
  return u.toString();
}

/**
 * Robots' cameras through the server: a feed per robot that someone watches (one upstream connection each),
 * snapshots from the live frame or one fetch, and stored snapshots.
 */
export class CameraService {
  /** The server's totals over every robot. */
  readonly counters: CameraCounters = newCounters();
  /** Stored snapshots deleted by retention, and retention runs that failed. */
  readonly retentionCounters = { pruned: 0, prune_errors: 0 };
  /** Each robot's, since the server started (robots someone watched or asked a snapshot of). */
  private readonly perRobot = new Map<string, CameraCounters>();
  private readonly feeds = new Map<string, CameraFeed>();
  private stopped = false;

  constructor(private readonly opts: CameraServiceOptions) {}

  async status(robot_id: string): Promise<CameraStatus> {
    const url = await this.opts.cameraUrlOf(robot_id);
    const feed = url ? this.feeds.get(robot_id) : undefined;
    const c = this.perRobot.get(robot_id) ?? newCounters();
    const base = feed?.status() ?? {
      state: url ? ('idle' as const) : ('no_camera' as const),
      viewers: 0,
      fps: 0,
      width: null,
      height: null,
      frames: 0,
      last_frame_at: null,
      last_error: null,
    };
    return {
      robot_id,
      has_camera: url !== null,
      ...base,
      upstream_connections: c.upstream_connections,
      errors: {
        unreachable: c.unreachable,
        timeouts: c.timeouts,
        not_multipart: c.not_multipart,
        oversized_frames: c.oversized_frames,
      },
    };
  }

  /**
   * Waits for the camera's first frame (so an unreachable camera is a 502/504, not an empty stream), then
   * returns what streams to one viewer: call it with the response once its multipart headers are written.
   */
  async openStream(robot_id: string): Promise<(res: ServerResponse) => void> {
    const feed = await this.feedFor(robot_id);
    if (feed.viewerCount >= this.opts.limits.maxViewers) {
      throw new ApiError(
        503,
        'service_unavailable',
        `${robot_id}'s camera has ${this.opts.limits.maxViewers} viewers already, the most it takes`,
      );
    }
    try {
      await feed.firstFrame();
    } catch (err) {
      throw unreachable(err);
    }
    return (res) => feed.addViewer(res);
  }

  /** The current frame: the live one while someone watches, else one `?action=snapshot` from the camera. */
  async snapshot(robot_id: string): Promise<Buffer> {
    const url = await this.opts.cameraUrlOf(robot_id);
    if (!url) throw noCamera(robot_id);
    const live = this.feeds.get(robot_id);
    const fresh = live && live.url === url ? live.freshFrame() : undefined;
    if (fresh) return fresh.jpeg;
    try {
      return await this.fetchSnapshot(snapshotUrl(url), [this.counters, this.robotCounters(robot_id)]);
    } catch (err) {
      if (!(err instanceof CameraFailure && err.answered)) throw unreachable(err);
      // A camera without snapshots (not every MJPEG server has mjpg-streamer's): one frame of its stream,
      // which stays open for the linger time in case more are asked for.
    }
    try {
      return (await (await this.feedFor(robot_id)).firstFrame()).jpeg;
    } catch (err) {
      throw unreachable(err);
    }
  }

  async storeSnapshot(
    robot_id: string,
    body: { alert_id?: number; note?: string },
    auditor: Auditor,
  ): Promise<CameraSnapshot> {
    if (body.alert_id !== undefined) {
      const of = await this.opts.alertRobot(body.alert_id);
      if (of !== robot_id) {
        throw validationError([
          { field: 'body.alert_id', message: `alert ${body.alert_id} is not ${robot_id}'s` },
        ]);
      }
    }
    const jpeg = await this.snapshot(robot_id);
    const size = jpegSize(jpeg);
    const user = auditor.actor.type === 'user' ? auditor.actor.id : null;
    const row = await this.opts.repo.insert({
      robot_id,
      taken_by: user,
      taken_by_name: auditor.actor.name ?? auditor.actor.id,
      bytes: jpeg,
      width: size?.width ?? null,
      height: size?.height ?? null,
      alert_id: body.alert_id ?? null,
      note: body.note ?? null,
    });
    await this.opts.audit.record({
      ...auditor,
      action: 'robot.camera.snapshot',
      target: { type: 'robot', id: robot_id },
      outcome: 'success',
      details: { snapshot_id: row.id, size_bytes: row.size, alert_id: row.alert_id },
    });
    return toSnapshot(row);
  }

  async listSnapshots(
    robot_id: string,
    q: { limit: number; cursor?: string; alert_id?: number },
  ): Promise<{ items: CameraSnapshot[]; next_cursor: string | null; total: number }> {
    await this.opts.cameraUrlOf(robot_id); // 404 for an unknown robot
    let after: SnapshotPosition | undefined;
    if (q.cursor !== undefined) {
      after = decodeSnapshotCursor(q.cursor);
      if (!after)
        throw validationError([{ field: 'querystring.cursor', message: 'not a cursor this API returned' }]);
    }
    const [rows, total] = await Promise.all([
      this.opts.repo.paginate(robot_id, q.limit + 1, after, q.alert_id),
      this.opts.repo.countForRobot(robot_id, q.alert_id),
    ]);
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const last = page.at(-1);
    return {
      items: page.map(toSnapshot),
      next_cursor: more && last ? encodeSnapshotCursor({ ts: last.taken_at.getTime(), id: last.id }) : null,
      total,
    };
  }

  /** The snapshots kept for these alerts (the alert list's page), newest first, at most 10 per alert. */
  async alertSnapshots(alert_ids: readonly number[]): Promise<CameraSnapshot[]> {
    return (await this.opts.repo.forAlerts(alert_ids, SNAPSHOTS_PER_ALERT)).map(toSnapshot);
  }

  /** What a report shows of these robots' cameras in [from, to): see CameraSnapshotsRepository.inPeriod. */
  async reportSnapshots(
    robot_ids: readonly string[],
    from: number,
    to: number,
    limit: number,
  ): Promise<CameraSnapshot[]> {
    return (await this.opts.repo.inPeriod(robot_ids, from, to, limit)).map(toSnapshot);
  }

  async deleteSnapshot(id: number, auditor: Auditor): Promise<void> {
    const robot_id = await this.opts.repo.delete(id);
    if (robot_id === undefined)
      throw notFound('camera_snapshot_not_found', `No camera snapshot with id ${id}`);
    await this.opts.audit.record({
      ...auditor,
      action: 'robot.camera.snapshot.delete',
      target: { type: 'robot', id: robot_id },
      outcome: 'success',
      details: { snapshot_id: id },
    });
  }

  /**
   * Retention (hourly): snapshots older than CAMERA_SNAPSHOT_RETENTION_DAYS, then each robot's beyond its newest
   * CAMERA_SNAPSHOTS_PER_ROBOT. A failure is logged and counted; the next run tries again.
   */
  async prune(): Promise<number> {
    const retention = this.opts.retention;
    if (!retention) return 0;
    const before = (this.opts.now ?? Date.now)() - retention.maxAgeMs;
    let total = 0;
    try {
      for (;;) {
        const n = await this.opts.repo.deleteOlderThan(before, PRUNE_BATCH);
        total += n;
        if (n < PRUNE_BATCH) break;
      }
      total += await this.opts.repo.deleteBeyond(retention.perRobot);
    } catch (err) {
      this.retentionCounters.prune_errors++;
      this.opts.logger.error({ err }, 'camera: snapshot retention failed, tried again at the next run');
    }
    this.retentionCounters.pruned += total;
    if (total > 0) this.opts.logger.info({ deleted: total }, 'camera: snapshot retention');
    return total;
  }

  async snapshotImage(id: number): Promise<Buffer> {
    const found = await this.opts.repo.findImage(id);
    if (!found) throw notFound('camera_snapshot_not_found', `No camera snapshot with id ${id}`);
    return found.bytes;
  }

  /** Viewers and their unsent bytes over every feed (health, tests, the benchmark). */
  load(): { feeds: number; viewers: number; buffered_bytes: number } {
    let viewers = 0;
    let buffered = 0;
    for (const f of this.feeds.values()) {
      viewers += f.viewerCount;
      buffered += f.bufferedBytes();
    }
    return { feeds: this.feeds.size, viewers, buffered_bytes: buffered };
  }

  stop(): void {
    this.stopped = true;
    for (const f of this.feeds.values()) f.close();
    this.feeds.clear();
  }

  private async feedFor(robot_id: string): Promise<CameraFeed> {
    const url = await this.opts.cameraUrlOf(robot_id);
    if (!url) throw noCamera(robot_id);
    if (this.stopped) throw new ApiError(503, 'service_unavailable', 'The server is stopping');
    let feed = this.feeds.get(robot_id);
    if (feed && feed.url !== url) {
      // The robot reports another camera now: the old stream ends.
      feed.close();
      this.feeds.delete(robot_id);
      feed = undefined;
    }
    if (!feed) {
      const created = new CameraFeed(
        url,
        this.opts.limits,
        [this.counters, this.robotCounters(robot_id)],
        this.opts.logger,
        (f) => {
          if (this.feeds.get(robot_id) === f) this.feeds.delete(robot_id);
        },
      );
      this.feeds.set(robot_id, created);
      feed = created;
    }
    return feed;
  }

  /** One JPEG from the camera, within the connect timeout and the frame size limit. */
  private robotCounters(robot_id: string): CameraCounters {
    let c = this.perRobot.get(robot_id);
    if (!c) {
      c = newCounters();
      this.perRobot.set(robot_id, c);
    }
    return c;
  }

  private fetchSnapshot(url: string, counters: readonly CameraCounters[]): Promise<Buffer> {
    const count = (key: keyof CameraCounters) => {
      for (const c of counters) c[key]++;
    };
    const { connectTimeoutMs, maxFrameBytes } = this.opts.limits;
    const u = new URL(url);
    return new Promise<Buffer>((resolve, reject) => {
      const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = request(u, { method: 'GET', headers: { accept: 'image/jpeg' } });
      const timer = setTimeout(() => {
        count('timeouts');
        req.destroy();
        reject(
          new CameraFailure(
            'timeout',
            `The camera at ${u.host} sent no snapshot within ${connectTimeoutMs} ms`,
          ),
        );
      }, connectTimeoutMs);
      const failed = (e: CameraFailure) => {
        clearTimeout(timer);
        req.destroy();
        reject(e);
      };
      req.on('error', (err) => {
        count('unreachable');
        failed(new CameraFailure('unreachable', `The camera at ${u.host} is unreachable: ${err.message}`));
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          count('unreachable');
          failed(
            new CameraFailure(
              'unreachable',
              `The camera at ${u.host} answered HTTP ${res.statusCode} to a snapshot`,
              true,
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxFrameBytes) {
            count('oversized_frames');
            failed(
              new CameraFailure('oversized_frame', `The camera's snapshot is over ${maxFrameBytes} bytes`),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const jpeg = Buffer.concat(chunks);
          if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) {
            count('not_multipart');
            reject(
              new CameraFailure(
                'not_multipart',
                `The camera at ${u.host} sent a snapshot that is not a JPEG`,
                true,
              ),
            );
            return;
          }
          resolve(jpeg);
        });
        res.on('error', (err) =>
          failed(
            new CameraFailure('unreachable', `The camera at ${u.host} dropped the snapshot: ${err.message}`),
          ),
        );
      });
      req.end();
    });
  }
}
