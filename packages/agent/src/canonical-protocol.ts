import { BroadcastPayload, CommandPayload, PROTOCOL_VERSION, topics } from '@tonypi/contracts';
import type { JobSnapshot, ModelEvent, RobotReadings } from './robot-readings';
import { describeIssues, fixed, formatFixed, q } from './wire-format';
import type {
  CommandOutcome,
  DecodedCommand,
  OutboundMessage,
  Publish,
  RobotCommand,
  RobotIdentity,
  WireProtocol,
} from './wire-protocol';

/**
 * The canonical protocol (DESIGN §3): `tonypi/{id}/{channel}`, epoch-ms `ts`, units in field
 * names, one telemetry bundle per sample, a retained status with a Last Will, commands with a
 * `command_id` answered `accepted` then `succeeded`/`failed`.
 */
export function createCanonicalProtocol(identity: RobotIdentity): WireProtocol {
  const id = identity.robot_id;
  const statusTopic = topics.robot(id, 'status');
  const telemetryTopic = topics.robot(id, 'telemetry');
  const responseTopic = topics.robot(id, 'command/response');
  const commandTopic = topics.command(id);
  // The parts of the telemetry bundle that never change, serialised once.
  const servoPrefixes: string[] = [];

  const msg = (
    topic: string,
    body: Record<string, unknown>,
    qos: 0 | 1 = 1,
    retain = false,
  ): OutboundMessage => ({
    topic,
    payload: JSON.stringify(body),
    qos,
    retain,
  });

  return {
    name: 'canonical',
    statusRefreshMs: null,

    lastWill: (ts) => msg(statusTopic, { status: 'offline', ts }, 1, true),

    // Its configuration too (retained: the current one arrives on every connect).
    subscriptions: () => ({
      [commandTopic]: { qos: 1 },
      [topics.broadcast]: { qos: 1 },
      [topics.config(id)]: { qos: 1 },
    }),

    status(r, status, ts) {
      return msg(
        statusTopic,
        {
          status,
          ts,
          protocol_version: PROTOCOL_VERSION,
          agent_version: identity.agent_version,
          ip_address: identity.ip_address,
          camera_url: identity.camera_url,
          hardware_available: false,
          emergency_stopped: r.emergency !== null,
          emergency_reason: r.emergency?.reason ?? null,
        },
        1,
        true,
      );
    },

    telemetry(r: RobotReadings, ts: number, publish: Publish) {
      publish(telemetryTopic, telemetryBundle(r, ts, servoPrefixes), 0, false);
    },

    battery: (r, ts) => msg(topics.robot(id, 'battery'), { ts, ...batteryFields(r) }),

    event(e: ModelEvent, _r, ts) {
      switch (e.kind) {
        case 'job':
          return msg(topics.robot(id, 'job'), jobBody(e.job, e.status, ts, e.reason));
        case 'scan':
          return msg(topics.robot(id, 'scan'), {
            ts,
            code: e.code,
            kind: 'qr',
            station_name: e.station_name,
            action: e.action,
          });
        case 'vision':
          return msg(
            topics.robot(id, 'vision'),
            {
              ts,
              detection: true,
              label: e.label,
              confidence: e.confidence,
              bbox: e.bbox,
              center_x: e.center_x,
              frame_width: e.frame_width,
              state: 'scanning',
              is_locked: true,
              navigation_command: null,
              error: null,
            },
            0,
          );
        case 'log':
          return msg(topics.robot(id, 'log'), { ts, level: e.level, message: e.message, source: e.source });
        case 'disconnect':
          return null;
      }
    },

    decodeCommand(topic, payload): DecodedCommand | null {
      if (topic !== commandTopic && topic !== topics.broadcast) return null;
      const origin = topic === commandTopic ? 'command' : 'broadcast';
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        return { ok: false, command_id: null, origin, message: 'payload is not JSON' };
      }
      if (origin === 'broadcast') {
        const parsed = BroadcastPayload.safeParse(json);
        if (!parsed.success) {
          return { ok: false, command_id: null, origin, message: describeIssues(parsed.error.issues) };
        }
        const params = parsed.data.reason === undefined ? {} : { reason: parsed.data.reason };
        return { ok: true, command: { command_id: null, type: parsed.data.type, params, origin } };
      }
      const parsed = CommandPayload.safeParse(json);
      if (!parsed.success) {
        return {
          ok: false,
          command_id: salvageCommandId(json),
          origin,
          message: describeIssues(parsed.error.issues),
        };
      }
      const { command_id, type, params } = parsed.data;
      return { ok: true, command: { command_id, type, params, origin } };
    },

    accepted: (cmd, ts) =>
      cmd.command_id === null
        ? null
        : msg(responseTopic, { command_id: cmd.command_id, status: 'accepted', ts }),

    finished(cmd: Pick<RobotCommand, 'command_id'>, outcome: CommandOutcome, ts) {
      if (cmd.command_id === null) return null;
      const body: Record<string, unknown> = {
        command_id: cmd.command_id,
        status: outcome.ok ? 'succeeded' : 'failed',
        message: outcome.message,
        ts,
      };
      if (outcome.result !== undefined) body.result = outcome.result;
      return msg(responseTopic, body);
    },
  };
}

/** A rejected command still gets its answer if it names itself clearly enough. */
function salvageCommandId(json: unknown): string | null {
  if (typeof json !== 'object' || json === null) return null;
  const id = (json as { command_id?: unknown }).command_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : null;
}

export function batteryFields(r: RobotReadings): Record<string, number | boolean> {
  return {
    percent: fixed(r.battery_percent, 1),
    voltage_v: fixed(r.battery.voltage_v, 2),
    current_a: fixed(r.battery.current_a, 2),
    charging: r.battery.charging,
  };
}

function jobBody(job: JobSnapshot, status: string, ts: number, reason?: string): Record<string, unknown> {
  return {
    ts,
    job_id: job.job_id,
    task_name: job.task_name,
    status,
    items_done: job.items_done,
    items_total: job.items_total,
    percent: job.percent,
    elapsed_s: job.elapsed_s,
    last_item: job.last_item,
    ...(reason === undefined ? {} : { reason }),
  };
}

/**
 * The telemetry bundle, built as a string: it is the hot path (one per robot per tick, 10k/s in
 * benchmarks), and a template is several times cheaper than building and stringifying objects.
 * The test suite parses it back and checks it against the contract's TelemetryPayload.
 */
export function telemetryBundle(r: RobotReadings, ts: number, servoPrefixes: string[] = []): string {
  const i = r.imu;
  const s = r.system;
  const b = r.battery;
  let servos = '';
  for (let k = 0; k < r.servos.length; k++) {
    const sv = r.servos[k]!;
    let prefix = servoPrefixes[k];
    if (prefix === undefined) {
      prefix = `{"id":${sv.id},"name":${q(sv.name)},"position":`;
      servoPrefixes[k] = prefix;
    }
    servos +=
      (k === 0 ? '' : ',') +
      prefix +
      Math.round(sv.position) +
      ',"target_position":' +
      Math.round(sv.target) +
      ',"temperature_c":' +
      formatFixed(sv.temperature_c, 1) +
      ',"voltage_v":' +
      formatFixed(sv.voltage_v, 2) +
      ',"load_percent":' +
      formatFixed(sv.load_percent, 1) +
      ',"torque_enabled":' +
      sv.torque_enabled +
      '}';
  }
  return (
    `{"ts":${ts},"sensors":{"accel_x_ms2":${formatFixed(i.accel_x_ms2, 3)},"accel_y_ms2":${formatFixed(i.accel_y_ms2, 3)}` +
    `,"accel_z_ms2":${formatFixed(i.accel_z_ms2, 3)},"gyro_x_dps":${formatFixed(i.gyro_x_dps, 2)}` +
    `,"gyro_y_dps":${formatFixed(i.gyro_y_dps, 2)},"gyro_z_dps":${formatFixed(i.gyro_z_dps, 2)}` +
    `,"roll_deg":${formatFixed(i.roll_deg, 2)},"pitch_deg":${formatFixed(i.pitch_deg, 2)},"yaw_deg":${formatFixed(r.heading_deg, 1)}` +
    `,"ultrasonic_distance_cm":${formatFixed(r.ultrasonic_cm, 1)},"light_level_percent":${formatFixed(r.light_percent, 1)}` +
    `,"light_dark":${r.light_dark ? 1 : 0}},"servos":[${servos}]` +
    `,"system":{"cpu_percent":${formatFixed(s.cpu_percent, 1)},"memory_percent":${formatFixed(s.memory_percent, 1)}` +
    `,"disk_percent":${formatFixed(s.disk_percent, 2)},"cpu_temperature_c":${formatFixed(s.cpu_temperature_c, 1)}` +
    `,"uptime_s":${Math.floor(r.uptime_s)}}` +
    `,"battery":{"percent":${formatFixed(r.battery_percent, 1)},"voltage_v":${formatFixed(b.voltage_v, 2)}` +
    `,"current_a":${formatFixed(b.current_a, 2)},"charging":${b.charging}}` +
    `,"location":{"x_m":${formatFixed(r.x_m, 3)},"y_m":${formatFixed(r.y_m, 3)},"z_m":0,"heading_deg":${formatFixed(r.heading_deg, 1)}}}`
  );
}
