import {
  type AliasTable,
  CHANNEL_SCHEMAS,
  type DecodedMessage,
  decodeTopic,
  FIELD_ALIASES,
  FIELD_NAME_RE,
  type FieldTarget,
  httpUrl,
  type IngestRejectReason,
  isValidRobotId,
  jsonShapeProblem,
  MAX_ABS_VALUE,
  MAX_PAYLOAD_BYTES,
  MAX_URL_LENGTH,
  META_KEYS,
  type MeasurementName,
  type RobotChannel,
  type TelemetryPoint,
} from '@tonypi/contracts';

/**
 * Turns one MQTT message into the server's model: telemetry points, a status change, an event.
 * Pure and synchronous (the caller owns time and I/O). High-rate numeric channels are checked
 * by hand with the alias tables: a zod parse per 50k messages/s would be the pipeline's biggest
 * cost. The low-rate structured channels (status, job, log, scan, vision, command response) go
 * through their zod schemas from `contracts`. Every payload is first checked for nesting and
 * width (`jsonShapeProblem`): whatever the channel, nothing deeper than MAX_PAYLOAD_DEPTH gets
 * past this function, so nothing downstream (live frames, logs) can overflow its stack on it.
 */

export type NormalizeResult =
  | { ok: true; message: DecodedMessage }
  | { ok: false; reason: IngestRejectReason; detail: string; robot_id?: string }
  | { ok: false; reason: 'outbound' };

export interface NormalizeOptions {
  receivedAt: number;
  clockSkewMaxMs: number;
}

/** At most this many numeric fields in one message (all measurements together). */
export const MAX_FIELDS_PER_MESSAGE = 512;

class Reject extends Error {
  constructor(
    readonly reason: IngestRejectReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export function normalize(topic: string, payload: Buffer, opts: NormalizeOptions): NormalizeResult {
  const decoded = decodeTopic(topic);
  if (!decoded.ok) {
    if (decoded.reason === 'outbound') return { ok: false, reason: 'outbound' };
    const reason = decoded.reason === 'not_a_robot_topic' ? 'bad_topic' : decoded.reason;
    return { ok: false, reason, detail: `topic ${truncate(topic)}: ${decoded.reason.replaceAll('_', ' ')}` };
  }
  const robotHint = decoded.robot_id ?? undefined;
  if (payload.length > MAX_PAYLOAD_BYTES) {
    return {
      ok: false,
      reason: 'oversize',
      detail: `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`,
      robot_id: robotHint,
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'bad_json', detail: (err as Error).message, robot_id: robotHint };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return {
      ok: false,
      reason: 'not_an_object',
      detail: 'payload must be a JSON object',
      robot_id: robotHint,
    };
  }
  const obj = body as Record<string, unknown>;
  const shape = jsonShapeProblem(obj);
  if (shape) return { ok: false, reason: shape.reason, detail: shape.detail, robot_id: robotHint };

  let robot_id = decoded.robot_id;
  const claimed = obj.robot_id ?? undefined;
  if (robot_id === null) {
    if (typeof claimed !== 'string' || !isValidRobotId(claimed)) {
      return { ok: false, reason: 'bad_robot_id', detail: `${topic} needs a valid robot_id in the payload` };
    }
    robot_id = claimed;
  } else if (claimed !== undefined && claimed !== robot_id) {
    // A robot may only speak for itself: the topic names it, the payload must not name another.
    return {
      ok: false,
      reason: 'robot_id_mismatch',
      detail: `payload robot_id ${truncate(String(claimed))} differs from topic robot ${robot_id}`,
      robot_id,
    };
  }

  try {
    const { ts, skewed } = eventTime(obj, opts);
    const message: DecodedMessage = {
      robot_id,
      channel: decoded.channel,
      layout: decoded.layout,
      ts,
      received_at: opts.receivedAt,
      skewed,
      points: [],
    };
    CHANNEL_DECODERS[decoded.channel](obj, message);
    let fieldCount = 0;
    for (const p of message.points) fieldCount += Object.keys(p.fields).length;
    if (fieldCount > MAX_FIELDS_PER_MESSAGE) {
      throw new Reject(
        'invalid_payload',
        `more than ${MAX_FIELDS_PER_MESSAGE} numeric fields in one message`,
      );
    }
    return { ok: true, message };
  } catch (err) {
    if (err instanceof Reject) return { ok: false, reason: err.reason, detail: err.detail, robot_id };
    throw err;
  }
}

function eventTime(obj: Record<string, unknown>, opts: NormalizeOptions): { ts: number; skewed: boolean } {
  const raw = obj.ts ?? obj.timestamp;
  if (raw === undefined || raw === null) return { ts: opts.receivedAt, skewed: false };
  let ts: number;
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) {
    // Seconds (as Python's time.time() sends) are told from milliseconds by size: 1e11 ms is 1973.
    ts = raw < 1e11 ? Math.round(raw * 1000) : Math.round(raw);
  } else if (typeof raw === 'string' && raw.length <= 64) {
    ts = Date.parse(raw);
    if (Number.isNaN(ts)) throw new Reject('invalid_payload', `ts: not a date-time: ${truncate(raw)}`);
  } else {
    throw new Reject('invalid_payload', 'ts: must be epoch milliseconds or an ISO-8601 string');
  }
  if (Math.abs(ts - opts.receivedAt) > opts.clockSkewMaxMs) return { ts: opts.receivedAt, skewed: true };
  return { ts, skewed: false };
}

type Decoder = (obj: Record<string, unknown>, out: DecodedMessage) => void;

const CHANNEL_DECODERS: Record<RobotChannel, Decoder> = {
  sensors: (obj, out) => {
    const sensorType = obj.sensor_type;
    if (typeof sensorType === 'string') {
      // Legacy: one message per reading.
      const target = aliasOf(FIELD_ALIASES.sensors, sensorType);
      const name = target ? target[1] : sensorType.toLowerCase();
      if (!target && !FIELD_NAME_RE.test(name)) {
        throw new Reject('invalid_payload', `sensor_type: not a valid name: ${truncate(sensorType)}`);
      }
      const value = toNumber(obj.value, 'value');
      if (value === undefined) throw new Reject('invalid_payload', 'value: required with sensor_type');
      addPoint(out, target ? target[0] : 'sensors', undefined, { [name]: value });
      return;
    }
    addFields(out, obj, 'sensors', 'sensors');
  },
  system: (obj, out) => addFields(out, obj, 'system', 'system'),
  battery: (obj, out) => addFields(out, obj, 'battery', 'battery'),
  location: (obj, out) => {
    addFields(out, obj, 'location', 'location');
    setLocation(out);
  },
  servos: (obj, out) => addServos(out, obj.servos),
  telemetry: (obj, out) => {
    for (const [key, table] of [
      ['sensors', 'sensors'],
      ['system', 'system'],
      ['battery', 'battery'],
      ['location', 'location'],
    ] as const) {
      const part = obj[key];
      if (part === undefined || part === null) continue;
      if (typeof part !== 'object' || Array.isArray(part))
        throw new Reject('invalid_payload', `${key}: must be an object`);
      addFields(out, part as Record<string, unknown>, table, key, `${key}.`);
    }
    if (obj.servos !== undefined && obj.servos !== null) addServos(out, obj.servos);
    setLocation(out);
  },
  status: (obj, out) => {
    // A bad camera URL must not cost the robot its status: it is dropped (counted), not fatal.
    const rawUrl = obj.camera_url;
    let camera_url: string | undefined;
    if (rawUrl !== undefined && rawUrl !== null) {
      camera_url = httpUrl(rawUrl);
      if (camera_url === undefined) {
        out.dropped = [
          {
            field: 'camera_url',
            reason: 'bad_url',
            detail: `camera_url: not an http(s) URL with a host of at most ${MAX_URL_LENGTH} characters: ${
              typeof rawUrl === 'string' ? truncate(JSON.stringify(rawUrl)) : typeof rawUrl
            }`,
          },
        ];
      }
    }
    const s = parseWith('status', rawUrl === undefined ? obj : { ...obj, camera_url: undefined });
    out.status = {
      status: s.status ?? (s.emergency_stopped === true ? 'emergency_stopped' : undefined),
      ip_address: s.ip_address,
      camera_url,
      reason: s.emergency_reason,
    };
    // The seed's `{cpu, memory, temp}` status and the legacy client's system_info carry system numbers.
    addFields(out, obj, 'system', 'system', '', true);
    if (s.system_info)
      addFields(out, s.system_info as Record<string, unknown>, 'system', 'system', 'system_info.', true);
  },
  job: (obj, out) => {
    const j = parseWith('job', obj);
    const fields: Record<string, number> = {};
    if (j.items_done !== undefined) fields.items_done = j.items_done;
    if (j.items_total !== undefined) fields.items_total = j.items_total;
    const percent = j.percent ?? j.progress_percent;
    if (percent !== undefined) fields.percent = percent;
    const elapsed = j.elapsed_s ?? j.elapsed_time;
    if (elapsed !== undefined) fields.elapsed_s = elapsed;
    addPoint(out, 'job', undefined, fields);
    out.event = { type: 'job', data: stripMeta(obj) };
  },
  scan: (obj, out) => {
    const s = parseWith('scan', obj);
    const code = s.code ?? s.qr_data ?? s.qr;
    if (!code) throw new Reject('invalid_payload', 'code: required (or the legacy qr_data / qr)');
    out.event = { type: 'scan', code, station_name: s.station_name, action: s.action };
  },
  vision: (obj, out) => {
    const v = parseWith('vision', obj);
    const fields: Record<string, number> = {};
    if (v.detection !== undefined) fields.detected = v.detection ? 1 : 0;
    if (typeof v.confidence === 'number') fields.confidence = v.confidence;
    if (typeof v.center_x === 'number') fields.center_x = v.center_x;
    if (typeof v.frame_width === 'number') fields.frame_width = v.frame_width;
    if (v.is_locked !== undefined) fields.locked = v.is_locked ? 1 : 0;
    addPoint(out, 'vision', undefined, fields);
    out.event = { type: 'vision', data: stripMeta(obj) };
  },
  log: (obj, out) => {
    const l = parseWith('log', obj);
    out.event = { type: 'log', level: normalizeLevel(l.level), message: l.message, source: l.source };
  },
  'command/response': (obj, out) => {
    // The original client's emergency-stop answer may name the command `id` instead of `command_id`.
    const id = obj.id;
    if (
      out.layout === 'legacy' &&
      obj.command_id == null &&
      (typeof id === 'string' || typeof id === 'number')
    ) {
      obj = { ...obj, command_id: String(id).slice(0, 64) };
    }
    const r = parseWith('command/response', obj);
    out.event = {
      type: 'command_response',
      command_id: r.command_id,
      status: r.status,
      success: r.success,
      message: r.message,
      data: stripMeta(obj),
    };
  },
};

function parseWith<C extends keyof typeof CHANNEL_SCHEMAS>(channel: C, obj: unknown) {
  const parsed = CHANNEL_SCHEMAS[channel].safeParse(obj);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
      .join('; ');
    throw new Reject('invalid_payload', detail);
  }
  return parsed.data as ReturnType<(typeof CHANNEL_SCHEMAS)[C]['parse']>;
}

/**
 * Adds the numbers of `obj` as fields: aliased keys to their measurement, other numeric keys as
 * extra fields of `measurement`. A known field with a wrong type rejects the message.
 * `knownOnly` skips unaliased keys (status payloads are full of unrelated numbers).
 */
function addFields(
  out: DecodedMessage,
  obj: Record<string, unknown>,
  table: AliasTable,
  measurement: MeasurementName,
  path = '',
  knownOnly = false,
): void {
  const aliases = FIELD_ALIASES[table];
  const byMeasurement = new Map<MeasurementName, Record<string, number>>();
  for (const key in obj) {
    if (META_KEYS.has(key)) continue;
    const raw = obj[key];
    const target = aliasOf(aliases, key);
    if (target) {
      const value = toNumber(raw, path + key);
      if (value === undefined) continue;
      fieldsOf(byMeasurement, target[0])[target[1]] = value;
    } else if (!knownOnly && typeof raw === 'number') {
      if (!Number.isFinite(raw) || !FIELD_NAME_RE.test(key)) continue;
      fieldsOf(byMeasurement, measurement)[key] = inRange(raw, path + key);
    }
  }
  for (const [m, fields] of byMeasurement) addPoint(out, m, undefined, fields);
}

function addServos(out: DecodedMessage, servos: unknown): void {
  let entries: Array<[string, unknown]>;
  if (Array.isArray(servos)) entries = servos.map((s, i) => [String(i), s]);
  else if (servos && typeof servos === 'object') entries = Object.entries(servos);
  else throw new Reject('invalid_payload', 'servos: must be an array or an object of servos');
  if (entries.length > 64) throw new Reject('invalid_payload', 'servos: at most 64 servos per message');
  const aliases = FIELD_ALIASES.servo;
  for (const [key, servo] of entries) {
    if (!servo || typeof servo !== 'object' || Array.isArray(servo)) {
      throw new Reject('invalid_payload', `servos.${truncate(key)}: must be an object`);
    }
    const s = servo as Record<string, unknown>;
    const id = servoId(s.id, key);
    const fields: Record<string, number> = {};
    for (const k in s) {
      if (META_KEYS.has(k)) continue;
      const target = aliasOf(aliases, k);
      if (target) {
        const value = toNumber(s[k], `servos.${id}.${k}`);
        if (value !== undefined) fields[target[1]] = value;
      } else {
        const raw = s[k];
        if (typeof raw === 'number' && Number.isFinite(raw) && FIELD_NAME_RE.test(k)) {
          fields[k] = inRange(raw, `servos.${id}.${k}`);
        }
      }
    }
    addPoint(out, 'servos', { servo_id: id }, fields);
  }
}

function servoId(id: unknown, key: string): string {
  const candidate =
    typeof id === 'number' && Number.isInteger(id) && id >= 0
      ? String(id)
      : typeof id === 'string'
        ? id
        : /^servo_(\d{1,3})$/.exec(key)?.[1];
  // Not `__proto__` and the like: servo ids become object keys.
  if (candidate === undefined || !/^(?!__)[A-Za-z0-9_-]{1,16}$/.test(candidate)) {
    throw new Reject('invalid_payload', `servos.${truncate(key)}.id: must be a servo number`);
  }
  return candidate;
}

/** The alias a key stands for: own keys only, so `constructor` or `toString` are not mistaken for one. */
function aliasOf(table: Readonly<Record<string, FieldTarget>>, key: string): FieldTarget | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function inRange(value: number, path: string): number {
  if (Math.abs(value) > MAX_ABS_VALUE) {
    throw new Reject('invalid_payload', `${path}: out of range (at most ±${MAX_ABS_VALUE})`);
  }
  return value;
}

function toNumber(raw: unknown, path: string): number | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw new Reject('invalid_payload', `${path}: must be a finite number`);
    return inRange(raw, path);
  }
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  throw new Reject('invalid_payload', `${path}: expected a number, got ${typeof raw}`);
}

function fieldsOf(
  map: Map<MeasurementName, Record<string, number>>,
  m: MeasurementName,
): Record<string, number> {
  let fields = map.get(m);
  if (!fields) {
    fields = {};
    map.set(m, fields);
  }
  return fields;
}

function addPoint(
  out: DecodedMessage,
  measurement: MeasurementName,
  tags: Record<string, string> | undefined,
  fields: Record<string, number>,
): void {
  const point: TelemetryPoint = { measurement, robot_id: out.robot_id, ts: out.ts, fields };
  if (tags) point.tags = tags;
  for (const _ in fields) {
    out.points.push(point);
    return;
  }
}

function setLocation(out: DecodedMessage): void {
  const point = out.points.find((p) => p.measurement === 'location');
  if (!point) return;
  const f = point.fields;
  if (f.x_m === undefined || f.y_m === undefined) return;
  out.location = { x: f.x_m, y: f.y_m, z: f.z_m ?? 0, heading: f.heading_deg };
}

const LEVELS: Record<string, string> = { warn: 'warning', err: 'error', fatal: 'critical', trace: 'debug' };
function normalizeLevel(level: string): string {
  const l = level.toLowerCase();
  return LEVELS[l] ?? (['debug', 'info', 'warning', 'error', 'critical'].includes(l) ? l : 'info');
}

function stripMeta(obj: Record<string, unknown>): Record<string, unknown> {
  const { robot_id: _r, timestamp: _t, ts: _ts, ...rest } = obj;
  return rest;
}

function truncate(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
