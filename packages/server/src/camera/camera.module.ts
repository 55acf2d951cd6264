import { CAMERA_MAX_FRAME_BYTES, CAMERA_MAX_VIEWERS } from '@tonypi/contracts';
import { defineModule } from '../core/module';
import { cameraRoutes } from './camera.routes';
import { CameraService } from './camera.service';
import { CameraSnapshotsRepository } from './camera-snapshots.repository';

declare module '../core/module' {
  interface Services {
    /** Robots' cameras through the server (one upstream stream per robot) and stored snapshots. */
    camera: CameraService;
  }
}

/** How often snapshot retention runs (and once a minute after the start). */
const PRUNE_INTERVAL_MS = 3600_000;
const FIRST_PRUNE_MS = 60_000;

export const cameraModule = defineModule({
  name: 'camera',
  create(ctx) {
    const robots = ctx.get('robots');
    const alerts = ctx.get('alertsApi');
    const { timeoutMs, lingerMs } = ctx.config.camera;
    const camera = new CameraService({
      repo: new CameraSnapshotsRepository(ctx.get('db')),
      audit: ctx.get('audit'),
      cameraUrlOf: async (robot_id) => {
        // What the robot said last (in memory) wins over the stored row; only http(s) URLs are ever served.
        return robots.toDto(await robots.require(robot_id)).camera_url;
      },
      alertRobot: async (alert_id) => (await alerts.get(alert_id)).robot_id,
      limits: {
        maxFrameBytes: CAMERA_MAX_FRAME_BYTES,
        maxViewers: CAMERA_MAX_VIEWERS,
        connectTimeoutMs: timeoutMs,
        idleTimeoutMs: timeoutMs * 2,
        lingerMs,
        backoffMinMs: 250,
        backoffMaxMs: 10_000,
      },
      retention: {
        maxAgeMs: ctx.config.camera.snapshotRetentionMs,
        perRobot: ctx.config.camera.snapshotsPerRobot,
      },
      logger: ctx.logger,
    });
    const timers: NodeJS.Timeout[] = [];
    return {
      provides: { camera },
      routes: cameraRoutes(camera),
      start: () => {
        const first = setTimeout(() => void camera.prune(), FIRST_PRUNE_MS);
        const every = setInterval(() => void camera.prune(), PRUNE_INTERVAL_MS);
        first.unref();
        every.unref();
        timers.push(first, every);
      },
      stop: () => {
        for (const t of timers.splice(0)) clearTimeout(t);
        camera.stop();
      },
      status: {
        health: () => ({ camera: { ...camera.load(), ...camera.retentionCounters } }),
        metrics: [
          {
            name: 'tonypi_camera_viewers',
            help: 'Browsers watching a robot camera through the server',
            type: 'gauge',
            read: () => camera.load().viewers,
          },
          {
            name: 'tonypi_camera_upstream_streams',
            help: 'Robot cameras the server reads now (one connection each, however many watch)',
            type: 'gauge',
            read: () => camera.load().feeds,
          },
          {
            name: 'tonypi_camera_frames_total',
            help: 'Frames taken from robot cameras',
            type: 'counter',
            read: () => camera.counters.frames,
          },
          {
            name: 'tonypi_camera_frames_skipped_total',
            help: 'Frames a viewer did not get because its connection was still sending an earlier one',
            type: 'counter',
            read: () => camera.counters.skipped,
          },
          {
            name: 'tonypi_camera_upstream_failures_total',
            help: 'Robot camera connections and snapshots that failed, by kind',
            type: 'counter',
            labelNames: ['kind'],
            read: () =>
              (['unreachable', 'timeouts', 'not_multipart', 'oversized_frames'] as const).map((kind) => ({
                labels: { kind },
                value: camera.counters[kind],
              })),
          },
        ],
      },
    };
  },
});
