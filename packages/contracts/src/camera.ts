import { z } from 'zod';
import { CAMERA_ALERT_IDS_MAX, CAMERA_NOTE_MAX_CHARS } from './camera-limits';

/**
 * A robot's camera through the server (issue #11 §2): the MJPEG stream and snapshots the robot serves at its
 * `camera_url`, proxied with one upstream connection per robot, and snapshots kept with its timeline.
 */
const Iso = z.string().describe('ISO-8601 UTC');

export * from './camera-limits';

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

const alertIdsParam = z
  .union([z.string().max(4096), z.array(z.string().max(4096)).max(CAMERA_ALERT_IDS_MAX)])
  .transform((v, ctx): number[] => {
    const parts = (Array.isArray(v) ? v : [v])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = parts.filter((p) => !/^[1-9]\d{0,9}$/.test(p));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `not alert ids: ${bad
          .slice(0, 3)
          .map((b) => b.slice(0, 20))
          .join(', ')}`,
      });
      return z.NEVER;
    }
    const ids = [...new Set(parts.map(Number))];
    if (ids.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one alert id' });
    else if (ids.length > CAMERA_ALERT_IDS_MAX)
      ctx.addIssue({ code: 'custom', message: `at most ${CAMERA_ALERT_IDS_MAX} alert ids` });
    return ids;
  });

export const CameraSnapshotListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().describe('The previous page’s next_cursor'),
  alert_id: z.coerce.number().int().positive().optional().describe('Only the snapshots kept for this alert'),
});

export const AlertSnapshotsQuery = z.object({
  alert_ids: alertIdsParam.describe(
    `The alerts whose snapshots are wanted: repeated or comma-separated, at most ${CAMERA_ALERT_IDS_MAX}`,
  ),
});

export const AlertSnapshots = z
  .object({
    items: z.array(CameraSnapshot).describe('Newest first, at most 10 per alert'),
  })
  .meta({ id: 'AlertSnapshots' });
export type AlertSnapshots = z.infer<typeof AlertSnapshots>;

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
