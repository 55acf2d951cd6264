import { z } from 'zod';
import { ERROR_CODES } from './errors';
import { AGGREGATES, MEASUREMENT_NAMES, RESOLUTIONS } from './measurements';
import { ROBOT_STATUSES, text } from './payloads';
import { ROLES } from './roles';

/** REST request and response shapes (`/api/v1`): validation, serialisation and OpenAPI in one. */

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const LoginRequest = z.object({
  username: text(50).min(1),
  password: z.string().min(1).max(256),
});

export const User = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
});

export const LoginResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('Seconds until the token expires'),
  user: User,
});

const Iso = z.string().describe('ISO-8601 UTC');

export const ComponentHealth = z.object({
  status: z.enum(['up', 'down']),
  kind: z.string(),
  detail: z.string().optional(),
});

export const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  protocol_version: z.string(),
  uptime_s: z.number(),
  components: z.object({
    database: ComponentHealth,
    telemetry: ComponentHealth,
    broker: ComponentHealth.extend({
      clients: z.number().int().optional(),
      /** Embedded broker: retained messages held, and what its limits refused, by reason. */
      retained_messages: z.number().int().optional(),
      refused: z.record(z.string(), z.number().int()).optional(),
    }),
  }),
  robots: z.object({
    known: z.number().int(),
    online: z.number().int(),
    /** Registered themselves on first contact and not yet confirmed. */
    pending: z.number().int(),
    /** Failed database writes of robot state (each retried; given up on after three in a row). */
    write_errors: z.number().int(),
  }),
  live: z.object({
    clients: z.number().int(),
    frames_sent: z.number().int(),
    frames_skipped: z.number().int(),
    /** Frames no client got because they could not be serialised (logged as `live: frame dropped`). */
    frames_dropped: z.number().int(),
  }),
  ingest: z.object({
    messages_accepted: z.number().int(),
    messages_rejected: z.number().int(),
    rejected: z.record(z.string(), z.number().int()),
    /** Fields left out of accepted messages, by reason (`INGEST_DROP_REASONS`), e.g. a bad `camera_url`. */
    fields_dropped: z.record(z.string(), z.number().int()),
    ignored_outbound: z.number().int(),
    clock_skew_corrected: z.number().int(),
    points_received: z.number().int(),
    points_stored: z.number().int(),
    points_shed: z.number().int(),
    queue_points: z.number().int(),
    queue_limit: z.number().int(),
    store_errors: z.number().int(),
    store_ok: z.boolean(),
    store_error: z.string().nullable(),
    flushes: z.number().int(),
    last_flush_ms: z.number(),
    store_lag_ms: z.object({ p50: z.number().nullable(), p99: z.number().nullable() }),
  }),
  warnings: z.array(z.string()),
});

/**
 * How a robot came to be known. `pending`: it registered itself on first contact and has not yet kept
 * talking for `ROBOT_CONFIRM_AFTER_S`; `active`: confirmed (or registered by an admin). Claim and delete of
 * pending robots come with robot credentials.
 */
export const ROBOT_REGISTRATIONS = ['pending', 'active'] as const;
export type RobotRegistration = (typeof ROBOT_REGISTRATIONS)[number];

export const LatestMeasurement = z.object({ ts: Iso, fields: z.record(z.string(), z.number()) });

export const RobotLatest = z.object({
  measurements: z.record(z.string(), LatestMeasurement),
  servos: z.record(z.string(), LatestMeasurement),
});

export const Robot = z
  .object({
    robot_id: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    status: z.enum(ROBOT_STATUSES),
    status_reason: z.string().nullable(),
    registration: z.enum(ROBOT_REGISTRATIONS),
    protocol: z.enum(['canonical', 'legacy']),
    ip_address: z.string().nullable(),
    camera_url: z.string().nullable(),
    location: z
      .object({ x: z.number(), y: z.number(), z: z.number(), heading: z.number().optional() })
      .nullable(),
    last_seen: Iso.nullable(),
    first_seen: Iso.nullable(),
    created_at: Iso,
    is_active: z.boolean(),
    thresholds: z.object({
      battery_low: z.number().nullable(),
      battery_critical: z.number().nullable(),
      temp_warning: z.number().nullable(),
      temp_critical: z.number().nullable(),
    }),
    latest: RobotLatest,
  })
  .meta({ id: 'Robot' });

export const ROBOT_SORTS = ['robot_id', 'name', 'last_seen', 'status'] as const;

export const RobotListQuery = z.object({
  status: z.enum(ROBOT_STATUSES).optional(),
  registration: z.enum(ROBOT_REGISTRATIONS).optional().describe('Only pending or only active robots'),
  search: text(64).optional().describe('Substring of robot_id or name'),
  sort: z.enum(ROBOT_SORTS).default('robot_id'),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const RobotList = z.object({ items: z.array(Robot), total: z.number().int() });

export const RobotIdParams = z.object({
  robot_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64'),
});

const timeParam = z
  .string()
  .max(40)
  .describe('ISO-8601 date-time, epoch milliseconds, or a duration back from now: 15m, 6h, 7d');

export const TelemetryQuery = z.object({
  measurement: z.enum(MEASUREMENT_NAMES),
  field: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('Field name(s): repeat the parameter or separate with commas; default all known fields'),
  from: timeParam.optional().describe('Start (default: 1 hour before `to`)'),
  to: timeParam.optional().describe('End (default: now)'),
  points: z.coerce.number().int().min(1).max(10_000).default(500).describe('About how many buckets'),
  servo_id: z.string().max(16).optional().describe('Only this servo (measurement=servos)'),
});

export const TelemetryBucket = z.object({
  t: Iso,
  avg: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  last: z.number().nullable(),
  count: z.number().int(),
});

export const TelemetryResponse = z.object({
  robot_id: z.string(),
  measurement: z.enum(MEASUREMENT_NAMES),
  from: Iso,
  to: Iso,
  resolution: z.enum(RESOLUTIONS),
  bucket_ms: z.number().int(),
  aggregates: z.array(z.enum(AGGREGATES)),
  series: z.array(
    z.object({ field: z.string(), tags: z.record(z.string(), z.string()), points: z.array(TelemetryBucket) }),
  ),
});

export const TelemetryFieldsResponse = z.object({
  robot_id: z.string(),
  measurements: z.record(z.string(), z.array(z.string())),
});
