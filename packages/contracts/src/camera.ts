import { z } from 'zod';

/**
 * A robot's camera through the server (issue #11 §2): the MJPEG stream and snapshots the robot serves at its
 * `camera_url`, proxied with one upstream connection per robot, and snapshots kept with its timeline.
 */
const Iso = z.string().describe('ISO-8601 UTC');

/** Largest JPEG frame the proxy takes from a camera; a larger one ends the stream (counted). */
export const CAMERA_MAX_FRAME_BYTES = 2 * 1024 * 1024;
/** Viewers of one robot's stream at once; one more is refused (503). */
export const CAMERA_MAX_VIEWERS = 20;
/** Longest note kept with a stored snapshot. */
export const CAMERA_NOTE_MAX_CHARS = 500;

export const CAMERA_STATES = ['no_camera', 'idle', 'connecting', 'streaming', 'reconnecting'] as const;
export type CameraState = (typeof CAMERA_STATES)[number];

export const CameraStatus = z
  .object({
    robot_id: z.string(),
    has_camera: z.boolean().describe('Whether the robot reported a camera_url'),
    state: z
      .enum(CAMERA_STATES)
      .describe(
        'idle: nobody watches (no upstream connection); connecting: the first connection; streaming: frames ' +
          'arrive; reconnecting: the connection was lost and is retried with backoff while viewers remain',
      ),
    viewers: z.number().int(),
    fps: z.number().describe('Frames per second arriving from the camera over the last few seconds'),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    frames: z.number().int().describe('Frames received since this stream opened'),
    last_frame_at: Iso.nullable(),
    upstream_connections: z
      .number()
      .int()
      .describe("Connections to this robot's camera the server opened since it started, retries included"),
    last_error: z.string().nullable().describe('Why the last connection to the camera failed, if it did'),
    errors: z
      .object({
        unreachable: z.number().int(),
        timeouts: z.number().int(),
        not_multipart: z.number().int(),
        oversized_frames: z.number().int(),
      })
      .describe("This robot's camera failures since the server started, by kind"),
  })
  .meta({ id: 'CameraStatus' });
export type CameraStatus = z.infer<typeof CameraStatus>;

export const CameraSnapshot = z
  .object({
    id: z.number().int(),
    robot_id: z.string(),
    taken_at: Iso,
    taken_by: z.string().nullable().describe('The user who took it (name); null when they were deleted'),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    size_bytes: z.number().int(),
    alert_id: z.number().int().nullable(),
    note: z.string().nullable(),
    url: z.string().describe('The image (image/jpeg): GET /api/v1/camera/snapshots/{id}'),
  })
  .meta({ id: 'CameraSnapshot' });
export type CameraSnapshot = z.infer<typeof CameraSnapshot>;

export const CreateCameraSnapshotRequest = z
  .object({
    alert_id: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('An alert of this robot the snapshot documents'),
    note: z.string().max(CAMERA_NOTE_MAX_CHARS).optional().describe('A note, e.g. for a report'),
  })
  .strict();

export const CameraSnapshotListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().describe('The previous page’s next_cursor'),
});

export const CameraSnapshotList = z
  .object({
    items: z.array(CameraSnapshot),
    next_cursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` for the next (older) page; null at the end'),
    total: z.number().int(),
  })
  .meta({ id: 'CameraSnapshotList' });

export const CameraSnapshotParams = z.object({ id: z.coerce.number().int().positive() });
