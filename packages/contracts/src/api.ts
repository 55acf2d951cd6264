import { z } from 'zod';
import { ERROR_CODES } from './errors';
import { AGGREGATES, FIELD_NAME_RE, MEASUREMENT_NAMES, RESOLUTIONS } from './measurements';
import { HttpUrl, ROBOT_STATUSES, text } from './payloads';
import { ROLES } from './roles';
import { isValidRobotId, ROBOT_CHANNELS, ROBOT_PROTOCOLS } from './topics';

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
  must_change_password: z
    .boolean()
    .describe(
      'Signed in with a temporary password: until POST /api/v1/auth/password sets a new one, this session ' +
        'may call only public and self routes (others: 403 password_change_required)',
    ),
});

const Iso = z.string().describe('ISO-8601 UTC');

export const ComponentHealth = z.object({
  status: z.enum(['up', 'down']),
  kind: z.string(),
  detail: z.string().optional(),
});

/** The ingest's counters and state (`IngestPipeline.stats()`, `GET /api/v1/health`'s `ingest`). */
export const IngestStats = z.object({
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
  /** Points waiting for the store, the batch being written included. */
  queue_points: z.number().int(),
  queue_limit: z.number().int(),
  store_errors: z.number().int(),
  /**
   * Whether the last write to the telemetry store succeeded (true before the first one) and the store does not
   * report itself unavailable.
   */
  store_ok: z.boolean(),
  /** The last store error's message, while the store is failing. */
  store_error: z.string().nullable(),
  flushes: z.number().int(),
  last_flush_ms: z.number(),
  /**
   * Event time (the robot's `ts`, skew-bounded) → stored, ms, over the last 20 000 messages; recomputed at
   * most once a second. Messages whose batch was only partly stored are not sampled.
   */
  store_lag_ms: z.object({ p50: z.number().nullable(), p99: z.number().nullable() }),
});
export type IngestStats = z.infer<typeof IngestStats>;

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
    /** Known robots without credentials (they connect anonymously, if at all), and the first 100 of their ids. */
    anonymous: z.number().int(),
    anonymous_ids: z.array(z.string()),
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
  ingest: IngestStats,
  /** The alert engine (issue #7 §1): rules and silences cached, conditions followed, writes. */
  alert_engine: z
    .object({
      rules: z.number().int(),
      silences: z.number().int(),
      /** Robot + rule + source combinations on the bad side (pending or raised). */
      conditions: z.number().int(),
      open: z.number().int(),
      evaluated: z.number().int(),
      raised: z.number().int(),
      escalated: z.number().int(),
      resolved: z.number().int(),
      forgotten: z.number().int(),
      queue_depth: z.number().int(),
      written: z.number().int(),
      dropped: z.number().int(),
      write_errors: z.number().int(),
      reload_errors: z.number().int(),
    })
    .optional(),
  /** The server's log (issue #7 §5): entries waiting for the database, written, dropped, pruned. */
  logs: z
    .object({
      queue: z.number().int(),
      queued: z.number().int(),
      written: z.number().int(),
      dropped_queue_full: z.number().int(),
      write_errors: z.number().int(),
      dropped_write_error: z.number().int(),
      pruned: z.number().int(),
      prune_errors: z.number().int(),
    })
    .optional(),
  /** Robots' cameras through the server (issue #11 §2): streams read, viewers, stored snapshots' retention. */
  camera: z
    .object({
      feeds: z.number().int(),
      viewers: z.number().int(),
      buffered_bytes: z.number().int(),
      pruned: z.number().int(),
      prune_errors: z.number().int(),
    })
    .optional(),
  warnings: z.array(z.string()),
});

/**
 * How a robot came to be known. `pending`: it registered itself on first contact and has not yet kept
 * talking for `ROBOT_CONFIRM_AFTER_S`; `active`: confirmed, or registered (claimed) by an admin with
 * `POST /api/v1/robots`.
 */
export const ROBOT_REGISTRATIONS = ['pending', 'active'] as const;
export type RobotRegistration = (typeof ROBOT_REGISTRATIONS)[number];

export const LatestMeasurement = z.object({ ts: Iso, fields: z.record(z.string(), z.number()) });

export const RobotLatest = z.object({
  measurements: z.record(z.string(), LatestMeasurement),
  servos: z.record(z.string(), LatestMeasurement),
});

/** Where a robot is, in the floor plan's frame (metres; heading in degrees). */
export const RobotLocation = z.object({
  x: z.number(),
  y: z.number(),
  z: z.number(),
  heading: z.number().optional(),
});
export type RobotLocation = z.infer<typeof RobotLocation>;

export const Robot = z
  .object({
    robot_id: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    status: z.enum(ROBOT_STATUSES),
    status_reason: z.string().nullable(),
    registration: z.enum(ROBOT_REGISTRATIONS),
    protocol: z.enum(ROBOT_PROTOCOLS),
    ip_address: z.string().nullable(),
    camera_url: z.string().nullable(),
    location: RobotLocation.nullable(),
    last_seen: Iso.nullable(),
    first_seen: Iso.nullable(),
    created_at: Iso,
    is_active: z.boolean(),
    /** Set when an admin deleted the robot (soft delete: history kept, MQTT refused); restore clears it. */
    deleted_at: Iso.nullable(),
    tags: z.array(z.string()),
    /** The robot has MQTT credentials (registered or claimed by an admin); it can never connect anonymously. */
    has_credentials: z.boolean(),
    /** No credentials: it connects, if at all, anonymously (ALLOW_ANONYMOUS_ROBOTS), its client id its identity. */
    anonymous: z.boolean(),
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
export type RobotSort = (typeof ROBOT_SORTS)[number];

export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export const RobotListQuery = z.object({
  status: z.enum(ROBOT_STATUSES).optional(),
  registration: z.enum(ROBOT_REGISTRATIONS).optional().describe('Only pending or only active robots'),
  search: text(64).optional().describe('Substring of robot_id or name'),
  tag: text(32).optional().describe('Only robots with this tag'),
  deleted: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('true: only deleted robots; false (default): only robots not deleted'),
  sort: z.enum(ROBOT_SORTS).default('robot_id'),
  order: z.enum(SORT_ORDERS).default('asc'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const RobotList = z.object({ items: z.array(Robot), total: z.number().int() });

export const RobotIdParams = z.object({
  robot_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64'),
});

/** Tags group robots (`?tag=`): letters, digits and `_.:-`, at most 32 characters, at most 20 per robot. */
export const TAG_RE = /^[A-Za-z0-9_.:-]{1,32}$/;
export const MAX_ROBOT_TAGS = 20;
/** The largest `settings` object a robot may hold, serialised. */
export const MAX_ROBOT_SETTINGS_BYTES = 16_384;

const RobotTags = z
  .array(z.string().regex(TAG_RE, 'letters, digits and _ . : -, at most 32 characters'))
  .max(MAX_ROBOT_TAGS)
  .refine((tags) => new Set(tags).size === tags.length, 'tags must not repeat');

const nullableNumber = z.number().min(-1e6).max(1e6).nullable().optional();

/** What an admin may set on a robot (POST registers with it, PATCH changes it). */
const RobotEditable = {
  name: text(100).min(1).nullable().optional(),
  description: text(2000).nullable().optional(),
  location: z
    .object({
      x: z.number().min(-1e6).max(1e6),
      y: z.number().min(-1e6).max(1e6),
      z: z.number().min(-1e6).max(1e6),
      heading: z.number().min(-360).max(360).optional(),
    })
    .nullable()
    .optional(),
  ip_address: z.union([z.ipv4(), z.ipv6()]).nullable().optional(),
  camera_url: HttpUrl.nullable().optional(),
  thresholds: z
    .object({
      battery_low: nullableNumber,
      battery_critical: nullableNumber,
      temp_warning: nullableNumber,
      temp_critical: nullableNumber,
    })
    .optional(),
  settings: z
    .record(z.string().max(64), z.unknown())
    .refine((s) => JSON.stringify(s).length <= MAX_ROBOT_SETTINGS_BYTES, {
      message: `at most ${MAX_ROBOT_SETTINGS_BYTES} bytes as JSON`,
    })
    .nullable()
    .optional(),
  tags: RobotTags.optional(),
};

export const RegisterRobotRequest = z
  .object({
    robot_id: z
      .string()
      .refine(
        isValidRobotId,
        'letters, digits, _ and -, at most 64, and not a word of the legacy topics (sensors, status, …)',
      ),
    ...RobotEditable,
  })
  .strict();

export const UpdateRobotRequest = z.object(RobotEditable).strict();

/** MQTT credentials of one robot, shown once (registration, claim, rotation). */
export const RobotMqttCredentials = z.object({
  username: z.string().describe('The robot id; the MQTT client id must be the same'),
  password: z.string().describe('The secret: shown only in this answer, stored as a keyed hash'),
  url: z.string().describe('Where the robot connects'),
});

export const RobotWithCredentials = z
  .object({ robot: Robot, mqtt: RobotMqttCredentials })
  .meta({ id: 'RobotWithCredentials' });

/** The channels the statistics count, as the ingest names them. */
export const STATS_CHANNELS = ROBOT_CHANNELS;

/**
 * A time in a query, as the API reads it: an absolute instant (epoch ms) or a span back from now
 * (resolved by the server against its clock). Every accepted value is a representable date that
 * the stores can take, so a range query can never fail on an out-of-range time.
 */
export type TimeParam = { at: number } | { ago_ms: number };

/** The earliest and latest absolute times a query may name: 1970-01-01 and 9999-12-31T23:59:59.999Z. */
export const QUERY_TIME_MIN_MS = 0;
export const QUERY_TIME_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** The furthest a duration may reach back (100 years). */
export const QUERY_DURATION_MAX_MS = 36_500 * 86_400_000;

const DURATION_RE = /^(\d{1,7})(s|m|h|d)$/;
const DURATION_UNIT_MS = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 } as const;
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;
const NOT_A_TIME = 'not a date-time, epoch ms or duration like 6h';

/**
 * Reads an ISO-8601 date or date-time (UTC unless it carries an offset; the calendar date must
 * exist: no 31 February), epoch milliseconds, or a duration back from now (`15m`, `6h`, `7d`).
 * Returns a sentence saying what is wrong instead when the value is none of these or out of range.
 */
export function parseTimeParam(value: string): TimeParam | string {
  const duration = DURATION_RE.exec(value);
  if (duration) {
    const ms = Number(duration[1]) * DURATION_UNIT_MS[duration[2] as keyof typeof DURATION_UNIT_MS];
    return ms <= QUERY_DURATION_MAX_MS ? { ago_ms: ms } : 'a duration may reach at most 36500d back';
  }
  let at: number;
  if (/^\d{1,16}$/.test(value)) at = Number(value);
  else {
    const iso = ISO_RE.exec(value);
    if (!iso) return `${NOT_A_TIME}: ${value.slice(0, 40)}`;
    const part = (i: number) => Number(iso[i] ?? 0);
    const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)];
    const ms = Number((iso[7] ?? '0').padEnd(3, '0').slice(0, 3));
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
      return `${NOT_A_TIME}: no such date ${iso.slice(1, 4).join('-')}`;
    if (hour > 23 || minute > 59 || second > 59) return `${NOT_A_TIME}: no such time of day`;
    const offset = offsetMinutes(iso[8]);
    if (offset === undefined) return `${NOT_A_TIME}: bad UTC offset ${iso[8]}`;
    at = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset * 60_000;
  }
  if (at < QUERY_TIME_MIN_MS || at > QUERY_TIME_MAX_MS)
    return 'out of range: a time must lie between 1970-01-01 and 9999-12-31';
  return { at };
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function offsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 23 || minutes > 59) return undefined;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

export const TIME_FORMATS =
  'ISO-8601 date or date-time (UTC unless it has an offset), epoch milliseconds, or a duration back ' +
  'from now (15m, 6h, 7d); between 1970-01-01 and 9999-12-31';

/** A query's time (`from`, `to`): see TIME_FORMATS. Other APIs with a time range reuse it. */
export const timeParam = z
  .string()
  .max(40)
  .transform((value, ctx): TimeParam => {
    const parsed = parseTimeParam(value);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  })
  .describe(TIME_FORMATS);

/** At most this many fields per telemetry query. */
export const MAX_QUERY_FIELDS = 50;

const fieldList = z
  .union([z.string().max(4096), z.array(z.string().max(4096)).max(MAX_QUERY_FIELDS)])
  .transform((field, ctx): string[] => {
    const names = (Array.isArray(field) ? field : [field]).flatMap((f) => f.split(',')).map((f) => f.trim());
    const bad = names.filter((n) => !FIELD_NAME_RE.test(n));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `Not a field name (lower-case letters, digits and _): ${bad.map((b) => b.slice(0, 64)).join(', ')}`,
      });
      return z.NEVER;
    }
    const unique = [...new Set(names)];
    if (unique.length > MAX_QUERY_FIELDS) {
      ctx.addIssue({ code: 'custom', message: `At most ${MAX_QUERY_FIELDS} fields per query` });
      return z.NEVER;
    }
    return unique;
  });

/** The longest window one telemetry query may span (3 years). */
export const QUERY_WINDOW_MAX_MS = 3 * 365 * 86_400_000;
/** A window's length when the query names no `from`: an hour before `to`. */
export const QUERY_WINDOW_DEFAULT_MS = 3600_000;

/** The instant a query's time names; durations count back from `now`. */
export function resolveTime(t: TimeParam, now: number): number {
  return 'at' in t ? t.at : now - t.ago_ms;
}

/** A query's window in epoch ms: `to` defaults to now, `from` to an hour before `to`. */
export function resolveWindow(
  q: { from?: TimeParam | undefined; to?: TimeParam | undefined },
  now: number,
): { from: number; to: number } {
  const to = q.to === undefined ? now : resolveTime(q.to, now);
  const from = q.from === undefined ? to - QUERY_WINDOW_DEFAULT_MS : resolveTime(q.from, now);
  return { from, to };
}

export const TelemetryQuery = z
  .object({
    measurement: z.enum(MEASUREMENT_NAMES),
    field: fieldList
      .optional()
      .describe('Field name(s): repeat the parameter or separate with commas; default all known fields'),
    from: timeParam.optional().describe(`Start (default: 1 hour before \`to\`). ${TIME_FORMATS}`),
    to: timeParam.optional().describe(`End (default: now). ${TIME_FORMATS}`),
    points: z.coerce.number().int().min(1).max(10_000).default(500).describe('About how many buckets'),
    servo_id: z.string().max(16).optional().describe('Only this servo (measurement=servos)'),
  })
  .superRefine(
    (q, ctx) => {
      const wrong = windowProblem(resolveWindow(q, Date.now()));
      if (wrong !== undefined)
        for (const path of ['from', 'to']) ctx.addIssue({ code: 'custom', path: [path], message: wrong });
    },
    // Checked alongside the other fields' issues (so a 400 lists them all), once both ends are times.
    { when: (payload) => !payload.issues.some((i) => i.path?.[0] === 'from' || i.path?.[0] === 'to') },
  )
  // The window in epoch ms, resolved once: what the service and the store use.
  .transform((q, ctx) => {
    const window = resolveWindow(q, Date.now());
    // Checked above; only a query whose ends lie a millisecond apart can get here (the clock moved on).
    const wrong = windowProblem(window);
    if (wrong !== undefined) {
      for (const path of ['from', 'to']) ctx.addIssue({ code: 'custom', path: [path], message: wrong });
      return z.NEVER;
    }
    return { ...q, window };
  });

function windowProblem({ from, to }: { from: number; to: number }): string | undefined {
  if (from >= to) return 'must be before `to`';
  if (to - from > QUERY_WINDOW_MAX_MS) return 'the window may span at most 3 years';
  return undefined;
}

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

export const RobotStatsQuery = z.object({
  from: timeParam.optional().describe(`Start (default: 24 hours before \`to\`). ${TIME_FORMATS}`),
  to: timeParam.optional().describe(`End (default: now). ${TIME_FORMATS}`),
});

export const RobotStats = z.object({
  robot_id: z.string(),
  from: Iso,
  to: Iso,
  /** Share of the period the robot was online (0–1), counted by the server every few seconds. */
  uptime_share: z.number(),
  online_s: z.number(),
  /** Accepted messages per channel in the period (counted by the hour: whole hours that touch it). */
  messages: z.record(z.string(), z.number().int()),
  /** Last accepted message per channel in the period. */
  last_seen: z.record(z.string(), Iso),
});
