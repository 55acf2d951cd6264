import {
  AlertSnapshots,
  AlertSnapshotsQuery,
  CAMERA_MAX_FRAME_BYTES,
  CameraSnapshot,
  CameraSnapshotList,
  CameraSnapshotListQuery,
  CameraSnapshotParams,
  CameraStatus,
  CreateCameraSnapshotRequest,
  ErrorBody,
  RobotIdParams,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import type { CameraService } from './camera.service';
import { PROXY_BOUNDARY } from './camera-feed';

const Jpeg = z.string().describe('The JPEG (image/jpeg)');
const cameraErrors = {
  404: ErrorBody.describe('No such robot'),
  409: ErrorBody.describe('no_camera: the robot reported no camera_url'),
  502: ErrorBody.describe('camera_unreachable: refused, failed, or not an MJPEG stream'),
  504: ErrorBody.describe('camera_unreachable: the camera did not answer in time'),
};

export function cameraRoutes(camera: CameraService): FastifyPluginAsyncZod {
  return async (app) => {
    // Streams stay open until the viewer leaves: at shutdown they end first, so closing the server never waits.
    app.addHook('preClose', async () => camera.stop());

    app.get(
      '/robots/:robot_id/camera/status',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['camera'],
          summary: "A robot's camera through the server: state, viewers, frame rate and resolution",
          params: RobotIdParams,
          response: { 200: CameraStatus, 404: ErrorBody },
        },
      },
      async (req) => camera.status(req.params.robot_id),
    );

    app.get(
      '/robots/:robot_id/camera/stream',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['camera'],
          summary: "The robot's live camera (MJPEG: multipart/x-mixed-replace), proxied",
          description:
            'One connection to the robot’s camera however many watch; each viewer gets the newest frame its ' +
            'connection can take (a slow one skips frames). Use it as an `<img src>` on this origin. Each part ' +
            `carries \`X-Timestamp\` when the camera sent one. Frames over ${CAMERA_MAX_FRAME_BYTES} bytes, or ` +
            'anything but MJPEG, end the stream; a lost camera is retried with backoff while viewers remain.',
          params: RobotIdParams,
          produces: ['multipart/x-mixed-replace'],
          response: {
            200: z.string().describe('multipart/x-mixed-replace; boundary=tonypiframe'),
            ...cameraErrors,
            503: ErrorBody.describe('The camera has as many viewers as it takes'),
          },
        },
      },
      async (req, reply) => {
        const attach = await camera.openStream(req.params.robot_id);
        reply.hijack();
        const res = reply.raw;
        for (const [name, value] of Object.entries(reply.getHeaders())) {
          if (value !== undefined) res.setHeader(name, value);
        }
        res.writeHead(200, {
          'content-type': `multipart/x-mixed-replace; boundary=${PROXY_BOUNDARY}`,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          connection: 'close',
        });
        res.socket?.setNoDelay(true);
        attach(res);
      },
    );

    app.get(
      '/robots/:robot_id/camera/snapshot',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['camera'],
          summary: "The robot's camera image now (JPEG)",
          description:
            'The live frame while the stream is open, else one `?action=snapshot` from the camera (within the ' +
            'camera timeout).',
          params: RobotIdParams,
          produces: ['image/jpeg'],
          response: { 200: Jpeg, ...cameraErrors },
        },
      },
      async (req, reply) => {
        const jpeg = await camera.snapshot(req.params.robot_id);
        // A Buffer is sent as it is, never serialised: the 200 schema is there for the document.
        return reply
          .type('image/jpeg')
          .header('cache-control', 'no-store')
          .send(jpeg as never);
      },
    );

    app.post(
      '/robots/:robot_id/camera/snapshots',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['camera'],
          summary: "Stores the camera's current image with the robot's timeline",
          description:
            'Optionally for one of the robot’s alerts (`alert_id`) or with a note (for a report). Audited as ' +
            '`robot.camera.snapshot`.',
          params: RobotIdParams,
          body: CreateCameraSnapshotRequest.nullish(),
          response: { 201: CameraSnapshot, 400: ErrorBody, ...cameraErrors },
        },
      },
      async (req, reply) => {
        const saved = await camera.storeSnapshot(req.params.robot_id, req.body ?? {}, requestAuditor(req));
        return reply.status(201).send(saved);
      },
    );

    app.get(
      '/robots/:robot_id/camera/snapshots',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['camera'],
          summary: "A robot's stored camera snapshots, newest first",
          description:
            'Page with `limit` and `cursor` (the previous page’s `next_cursor`); `alert_id` keeps those taken ' +
            'for one alert.',
          params: RobotIdParams,
          querystring: CameraSnapshotListQuery,
          response: { 200: CameraSnapshotList, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => camera.listSnapshots(req.params.robot_id, req.query),
    );

    app.get(
      '/camera/snapshots',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['camera'],
          summary: 'The camera snapshots kept for some alerts (a page of the alert list), newest first',
          description: 'At most 10 per alert. An alert without snapshots, or an unknown one, adds nothing.',
          querystring: AlertSnapshotsQuery,
          response: { 200: AlertSnapshots, 400: ErrorBody },
        },
      },
      async (req) => ({ items: await camera.alertSnapshots(req.query.alert_ids) }),
    );

    app.delete(
      '/camera/snapshots/:id',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['camera'],
          summary: 'Deletes a stored camera snapshot',
          description: 'Audited as `robot.camera.snapshot.delete`.',
          params: CameraSnapshotParams,
          response: { 204: z.null().describe('Deleted'), 404: ErrorBody },
        },
      },
      async (req, reply) => {
        await camera.deleteSnapshot(req.params.id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/camera/snapshots/:id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['camera'],
          summary: 'A stored camera snapshot (JPEG)',
          params: CameraSnapshotParams,
          produces: ['image/jpeg'],
          response: { 200: Jpeg, 404: ErrorBody },
        },
      },
      async (req, reply) => {
        const jpeg = await camera.snapshotImage(req.params.id);
        return reply
          .type('image/jpeg')
          .header('cache-control', 'private, max-age=86400, immutable')
          .send(jpeg as never);
      },
    );
  };
}
