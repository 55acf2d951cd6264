import { COMMAND_TYPES, TOPIC_ROOT, topics } from '@tonypi/contracts';
import type { JobSnapshot, ModelEvent, RobotReadings } from './robot-readings';
import { servoAlertLevel } from './servo-model';
import { fixed, formatFixed, isoLocal, q } from './wire-format';
import type {
  CommandType,
  DecodedCommand,
  OutboundMessage,
  Publish,
  RobotIdentity,
  WireProtocol,
} from './wire-protocol';

/**
 * The seed system's Python robot client, byte for byte in shape (DESIGN §3a): topics
 * `tonypi/{channel}/{id}` (battery and location without the id), QoS 0, no Last Will, ISO local
 * timestamps without a zone, one sensors message per reading, commands as `{type, id, ...params}`
 * answered once with `{robot_id, command_id, success, message, timestamp}`.
 */

/** sensor_type, unit, and how to read it: the order the client sends them in. */
const SENSORS: readonly (readonly [string, string, (r: RobotReadings) => string])[] = [
  ['accelerometer_x', 'm/s^2', (r) => formatFixed(r.imu.accel_x_ms2, 3)],
  ['accelerometer_y', 'm/s^2', (r) => formatFixed(r.imu.accel_y_ms2, 3)],
  ['accelerometer_z', 'm/s^2', (r) => formatFixed(r.imu.accel_z_ms2, 3)],
  ['gyroscope_x', 'deg/s', (r) => formatFixed(r.imu.gyro_x_dps, 2)],
  ['gyroscope_y', 'deg/s', (r) => formatFixed(r.imu.gyro_y_dps, 2)],
  ['gyroscope_z', 'deg/s', (r) => formatFixed(r.imu.gyro_z_dps, 2)],
  ['ultrasonic_distance', 'cm', (r) => formatFixed(r.ultrasonic_cm, 1)],
  ['cpu_temperature', 'C', (r) => formatFixed(r.system.cpu_temperature_c, 1)],
  ['light_level', '%', (r) => formatFixed(r.light_percent, 1)],
  ['light_sensor_dark', 'bool', (r) => (r.light_dark ? '1' : '0')],
  ['system_cpu_percent', '%', (r) => formatFixed(r.system.cpu_percent, 1)],
  ['system_memory_percent', '%', (r) => formatFixed(r.system.memory_percent, 1)],
  ['system_disk_usage', '%', (r) => formatFixed(r.system.disk_percent, 1)],
  ['system_temperature', 'C', (r) => formatFixed(r.system.cpu_temperature_c, 1)],
  ['system_uptime', 's', (r) => String(Math.floor(r.uptime_s))],
];

export const LEGACY_SENSOR_TYPES: readonly string[] = SENSORS.map(([t]) => t);

const STATUS_REFRESH_MS = 10_000;
const LEVEL_NAMES = { info: 'INFO', warning: 'WARNING', error: 'ERROR' } as const;

export function createLegacyProtocol(identity: RobotIdentity): WireProtocol {
  const id = identity.robot_id;
  const rid = q(id);
  const sensorsTopic = `${TOPIC_ROOT}/sensors/${id}`;
  const servosTopic = `${TOPIC_ROOT}/servos/${id}`;
  const batteryTopic = `${TOPIC_ROOT}/battery`;
  const locationTopic = `${TOPIC_ROOT}/location`;
  const statusTopic = `${TOPIC_ROOT}/status/${id}`;
  const commandTopic = topics.legacy.command(id);
  const estopTopic = topics.legacy.emergencyStop(id);
  // Everything of a sensor message before its value and between value and timestamp, built once.
  const sensorHeads = SENSORS.map(([type]) => `{"robot_id":${rid},"sensor_type":${q(type)},"value":`);
  const sensorTails = SENSORS.map(([, unit]) => `,"unit":${q(unit)},"timestamp":"`);
  const servoHeads: string[] = [];

  const msg = (topic: string, body: Record<string, unknown>, ts: number): OutboundMessage => ({
    topic,
    payload: JSON.stringify({ robot_id: id, ...body, timestamp: isoLocal(ts) }),
    qos: 0,
    retain: false,
  });

  const batteryBody = (r: RobotReadings) => ({
    percentage: fixed(r.battery_percent, 1),
    voltage: fixed(r.battery.voltage_v, 2),
    charging: r.battery.charging,
  });

  return {
    name: 'legacy',
    statusRefreshMs: STATUS_REFRESH_MS,
    lastWill: () => undefined,

    subscriptions: () => ({
      [commandTopic]: { qos: 0 },
      [topics.legacy.commandBroadcast]: { qos: 0 },
      [estopTopic]: { qos: 0 },
      [topics.legacy.emergencyStopBroadcast]: { qos: 0 },
    }),

    status(r, status, ts) {
      const s = r.system;
      return msg(
        statusTopic,
        {
          status,
          system_info: {
            platform: 'Linux (simulated TonyPi)',
            cpu_percent: fixed(s.cpu_percent, 1),
            memory_percent: fixed(s.memory_percent, 1),
            disk_usage: fixed(s.disk_percent, 1),
            temperature: fixed(s.cpu_temperature_c, 1),
            cpu_temperature: fixed(s.cpu_temperature_c, 1),
            uptime: Math.floor(r.uptime_s),
            hardware_mode: 'simulation',
            hardware_sdk: false,
          },
          hardware_available: false,
          ip_address: identity.ip_address,
          camera_url: identity.camera_url,
          emergency_stopped: r.emergency !== null,
          emergency_reason: r.emergency?.reason ?? null,
        },
        ts,
      );
    },

    telemetry(r: RobotReadings, ts: number, publish: Publish) {
      const stamp = `${isoLocal(ts)}"}`;
      for (let k = 0; k < SENSORS.length; k++) {
        publish(sensorsTopic, sensorHeads[k]! + SENSORS[k]![2](r) + sensorTails[k]! + stamp, 0, false);
      }
      let servos = '';
      for (let k = 0; k < r.servos.length; k++) {
        const sv = r.servos[k]!;
        let head = servoHeads[k];
        if (head === undefined) {
          head = `"servo_${sv.id}":{"id":${sv.id},"name":${q(sv.name)},"position":`;
          servoHeads[k] = head;
        }
        servos +=
          (k === 0 ? '' : ',') +
          head +
          Math.round(sv.position) +
          ',"temperature":' +
          formatFixed(sv.temperature_c, 1) +
          ',"voltage":' +
          formatFixed(sv.voltage_v, 2) +
          ',"torque_enabled":' +
          sv.torque_enabled +
          ',"alert_level":"' +
          servoAlertLevel(sv.temperature_c) +
          '","target_position":' +
          Math.round(sv.target) +
          '}';
      }
      publish(
        servosTopic,
        `{"robot_id":${rid},"servos":{${servos}},"servo_count":${r.servos.length},"timestamp":"${stamp}`,
        0,
        false,
      );
      const b = r.battery;
      publish(
        batteryTopic,
        `{"robot_id":${rid},"percentage":${formatFixed(r.battery_percent, 1)},"voltage":${formatFixed(b.voltage_v, 2)}` +
          `,"charging":${b.charging},"timestamp":"${stamp}`,
        0,
        false,
      );
      publish(
        locationTopic,
        `{"robot_id":${rid},"x":${formatFixed(r.x_m, 3)},"y":${formatFixed(r.y_m, 3)},"z":0,"timestamp":"${stamp}`,
        0,
        false,
      );
    },

    battery: (r, ts) => msg(batteryTopic, batteryBody(r), ts),

    event(e: ModelEvent, r: RobotReadings, ts: number) {
      switch (e.kind) {
        case 'job':
          return msg(`${TOPIC_ROOT}/job/${id}`, jobBody(e.job, e.status, r, ts, e.reason), ts);
        case 'scan':
          return msg(
            `${TOPIC_ROOT}/scan/${id}`,
            { qr_data: e.code, station_name: e.station_name, action: e.action },
            ts,
          );
        case 'vision':
          return msg(
            `${TOPIC_ROOT}/vision/${id}`,
            {
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
            ts,
          );
        case 'log':
          return msg(
            `${TOPIC_ROOT}/logs/${id}`,
            { level: LEVEL_NAMES[e.level], message: e.message, source: e.source },
            ts,
          );
        case 'disconnect':
          return null;
      }
    },

    decodeCommand(topic, payload): DecodedCommand | null {
      const isCommand = topic === commandTopic || topic === topics.legacy.commandBroadcast;
      const isEstop = topic === estopTopic || topic === topics.legacy.emergencyStopBroadcast;
      if (!isCommand && !isEstop) return null;
      const origin = isEstop ? 'emergency_stop' : 'command';
      let json: unknown = {};
      const text = payload.toString('utf8').trim();
      try {
        // The seed backend's emergency stop may come with an empty body.
        if (text.length > 0 || isCommand) json = JSON.parse(text);
      } catch {
        return { ok: false, command_id: null, origin, message: 'payload is not JSON' };
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        return { ok: false, command_id: null, origin, message: 'payload must be a JSON object' };
      }
      const { type, id: rawId, command_id: altId, ...params } = json as Record<string, unknown>;
      const idValue = rawId ?? altId;
      const command_id =
        (typeof idValue === 'string' && idValue.length > 0) || typeof idValue === 'number'
          ? String(idValue).slice(0, 64)
          : null;
      if (isEstop) return { ok: true, command: { command_id, type: 'emergency_stop', params, origin } };
      if (typeof type !== 'string' || !(COMMAND_TYPES as readonly string[]).includes(type)) {
        const message =
          typeof type === 'string'
            ? `unknown command type '${type.slice(0, 64)}' (expected one of ${COMMAND_TYPES.join(', ')})`
            : 'type: required';
        return { ok: false, command_id, origin, message };
      }
      return { ok: true, command: { command_id, type: type as CommandType, params, origin } };
    },

    // The seed client answers once, when the command has run.
    accepted: () => null,

    finished(cmd, outcome, ts) {
      const estop = cmd.origin === 'emergency_stop';
      // The response schema needs an id; a command sent without one gets a descriptive stand-in.
      const command_id = cmd.command_id ?? `${cmd.type ?? (estop ? 'emergency_stop' : 'command')}-${ts}`;
      const body: Record<string, unknown> = { command_id, success: outcome.ok, message: outcome.message };
      if (estop) body.emergency_stopped = outcome.ok;
      if (outcome.result !== undefined) body.result = outcome.result;
      return msg(
        estop ? `${TOPIC_ROOT}/emergency_stop/response` : `${TOPIC_ROOT}/commands/response`,
        body,
        ts,
      );
    },
  };
}

function jobBody(
  job: JobSnapshot,
  status: string,
  r: RobotReadings,
  ts: number,
  reason: string | undefined,
): Record<string, unknown> {
  const startMs = ts - (r.uptime_s - job.started_at_s) * 1000;
  // Progress while working and at completion; events for the other transitions, as the client does.
  if (status === 'in_progress' || status === 'completed') {
    return {
      start_time: isoLocal(startMs),
      end_time: status === 'completed' ? isoLocal(ts) : null,
      items_total: job.items_total,
      items_done: job.items_done,
      percent: job.percent,
      status: status === 'completed' ? 'completed' : 'working',
      last_item: job.last_item,
      history: job.history,
      elapsed_time: job.elapsed_s,
      estimated_duration: job.estimated_duration_s,
    };
  }
  return {
    task_name: job.task_name,
    status,
    phase: status === 'started' ? 'navigating' : 'stopped',
    elapsed_time: job.elapsed_s,
    estimated_duration: job.estimated_duration_s,
    action_duration: 0,
    success: status === 'started',
    reason: reason ?? null,
    items_done: job.items_done,
    items_total: job.items_total,
    progress_percent: job.percent,
  };
}
