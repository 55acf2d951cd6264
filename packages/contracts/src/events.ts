import type { RobotLocation } from './api';
import type { AUDIT_ACTOR_TYPES, AUDIT_OUTCOMES } from './audit';
import type { IngestDropReason, IngestRejectReason } from './errors';
import type { LiveServerEvents } from './live';
import type { TelemetryPoint } from './measurements';
import type { RobotStatus } from './payloads';
import type { RobotChannel, TopicLayout } from './topics';

/**
 * The server's in-process events: what one domain tells the others without importing them. The ingest
 * publishes every robot message it accepts, decoded, and one event per structured kind (log, job, scan,
 * vision, command response); the robot registry publishes status changes; the ingest its figures once a
 * second. Subscribers (the registry, the live stream; later alerts, jobs, commands, logs, items) run
 * synchronously on the publisher's path: they must be quick and never block.
 */

/** What a robot's message says of its status (the `status` channel and the legacy client's fields). */
export interface StatusUpdate {
  status?: RobotStatus;
  ip_address?: string;
  camera_url?: string;
  reason?: string | null;
}

/** The structured part of a message, on the channels that carry one. */
export type RobotEvent =
  | { type: 'log'; level: string; message: string; source?: string }
  | { type: 'job'; data: Record<string, unknown> }
  | { type: 'scan'; code: string; station_name?: string; action?: string }
  | { type: 'vision'; data: Record<string, unknown> }
  | {
      type: 'command_response';
      command_id: string;
      status?: 'accepted' | 'succeeded' | 'failed';
      success?: boolean;
      message?: string;
      data: Record<string, unknown>;
    };

/** A field left out of an accepted message: the rest of the message goes through. */
export interface DroppedField {
  field: string;
  reason: IngestDropReason;
  detail: string;
}

/** One robot message, validated and mapped onto the server's model (both topic layouts). */
export interface DecodedMessage {
  robot_id: string;
  channel: RobotChannel;
  layout: TopicLayout;
  /** Event time (epoch ms) after clock-skew bounding. */
  ts: number;
  /** When this server received it (epoch ms). */
  received_at: number;
  /** True when the robot's clock was off by more than allowed and the receive time was used. */
  skewed: boolean;
  points: TelemetryPoint[];
  status?: StatusUpdate;
  location?: RobotLocation;
  event?: RobotEvent;
  dropped?: DroppedField[];
}

/** A robot's answer to a command (`command/response`; the legacy `tonypi/commands/response`). */
export interface CommandResponseEvent {
  robot_id: string;
  ts: number;
  command_id: string;
  status?: 'accepted' | 'succeeded' | 'failed';
  success?: boolean;
  message?: string;
  /** The whole payload but its metadata (robot_id, ts). */
  data: Record<string, unknown>;
}

/** Event name → payload. Names are `domain.what`. */
export interface ServerEvents {
  /**
   * Every robot message this server accepts and observes, decoded (its points, status update, location,
   * structured event). Not published for the stored-only share of a shared subscription: the server that
   * observes the message publishes it. Published at the ingest's full rate: subscribers must be cheap.
   */
  'robot.message': DecodedMessage;
  /** A robot's status changed (a message said so, or it went silent). */
  'robot.status': LiveServerEvents['status'];
  'robot.log': LiveServerEvents['log'];
  'robot.job': LiveServerEvents['job'];
  'robot.scan': LiveServerEvents['scan'];
  'robot.vision': LiveServerEvents['vision'];
  'robot.command_response': CommandResponseEvent;
  /** An alert changed (the alert engine, or a person acknowledging, resolving or deleting it). */
  'alert.changed': LiveServerEvents['alert'];
  /** A command changed state. */
  'command.changed': LiveServerEvents['command'];
  /** A report's status or progress changed (the reports runner). */
  'report.changed': LiveServerEvents['report'];
  /** Once a second: the ingest's own figures. */
  'ingest.report': LiveServerEvents['ingest'];
  /** A robot message the ingest refused (published only while someone listens: diagnostics, logs). */
  'ingest.rejected': IngestRejection;
  /** Something the embedded broker refused a client: a publish or subscription outside its ACL, a CONNECT. */
  'broker.refused': BrokerRefusalEvent;
  /** An audit event was written (the audit trail publishes it after the insert). */
  'audit.recorded': AuditRecorded;
  /** A request failed with a server error (5xx): what the HTTP layer logs as `request failed`. */
  'server.error': ServerErrorEvent;
}

export interface IngestRejection {
  /** The robot the topic or payload names; undefined when none could be read. */
  robot_id: string | undefined;
  /** Who published it, where the broker knows (differs from robot_id for `acl_denied`). */
  publisher: string | undefined;
  reason: IngestRejectReason;
  detail: string;
  topic: string;
  received_at: number;
  /** The payload's first bytes (at most 256), undecoded. */
  excerpt: Buffer;
  payload_bytes: number;
}

export interface BrokerRefusalEvent {
  /** The broker's reason (`acl_denied`, `subscribe_denied`, `auth_refused`, …: BROKER_REFUSALS). */
  reason: string;
  /** The client id (a robot's id), when the client sent a well-formed one. */
  client_id: string | undefined;
  topic?: string;
  /** For `auth_refused`: why (bad_credentials, anonymous_refused, …). */
  refusal?: string;
  at: number;
}

export interface AuditRecorded {
  actor: { type: (typeof AUDIT_ACTOR_TYPES)[number]; id: string | null; name: string | null };
  action: string;
  target?: { type: string; id: string };
  outcome: (typeof AUDIT_OUTCOMES)[number];
  address?: string;
  /** As written (scrubbed of secrets). */
  details?: Record<string, unknown>;
  at: number;
}

export interface ServerErrorEvent {
  method: string;
  url: string;
  status: number;
  message: string;
  at: number;
}
export type ServerEventName = keyof ServerEvents;
