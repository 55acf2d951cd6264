import { z } from 'zod';
import type { AlertChange, AlertView } from './alerts';
import type { CommandView } from './commands';
import type { ErrorCode, IngestRejectReason } from './errors';
import { MEASUREMENT_NAMES, type MeasurementName } from './measurements';
import type { RobotStatus } from './payloads';
import type { ReportLiveEvent } from './reports';

/**
 * The live stream (`WS /api/v1/stream`): one JSON object per frame, `{ type, ... }`. Times are
 * epoch ms. The client authenticates (an `Authorization: Bearer` header, or an `auth` message
 * as its first frame), then subscribes to channels and robots.
 */

/** What a client can subscribe to. Telemetry covers every measurement. */
export const LIVE_CHANNELS = [
  'telemetry',
  'status',
  'log',
  'job',
  'scan',
  'vision',
  'ingest',
  'alert',
  'command',
  'report',
] as const;
export type LiveChannel = (typeof LIVE_CHANNELS)[number];

/** Frames per second a client gets at most, per robot and series, for each throttled kind. */
export const LIVE_RATES_HZ = {
  location: 20,
  telemetry: 10,
  ingest: 1,
} as const;

/**
 * The telemetry a client gets, beyond its robots and channels: which measurements (`["*"]`: all, the
 * default), of which of its robots (`telemetry_robots`, `["*"]`: all of them, the default; status, alerts
 * and the other channels still come for every robot it follows), and at most how many frames per second
 * per series (`telemetry_hz`, 1 to 20; by default LIVE_RATES_HZ). A page that shows three values of a
 * hundred robots, or every value of one, asks for just that: the rest is never serialised or sent to it.
 * Each `subscribe` that carries one of them replaces it for the socket; one without leaves it as it was.
 */
export const LiveTelemetryFilter = z.object({
  telemetry_robots: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
  measurements: z
    .array(z.union([z.enum(MEASUREMENT_NAMES as [MeasurementName, ...MeasurementName[]]), z.literal('*')]))
    .min(1)
    .max(MEASUREMENT_NAMES.length + 1)
    .optional(),
  telemetry_hz: z.number().int().min(1).max(LIVE_RATES_HZ.location).optional(),
});

export const LiveClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth'), token: z.string().min(1).max(4096) }),
  z.object({
    type: z.literal('subscribe'),
    /** Robot ids, or `["*"]` for every robot (the default). */
    robots: z.array(z.string().min(1).max(64)).max(1000).default(['*']),
    channels: z.array(z.enum(LIVE_CHANNELS)).min(1).default(['telemetry', 'status']),
    ...LiveTelemetryFilter.shape,
  }),
  z.object({
    type: z.literal('unsubscribe'),
    robots: z.array(z.string().min(1).max(64)).max(1000).default(['*']),
    channels: z
      .array(z.enum(LIVE_CHANNELS))
      .min(1)
      .default([...LIVE_CHANNELS]),
  }),
  z.object({ type: z.literal('ping'), id: z.string().max(64).optional() }),
]);
export type LiveClientMessage = z.infer<typeof LiveClientMessage>;

/**
 * The codes an `error` frame carries (a subset of the API's ERROR_CODES): `unauthorized` (no, a bad
 * or an ended session; the socket is then closed with LIVE_CLOSE.unauthorized), `bad_request` (not a
 * JSON text frame, or too large), `validation_error` (a message of the wrong shape, or a limit passed),
 * `password_change_required` (the user signed in with a temporary password; closed with
 * LIVE_CLOSE.password_change_required). The socket stays open after `bad_request` and `validation_error`.
 */
export const LIVE_ERROR_CODES = [
  'unauthorized',
  'bad_request',
  'validation_error',
  'password_change_required',
] as const satisfies readonly ErrorCode[];
export type LiveErrorCode = (typeof LIVE_ERROR_CODES)[number];

/**
 * How the server closes a live-stream socket: the WebSocket close code and reason for each cause.
 * An `error` frame saying why comes first, except for `too_slow` (the client is not reading) and
 * `unresponsive` (no pong: the socket is terminated, no close frame).
 */
export const LIVE_CLOSE = {
  /** No auth message in time, a bad or missing token, or a role without `live:read`. */
  unauthorized: { code: 4401, reason: 'Unauthorized' },
  /** The session's token expired while the socket was open. */
  expired: { code: 4401, reason: 'Session expired' },
  /** A session check refused the session (logout, a disabled user). */
  revoked: { code: 4401, reason: 'Session revoked' },
  /**
   * The session is good but its user signed in with a temporary password: signing in again does not help,
   * setting a new one (POST /api/v1/auth/password) does.
   */
  password_change_required: { code: 4403, reason: 'Password change required' },
  /** More than the hard buffer limit queued for a client that does not read. */
  too_slow: { code: 1013, reason: 'Client too slow for the live stream' },
} as const satisfies Record<string, { code: number; reason: string }>;
export type LiveCloseCause = keyof typeof LIVE_CLOSE;

export interface LiveServerEvents {
  hello: { protocol_version: string; server_time: number; authenticated: boolean };
  /** What the socket now gets: `["*"]` = all; `telemetry_hz` null = LIVE_RATES_HZ. */
  subscribed: {
    robots: string[];
    channels: LiveChannel[];
    telemetry_robots: string[];
    measurements: Array<MeasurementName | '*'>;
    telemetry_hz: number | null;
  };
  telemetry: {
    robot_id: string;
    measurement: MeasurementName;
    tags?: Record<string, string>;
    ts: number;
    fields: Record<string, number>;
  };
  status: {
    robot_id: string;
    status: RobotStatus;
    ts: number;
    ip_address?: string;
    camera_url?: string;
    reason?: string | null;
  };
  log: { robot_id: string; level: string; message: string; source?: string; ts: number };
  job: { robot_id: string; ts: number; data: Record<string, unknown> };
  scan: { robot_id: string; ts: number; code: string; station_name?: string; action?: string };
  vision: { robot_id: string; ts: number; data: Record<string, unknown> };
  ingest: {
    ts: number;
    accepted_per_s: number;
    rejected: Partial<Record<IngestRejectReason, number>>;
    queue_depth: number;
  };
  /** An alert was raised, escalated, updated, acknowledged, resolved or deleted: never throttled. */
  alert: { change: AlertChange; alert: AlertView };
  /** A command changed state: never throttled. */
  command: CommandView;
  /** A report was queued, made progress, completed, failed or was cancelled: never throttled. */
  report: ReportLiveEvent;
  heartbeat: { ts: number };
  pong: { id?: string; ts: number };
  error: { code: LiveErrorCode; message: string };
}
export type LiveEventType = keyof LiveServerEvents;
export type LiveFrame = { [K in LiveEventType]: { type: K } & LiveServerEvents[K] }[LiveEventType];

/** Which subscription channel an event belongs to; events without one go to every client. */
export const LIVE_EVENT_CHANNEL: Partial<Record<LiveEventType, LiveChannel>> = {
  telemetry: 'telemetry',
  status: 'status',
  log: 'log',
  job: 'job',
  scan: 'scan',
  vision: 'vision',
  ingest: 'ingest',
  alert: 'alert',
  command: 'command',
  report: 'report',
};
