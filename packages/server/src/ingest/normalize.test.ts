import { MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH, MAX_PAYLOAD_WIDTH, ROBOT_CHANNELS } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { MAX_FIELDS_PER_MESSAGE, type NormalizeResult, normalize } from './normalize';

const NOW = Date.parse('2026-11-24T10:00:00Z');
const opts = { receivedAt: NOW, clockSkewMaxMs: 300_000 };
const run = (topic: string, payload: unknown): NormalizeResult =>
  normalize(topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), opts);

function ok(result: NormalizeResult) {
  if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result)}`);
  return result.message;
}

describe('normalize: canonical topics', () => {
  it('turns a telemetry bundle into one point per measurement and one per servo', () => {
    const m = ok(
      run('tonypi/tonypi_01/telemetry', {
        ts: NOW - 1000,
        sensors: { accel_x_ms2: 0.1, gyro_z_dps: 2, ultrasonic_distance_cm: 40, new_sensor_lux: 12 },
        servos: [
          { id: 1, position: 500, temperature_c: 41.5, voltage_v: 7.4 },
          { id: 2, position: 480, temperature_c: 39 },
        ],
        system: { cpu_percent: 33, memory_percent: 51 },
        battery: { percent: 80, voltage_v: 11.9, charging: false },
        location: { x_m: 1.5, y_m: 2.5, heading_deg: 90 },
      }),
    );
    expect(m.robot_id).toBe('tonypi_01');
    expect(m.layout).toBe('canonical');
    expect(m.ts).toBe(NOW - 1000);
    const by = (name: string) => m.points.filter((p) => p.measurement === name);
    expect(by('sensors')[0]?.fields).toEqual({
      accel_x_ms2: 0.1,
      gyro_z_dps: 2,
      ultrasonic_distance_cm: 40,
      new_sensor_lux: 12,
    });
    expect(by('servos').map((p) => [p.tags?.servo_id, p.fields.temperature_c])).toEqual([
      ['1', 41.5],
      ['2', 39],
    ]);
    expect(by('battery')[0]?.fields).toEqual({ percent: 80, voltage_v: 11.9, charging: 0 });
    expect(m.location).toEqual({ x: 1.5, y: 2.5, z: 0, heading: 90 });
  });

  it("accepts the seeds' flat sensors payload and files each number under its measurement", () => {
    const m = ok(
      run('tonypi/tonypi_001/sensors', {
        robot_id: 'tonypi_001',
        timestamp: '2026-11-24T09:59:59Z',
        battery_level: 75.3,
        temperature: 52.1,
        cpu_percent: 45.2,
        memory_percent: 62.8,
        disk_percent: 35.4,
        uptime_seconds: 864000,
      }),
    );
    expect(m.points.find((p) => p.measurement === 'battery')?.fields).toEqual({ percent: 75.3 });
    expect(m.points.find((p) => p.measurement === 'system')?.fields).toEqual({
      cpu_temperature_c: 52.1,
      cpu_percent: 45.2,
      memory_percent: 62.8,
      disk_percent: 35.4,
      uptime_s: 864000,
    });
  });

  it('reads the seed 000 servo array with raw load as an extra field', () => {
    const m = ok(
      run('tonypi/tonypi_001/servos', {
        ts: NOW,
        servos: [{ id: 4, position: 150, temperature: 39.5, load: 610, voltage: 5 }],
      }),
    );
    expect(m.points[0]).toMatchObject({
      measurement: 'servos',
      tags: { servo_id: '4' },
      fields: { position: 150, temperature_c: 39.5, load: 610, voltage_v: 5 },
    });
  });

  it('takes `performance` as the system channel and seconds as a timestamp', () => {
    const m = ok(run('tonypi/r2/performance', { ts: (NOW - 2000) / 1000, cpu: 10, memory: 20, temp: 50 }));
    expect(m.channel).toBe('system');
    expect(m.ts).toBe(NOW - 2000);
    expect(m.points[0]?.fields).toEqual({ cpu_percent: 10, memory_percent: 20, cpu_temperature_c: 50 });
  });

  it('uses the receive time when the robot clock is off by more than allowed', () => {
    const m = ok(run('tonypi/r2/system', { ts: NOW - 3600_000, cpu_percent: 1 }));
    expect(m.skewed).toBe(true);
    expect(m.ts).toBe(NOW);
  });

  it('uses the receive time when the payload has no timestamp', () => {
    expect(ok(run('tonypi/r2/system', { cpu_percent: 1 })).ts).toBe(NOW);
  });

  it('reports status with address and camera', () => {
    const m = ok(
      run('tonypi/r2/status', {
        ts: NOW,
        status: 'online',
        ip_address: '10.0.0.7',
        camera_url: 'http://10.0.0.7:8081/?action=stream',
      }),
    );
    expect(m.status).toEqual({
      status: 'online',
      ip_address: '10.0.0.7',
      camera_url: 'http://10.0.0.7:8081/?action=stream',
      reason: undefined,
    });
  });

  it('turns a log, a job, a scan and a command response into events', () => {
    expect(ok(run('tonypi/r2/log', { ts: NOW, level: 'WARN', message: 'low battery' })).event).toEqual({
      type: 'log',
      level: 'warning',
      message: 'low battery',
      source: undefined,
    });
    const job = ok(
      run('tonypi/r2/job', { ts: NOW, status: 'working', items_done: 3, items_total: 10, percent: 30 }),
    );
    expect(job.points[0]?.fields).toEqual({ items_done: 3, items_total: 10, percent: 30 });
    expect(job.event?.type).toBe('job');
    expect(ok(run('tonypi/r2/scan', { ts: NOW, code: 'ITEM-9' })).event).toMatchObject({
      type: 'scan',
      code: 'ITEM-9',
    });
    expect(
      ok(run('tonypi/r2/command/response', { ts: NOW, command_id: 'c1', status: 'succeeded' })).event?.type,
    ).toBe('command_response');
  });
});

describe('normalize: the original robot client (legacy layout)', () => {
  it('reads one sensor reading per message', () => {
    const m = ok(
      run('tonypi/sensors/tonypi_07', {
        robot_id: 'tonypi_07',
        sensor_type: 'accelerometer_x',
        value: 0.12,
        unit: 'm/s^2',
        timestamp: '2026-11-24T10:59:58',
      }),
    );
    expect(m.layout).toBe('legacy');
    expect(m.points).toEqual([
      { measurement: 'sensors', robot_id: 'tonypi_07', ts: m.ts, fields: { accel_x_ms2: 0.12 } },
    ]);
  });

  it('files a system reading sent as a sensor under system, and an unknown sensor as an extra field', () => {
    expect(
      ok(run('tonypi/sensors/r1', { sensor_type: 'system_cpu_percent', value: 12 })).points[0],
    ).toMatchObject({
      measurement: 'system',
      fields: { cpu_percent: 12 },
    });
    expect(ok(run('tonypi/sensors/r1', { sensor_type: 'co2_ppm', value: 415 })).points[0]).toMatchObject({
      measurement: 'sensors',
      fields: { co2_ppm: 415 },
    });
  });

  it('reads the servo map with servo_N keys', () => {
    const m = ok(
      run('tonypi/servos/r1', {
        robot_id: 'r1',
        servos: {
          servo_1: {
            id: 1,
            name: 'Left Hip',
            position: 500,
            temperature: 45,
            voltage: 7.2,
            torque_enabled: true,
            alert_level: 'normal',
          },
          servo_2: { name: 'Left Knee', position: 510, temperature: 47 },
        },
        servo_count: 2,
      }),
    );
    expect(m.points.map((p) => [p.tags?.servo_id, p.fields])).toEqual([
      ['1', { position: 500, temperature_c: 45, voltage_v: 7.2, torque_enabled: 1 }],
      ['2', { position: 510, temperature_c: 47 }],
    ]);
  });

  it('takes the robot from the payload on topics without one', () => {
    const m = ok(run('tonypi/battery', { robot_id: 'r9', percentage: 64, voltage: 11.1, charging: true }));
    expect(m.robot_id).toBe('r9');
    expect(m.points[0]?.fields).toEqual({ percent: 64, voltage_v: 11.1, charging: 1 });
    expect(ok(run('tonypi/location', { robot_id: 'r9', x: 1, y: 2, z: 0 })).location).toEqual({
      x: 1,
      y: 2,
      z: 0,
      heading: undefined,
    });
  });

  it('reads the legacy status with system_info and the seed 001 bare status', () => {
    const m = ok(
      run('tonypi/status/r1', {
        robot_id: 'r1',
        status: 'online',
        system_info: { platform: 'Linux', cpu_percent: 20, memory_percent: 40, temperature: 55, uptime: 100 },
        ip_address: '192.0.2.4',
      }),
    );
    expect(m.status?.status).toBe('online');
    expect(m.points[0]?.fields).toEqual({
      cpu_percent: 20,
      memory_percent: 40,
      cpu_temperature_c: 55,
      uptime_s: 100,
    });
    const bare = ok(run('tonypi/status/r1', { cpu: 45, memory: 62, temp: 55 }));
    expect(bare.status?.status).toBeUndefined();
    expect(bare.points[0]?.fields).toEqual({ cpu_percent: 45, memory_percent: 62, cpu_temperature_c: 55 });
  });

  it('maps emergency_stopped without a status to that status', () => {
    expect(
      ok(run('tonypi/status/r1', { emergency_stopped: true, emergency_reason: 'button' })).status,
    ).toMatchObject({
      status: 'emergency_stopped',
      reason: 'button',
    });
  });

  it('reads command responses on the shared response topics', () => {
    const m = ok(
      run('tonypi/commands/response', { robot_id: 'r1', command_id: 'x1', success: true, message: 'done' }),
    );
    expect(m.channel).toBe('command/response');
    expect(m.robot_id).toBe('r1');
  });

  it("reads the original client's emergency-stop answer, which may name the command `id`", () => {
    const m = ok(
      run('tonypi/emergency_stop/response', {
        robot_id: 'r1',
        id: 'stop-7',
        type: 'emergency_stop',
        success: true,
        message: 'stopped',
      }),
    );
    expect(m.event).toMatchObject({ type: 'command_response', command_id: 'stop-7', success: true });
    // Without either it is still refused, with the reason.
    const bad = run('tonypi/emergency_stop/response', { robot_id: 'r1', success: true });
    expect(bad.ok ? 'accepted' : bad.reason).toBe('invalid_payload');
  });
});

describe('normalize: what each bad input gets', () => {
  const reason = (r: NormalizeResult) => (r.ok ? 'accepted' : r.reason);

  it("ignores the server's own outbound topics without counting them as errors", () => {
    for (const t of [
      'tonypi/r1/command',
      'tonypi/r1/config',
      'tonypi/system/broadcast',
      'tonypi/commands/r1',
      'tonypi/emergency_stop/r1',
      'tonypi/items/r1',
    ]) {
      expect(reason(run(t, {})), t).toBe('outbound');
    }
  });

  it('rejects topics outside the protocol as bad_topic', () => {
    expect(reason(run('other/r1/sensors', {}))).toBe('bad_topic');
    expect(reason(run('tonypi/r1', {}))).toBe('bad_topic');
    expect(reason(run('tonypi/a/b/c/d', {}))).toBe('bad_topic');
  });

  it('rejects an unknown channel', () => {
    expect(run('tonypi/r1/coffee', {})).toMatchObject({ ok: false, reason: 'unknown_channel' });
  });

  it('rejects a robot id with forbidden characters, and a missing id on shared topics', () => {
    expect(reason(run('tonypi/r1$/sensors', {}))).toBe('bad_robot_id');
    expect(reason(run(`tonypi/${'x'.repeat(65)}/sensors`, {}))).toBe('bad_robot_id');
    expect(reason(run('tonypi/battery', { percentage: 3 }))).toBe('bad_robot_id');
    expect(reason(run('tonypi/battery', { robot_id: '../etc', percentage: 3 }))).toBe('bad_robot_id');
  });

  it('rejects a payload naming another robot than its topic (no speaking for others)', () => {
    expect(run('tonypi/r1/system', { robot_id: 'r2', cpu_percent: 1 })).toMatchObject({
      ok: false,
      reason: 'robot_id_mismatch',
      robot_id: 'r1',
    });
  });

  it('rejects an oversize payload before parsing it', () => {
    expect(reason(run('tonypi/r1/system', 'x'.repeat(MAX_PAYLOAD_BYTES + 1)))).toBe('oversize');
  });

  it('rejects bad JSON and JSON that is not an object', () => {
    expect(reason(run('tonypi/r1/system', '{"cpu_percent": '))).toBe('bad_json');
    expect(reason(run('tonypi/r1/system', '[1,2]'))).toBe('not_an_object');
    expect(reason(run('tonypi/r1/system', 'null'))).toBe('not_an_object');
    expect(reason(run('tonypi/r1/system', '42'))).toBe('not_an_object');
  });

  it('rejects a known field of the wrong type and says which', () => {
    expect(run('tonypi/r1/system', { cpu_percent: 'high' })).toMatchObject({
      ok: false,
      reason: 'invalid_payload',
      detail: 'cpu_percent: expected a number, got string',
    });
    expect(run('tonypi/r1/telemetry', { battery: { voltage_v: [1] } })).toMatchObject({
      reason: 'invalid_payload',
      detail: 'battery.voltage_v: expected a number, got object',
    });
    expect(run('tonypi/r1/telemetry', { sensors: 5 })).toMatchObject({
      reason: 'invalid_payload',
      detail: 'sensors: must be an object',
    });
  });

  it('rejects a bad timestamp', () => {
    expect(run('tonypi/r1/system', { ts: 'yesterday', cpu_percent: 1 })).toMatchObject({
      reason: 'invalid_payload',
    });
    expect(run('tonypi/r1/system', { ts: -5, cpu_percent: 1 })).toMatchObject({ reason: 'invalid_payload' });
  });

  it('rejects structured channels that miss required fields, listing the fields', () => {
    expect(run('tonypi/r1/log', { level: 'info' })).toMatchObject({
      reason: 'invalid_payload',
      detail: expect.stringContaining('message'),
    });
    expect(run('tonypi/r1/status', { status: 'dancing' })).toMatchObject({
      reason: 'invalid_payload',
      detail: expect.stringContaining('status'),
    });
    expect(run('tonypi/r1/command/response', { status: 'succeeded' })).toMatchObject({
      reason: 'invalid_payload',
    });
    expect(run('tonypi/r1/scan', { station_name: 'A' })).toMatchObject({
      reason: 'invalid_payload',
      detail: expect.stringContaining('code'),
    });
  });

  it('rejects servos that are not servos', () => {
    expect(reason(run('tonypi/r1/servos', { servos: 'six' }))).toBe('invalid_payload');
    expect(reason(run('tonypi/r1/servos', { servos: [5] }))).toBe('invalid_payload');
    expect(reason(run('tonypi/r1/servos', { servos: { left: { position: 1 } } }))).toBe('invalid_payload');
    expect(
      reason(run('tonypi/r1/servos', { servos: Array.from({ length: 65 }, (_, i) => ({ id: i })) })),
    ).toBe('invalid_payload');
  });

  it('rejects a message with too many numeric fields', () => {
    const many = Object.fromEntries(
      Array.from({ length: MAX_FIELDS_PER_MESSAGE + 1 }, (_, i) => [`f${i}`, i]),
    );
    expect(reason(run('tonypi/r1/sensors', many))).toBe('invalid_payload');
  });

  it('does not store hostile or non-numeric unknown keys', () => {
    const m = ok(
      run('tonypi/r1/sensors', {
        "x'); DROP TABLE robots;--": 1,
        BadCase: 2,
        note: 'hello',
        nested: { a: 1 },
        ok_field: 3,
      }),
    );
    expect(m.points[0]?.fields).toEqual({ ok_field: 3 });
  });

  it('does not mistake inherited object keys for field aliases', () => {
    expect(ok(run('tonypi/r1/system', { constructor: 5, cpu_percent: 1 })).points).toEqual([
      expect.objectContaining({ measurement: 'system', fields: { cpu_percent: 1, constructor: 5 } }),
    ]);
    expect(ok(run('tonypi/sensors/r1', { sensor_type: 'toString', value: 3 })).points).toEqual([
      expect.objectContaining({ measurement: 'sensors', fields: { tostring: 3 } }),
    ]);
  });

  it('rejects numbers beyond ±1e15, naming the field', () => {
    expect(run('tonypi/r1/battery', { percent: 1.7e308 })).toMatchObject({
      reason: 'invalid_payload',
      detail: 'percent: out of range (at most ±1000000000000000)',
    });
    expect(reason(run('tonypi/r1/sensors', { my_extra: -2e15 }))).toBe('invalid_payload');
    expect(reason(run('tonypi/r1/vision', { detection: true, confidence: 1e300 }))).toBe('invalid_payload');
  });

  it('rejects text with a NUL character, which the database cannot store', () => {
    expect(run('tonypi/r1/status', { status: 'online', ip_address: 'a\u0000b' })).toMatchObject({
      reason: 'invalid_payload',
      detail: 'ip_address: must not contain NUL characters',
    });
  });

  it('rejects a servo id that would be an object prototype key', () => {
    expect(reason(run('tonypi/r1/servos', { servos: [{ id: '__proto__', position: 1 }] }))).toBe(
      'invalid_payload',
    );
  });

  it('rejects a legacy sensor_type that is not a field name', () => {
    expect(reason(run('tonypi/sensors/r1', { sensor_type: 'a b;c', value: 1 }))).toBe('invalid_payload');
    expect(reason(run('tonypi/sensors/r1', { sensor_type: 'co2', value: 'lots' }))).toBe('invalid_payload');
  });
});

describe('normalize: the shape limits on every payload', () => {
  const reason = (r: NormalizeResult) => (r.ok ? 'accepted' : r.reason);
  /** `{"k": [[…[]…]]}`: the payload object is level 1, so arrays reach level depth. */
  const nestedUnder = (key: string, depth: number, extra = '') =>
    `{${extra}"${key}":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

  it(`accepts nesting down to ${MAX_PAYLOAD_DEPTH} levels and rejects one more as too_deep, on every channel`, () => {
    const required: Partial<Record<string, string>> = {
      job: '"status":"working",',
      log: '"level":"info","message":"m",',
      scan: '"code":"QR1",',
      'command/response': '"command_id":"c1",',
      status: '"status":"online",',
      servos: '"servos":[],',
    };
    for (const channel of ROBOT_CHANNELS) {
      const topic = `tonypi/r1/${channel}`;
      const extra = required[channel] ?? '';
      // Numeric channels need a number to accept the message at all.
      const withNumber =
        extra === '' && channel !== 'telemetry' ? '"cpu_percent":1,"x_m":1,"y_m":1,"percent":1,' : extra;
      const body = channel === 'telemetry' ? '"system":{"cpu_percent":1},' : withNumber;
      expect(reason(run(topic, nestedUnder('junk', MAX_PAYLOAD_DEPTH, body))), channel).toBe('accepted');
      const deep = run(topic, nestedUnder('junk', MAX_PAYLOAD_DEPTH + 1, body));
      expect(deep, channel).toMatchObject({
        ok: false,
        reason: 'too_deep',
        robot_id: 'r1',
        detail: `junk: objects and arrays nested deeper than ${MAX_PAYLOAD_DEPTH} levels`,
      });
    }
  });

  it('rejects the 5,000-level array that used to crash the live stream, without overflowing its own stack', () => {
    for (const channel of ['job', 'vision']) {
      const payload = `{"status":"working","last_item":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      expect(reason(run(`tonypi/r1/${channel}`, payload))).toBe('too_deep');
    }
    // The deepest a 64 KiB payload can nest: JSON.parse survives it, so must the check.
    const levels = (MAX_PAYLOAD_BYTES - 16) / 2;
    const deepest = `{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`;
    expect(deepest.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(reason(run('tonypi/r1/job', deepest))).toBe('too_deep');
    const objects = `{"a":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    expect(reason(run('tonypi/r1/vision', objects))).toBe('too_deep');
  });

  it('checks the shape right after parsing: before the robot in the payload and the fields', () => {
    const deepAndWrong = `{"robot_id":"r2","status":42,"a":${'['.repeat(40)}${']'.repeat(40)}}`;
    expect(reason(run('tonypi/r1/job', deepAndWrong))).toBe('too_deep');
    expect(reason(run('tonypi/battery', `{"a":${'['.repeat(40)}${']'.repeat(40)}}`))).toBe('too_deep');
    // Parsing comes first: JSON that is broken or not an object keeps its own reason, however deep.
    expect(reason(run('tonypi/r1/job', `{"a":${'['.repeat(40)}`))).toBe('bad_json');
    expect(reason(run('tonypi/r1/job', `${'['.repeat(40)}${']'.repeat(40)}`))).toBe('not_an_object');
  });

  it(`rejects an array of more than ${MAX_PAYLOAD_WIDTH} elements or an object of more keys as too_wide`, () => {
    const history = (n: number) => ({ status: 'working', history: Array.from({ length: n }, () => 0) });
    expect(reason(run('tonypi/r1/job', history(MAX_PAYLOAD_WIDTH)))).toBe('accepted');
    expect(run('tonypi/r1/job', history(MAX_PAYLOAD_WIDTH + 1))).toMatchObject({
      ok: false,
      reason: 'too_wide',
      detail: `history: an array of ${MAX_PAYLOAD_WIDTH + 1} elements (at most ${MAX_PAYLOAD_WIDTH})`,
    });
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0]));
    expect(reason(run('tonypi/r1/vision', { detection: true, extra: keys(MAX_PAYLOAD_WIDTH) }))).toBe(
      'accepted',
    );
    expect(run('tonypi/r1/vision', { detection: true, extra: keys(MAX_PAYLOAD_WIDTH + 1) })).toMatchObject({
      reason: 'too_wide',
      detail: `extra: an object with more than ${MAX_PAYLOAD_WIDTH} keys`,
    });
    // The payload object itself counts too (here on a numeric channel, before its field limit).
    expect(run('tonypi/r1/system', keys(MAX_PAYLOAD_WIDTH + 1))).toMatchObject({
      reason: 'too_wide',
      detail: `an object with more than ${MAX_PAYLOAD_WIDTH} keys`,
    });
  });
});

describe('normalize: the camera URL a robot reports', () => {
  const status = (camera_url: unknown) =>
    run('tonypi/r2/status', { ts: NOW, status: 'online', ip_address: '10.0.0.7', camera_url });

  it('keeps an http or https URL with a host, normalised', () => {
    expect(ok(status('http://10.0.0.7:8081/?action=stream')).status?.camera_url).toBe(
      'http://10.0.0.7:8081/?action=stream',
    );
    expect(ok(status('HTTPS://Cam.Example:443/live')).status?.camera_url).toBe('https://cam.example/live');
    expect(ok(status('http://10.0.0.7:8081')).dropped).toBeUndefined();
  });

  it.each([
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['javascript: behind whitespace', '  javascript:alert(1)'],
    ['javascript: split by a tab', 'java\tscript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['file:', 'file:///etc/passwd'],
    ['vbscript:', 'vbscript:msgbox(1)'],
    ['ftp:', 'ftp://10.0.0.7/stream'],
    ['a relative path', '/?action=stream'],
    ['no scheme', '10.0.0.7:8081/?action=stream'],
    ['no host', 'http:///?action=stream'],
    ['over 255 characters', `http://10.0.0.7/${'a'.repeat(250)}`],
    ['a number', 8081],
    ['an object', { href: 'http://10.0.0.7' }],
  ])('drops %s, counted as bad_url, and keeps the rest of the status', (_what, url) => {
    const m = ok(status(url));
    expect(m.status).toEqual({
      status: 'online',
      ip_address: '10.0.0.7',
      camera_url: undefined,
      reason: undefined,
    });
    expect(m.dropped).toEqual([
      {
        field: 'camera_url',
        reason: 'bad_url',
        detail: expect.stringContaining('camera_url: not an http(s) URL'),
      },
    ]);
  });

  it('takes a null camera URL as absent', () => {
    const m = ok(status(null));
    expect(m.status?.camera_url).toBeUndefined();
    expect(m.dropped).toBeUndefined();
  });

  it('drops a bad URL on the legacy status topic too', () => {
    const m = ok(
      run('tonypi/status/r3', {
        robot_id: 'r3',
        status: 'online',
        camera_url: 'javascript:alert(1)',
        system_info: { cpu_percent: 12 },
      }),
    );
    expect(m.status?.camera_url).toBeUndefined();
    expect(m.dropped?.map((d) => d.reason)).toEqual(['bad_url']);
    expect(m.points[0]?.fields).toEqual({ cpu_percent: 12 });
  });
});
