import type { CommandType, RobotProtocol, RobotStatus } from '@tonypi/contracts';
import type { ModelEvent, RobotReadings } from './robot-readings';

/**
 * What differs between the canonical protocol and the seed client's legacy one: topics, payload
 * shapes, QoS and how commands arrive and are answered. The robot's connection logic is written
 * once against this interface.
 */

export type QoS = 0 | 1;

export type { CommandType };

export interface OutboundMessage {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
}

export type Publish = (topic: string, payload: string, qos: QoS, retain: boolean) => void;

/** A command, whichever protocol carried it. */
export interface RobotCommand {
  /** Null for fleet broadcasts (canonical) and legacy messages without an `id`. */
  command_id: string | null;
  type: CommandType;
  params: Readonly<Record<string, unknown>>;
  /** Where it came from; the answer goes back the same way. */
  origin: 'command' | 'broadcast' | 'emergency_stop';
}

export type DecodedCommand =
  | { ok: true; command: RobotCommand }
  | { ok: false; command_id: string | null; origin: RobotCommand['origin']; message: string };

export interface CommandOutcome {
  ok: boolean;
  message: string;
  result?: unknown;
}

/** The statuses the agent itself reports (the others are the server's). */
export type ReportedStatus = Extract<RobotStatus, 'online' | 'offline' | 'emergency_stopped'>;

export interface WireProtocol {
  readonly name: RobotProtocol;
  /** The Last Will to register at connect time (none in the legacy protocol). */
  lastWill(ts: number): OutboundMessage | undefined;
  /** Topics to subscribe to on every connect. */
  subscriptions(): Record<string, { qos: QoS }>;
  status(r: RobotReadings, status: ReportedStatus, ts: number): OutboundMessage;
  /** Re-send the status this often (ms), or never when the broker retains it. */
  readonly statusRefreshMs: number | null;
  /** One telemetry sample: one bundle (canonical) or one message per reading (legacy). */
  telemetry(r: RobotReadings, ts: number, publish: Publish): void;
  battery(r: RobotReadings, ts: number): OutboundMessage;
  event(e: ModelEvent, r: RobotReadings, ts: number): OutboundMessage | null;
  /** Null when the topic is not a command topic of this robot. */
  decodeCommand(topic: string, payload: Buffer): DecodedCommand | null;
  /** The immediate acknowledgement, where the protocol has one. */
  accepted(cmd: RobotCommand, ts: number): OutboundMessage | null;
  /** The final answer (also to commands that failed to decode), or null when nobody can be told. */
  finished(
    cmd: Pick<RobotCommand, 'command_id' | 'origin'> & { type?: string },
    outcome: CommandOutcome,
    ts: number,
  ): OutboundMessage | null;
}

export interface RobotIdentity {
  robot_id: string;
  agent_version: string;
  ip_address: string;
  camera_url: string;
}
