import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
const clients: MqttClient[] = [];
beforeAll(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
});
afterAll(async () => {
  await t?.close();
});

async function robot(id: string, opts: Parameters<typeof connectMqtt>[1] = {}) {
  const c = await connectMqtt(t.mqttUrl, { clientId: id, ...opts });
  clients.push(c);
  return c;
}

const health = async () =>
  (await (await t.api('/api/v1/health', { anonymous: true })).json()) as {
    ingest: {
      rejected: Record<string, number>;
      messages_accepted: number;
      ignored_outbound: number;
      points_stored: number;
    };
  };

describe('a robot speaking the canonical protocol', () => {
  it('appears on first contact, online, with its latest values and stored history', async () => {
    const c = await robot('tonypi_01');
    const now = Date.now();
    await c.publishAsync(
      'tonypi/tonypi_01/status',
      JSON.stringify({ ts: now, status: 'online', ip_address: '127.0.0.1' }),
      { qos: 1, retain: true },
    );
    for (let i = 0; i < 20; i++) {
      await c.publishAsync(
        'tonypi/tonypi_01/telemetry',
        JSON.stringify({
          ts: now - (20 - i) * 100,
          system: { cpu_percent: 10 + i, memory_percent: 40 },
          battery: { percent: 90 - i, voltage_v: 12 },
          servos: [{ id: 1, position: 500 + i, temperature_c: 40 + i / 10 }],
          location: { x_m: i / 10, y_m: 1 },
        }),
      );
    }
    const listed = await waitFor(
      async () => {
        const body = await (await t.api('/api/v1/robots')).json();
        return body.items[0]?.latest.measurements.system?.fields.cpu_percent === 29 ? body : undefined;
      },
      5000,
      'robot listed with latest values',
    );
    expect(listed.total).toBe(1);
    expect(listed.items[0]).toMatchObject({
      robot_id: 'tonypi_01',
      status: 'online',
      protocol: 'canonical',
      ip_address: '127.0.0.1',
      location: { x: 1.9, y: 1 },
      latest: { servos: { '1': { fields: { position: 519 } } } },
    });

    const latest = await (await t.api('/api/v1/robots/tonypi_01/latest')).json();
    expect(latest.measurements.battery.fields).toEqual({ percent: 71, voltage_v: 12 });

    const history = await waitFor(
      async () => {
        const res = await t.api(
          `/api/v1/robots/tonypi_01/telemetry?measurement=system&field=cpu_percent&from=${now - 5000}&to=${now + 1000}&points=100`,
        );
        const body = await res.json();
        const count = body.series?.[0]?.points.reduce((n: number, p: { count: number }) => n + p.count, 0);
        return count === 20 ? body : undefined;
      },
      5000,
      'history of 20 points',
    );
    expect(history.resolution).toBe('raw');
    const buckets = history.series[0].points;
    expect(Math.max(...buckets.map((b: { max: number }) => b.max))).toBe(29);
    expect(Math.min(...buckets.map((b: { min: number }) => b.min))).toBe(10);

    const servo = await (
      await t.api(
        `/api/v1/robots/tonypi_01/telemetry?measurement=servos&field=temperature_c&servo_id=1&from=${now - 5000}&to=${now + 1000}`,
      )
    ).json();
    expect(servo.series).toHaveLength(1);
    expect(servo.series[0].tags).toEqual({ servo_id: '1' });

    const fields = await (await t.api('/api/v1/robots/tonypi_01/telemetry/fields')).json();
    expect(fields.measurements.system).toEqual(expect.arrayContaining(['cpu_percent', 'memory_percent']));
  });

  // The status change is pushed the moment the broker publishes the Last Will; no timing is asserted here.
  it('goes offline, live and in the API, when its connection drops (Last Will)', async () => {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
    live.send({ type: 'subscribe', robots: ['tonypi_lwt'], channels: ['status'] });
    await live.next('subscribed');
    const c = await robot('tonypi_lwt', {
      will: {
        topic: 'tonypi/tonypi_lwt/status',
        payload: Buffer.from(JSON.stringify({ status: 'offline' })),
        qos: 1,
        retain: true,
      },
    });
    await c.publishAsync('tonypi/tonypi_lwt/status', JSON.stringify({ status: 'online' }), { qos: 1 });
    await live.next('status', (f) => f.status === 'online');
    c.stream.destroy();
    await live.next('status', (f) => f.status === 'offline', 5000);
    const body = await (await t.api('/api/v1/robots/tonypi_lwt')).json();
    expect(body.status).toBe('offline');
    live.close();
  });

  it('rejects telemetry of a robot that is not registered when auto-registration is off', async () => {
    const strict = await startTestServer({ AUTO_REGISTER_ROBOTS: 'false' });
    try {
      const c = await connectMqtt(strict.mqttUrl, { clientId: 'stranger' });
      await c.publishAsync('tonypi/stranger/system', JSON.stringify({ cpu_percent: 5 }), { qos: 1 });
      await c.endAsync();
      const h = await waitFor(async () => {
        const body = await (await strict.api('/api/v1/health', { anonymous: true })).json();
        return body.ingest.rejected.unknown_robot === 1 ? body : undefined;
      });
      expect(h.ingest.messages_accepted).toBe(0);
      expect((await (await strict.api('/api/v1/robots')).json()).total).toBe(0);
    } finally {
      await strict.close();
    }
  });
});

describe('a robot running the original TonyPi client (legacy protocol)', () => {
  it('shows up and works without a change on the robot', async () => {
    // The original client's MQTT client id is its robot id.
    const c = await robot('tonypi_legacy');
    const stamp = new Date().toISOString().slice(0, 19); // local-looking, no zone
    await c.publishAsync(
      'tonypi/status/tonypi_legacy',
      JSON.stringify({
        robot_id: 'tonypi_legacy',
        status: 'online',
        system_info: { cpu_percent: 12 },
        camera_url: 'http://192.0.2.9:8081/?action=stream',
        timestamp: stamp,
      }),
    );
    for (const [sensor_type, value] of [
      ['accelerometer_x', 0.5],
      ['ultrasonic_distance', 42],
      ['cpu_temperature', 51],
    ] as const) {
      await c.publishAsync(
        'tonypi/sensors/tonypi_legacy',
        JSON.stringify({ robot_id: 'tonypi_legacy', sensor_type, value, unit: '', timestamp: stamp }),
      );
    }
    await c.publishAsync(
      'tonypi/battery',
      JSON.stringify({
        robot_id: 'tonypi_legacy',
        percentage: 66,
        voltage: 11.4,
        charging: false,
        timestamp: stamp,
      }),
    );
    await c.publishAsync(
      'tonypi/servos/tonypi_legacy',
      JSON.stringify({
        robot_id: 'tonypi_legacy',
        servos: {
          servo_1: {
            id: 1,
            name: 'Left Hip',
            position: 500,
            temperature: 44,
            voltage: 7.4,
            torque_enabled: true,
            alert_level: 'normal',
            target_position: 500,
          },
        },
        servo_count: 1,
        timestamp: stamp,
      }),
    );
    const body = await waitFor(
      async () => {
        const res = await t.api('/api/v1/robots/tonypi_legacy');
        const b = await res.json();
        return b.latest?.measurements.battery ? b : undefined;
      },
      5000,
      'legacy robot with battery',
    );
    expect(body).toMatchObject({
      protocol: 'legacy',
      status: 'online',
      camera_url: 'http://192.0.2.9:8081/?action=stream',
      latest: {
        measurements: {
          sensors: { fields: { accel_x_ms2: 0.5, ultrasonic_distance_cm: 42 } },
          system: { fields: { cpu_percent: 12, cpu_temperature_c: 51 } },
          battery: { fields: { percent: 66, voltage_v: 11.4, charging: 0 } },
        },
        servos: { '1': { fields: { position: 500, temperature_c: 44 } } },
      },
    });
  });
});

describe('bad input over MQTT', () => {
  it('is counted per reason, and nothing else is lost', async () => {
    const before = (await health()).ingest;
    const c = await robot('vandal');
    const bad: Array<[string, string]> = [
      ['tonypi/vandal/system', '{"cpu_percent": '],
      ['tonypi/vandal/system', '[1,2,3]'],
      ['tonypi/vandal/system', JSON.stringify({ cpu_percent: 'high' })],
      ['tonypi/vandal/system', JSON.stringify({ robot_id: 'tonypi_01', cpu_percent: 1 })],
      ['tonypi/vandal/teleport', JSON.stringify({ x: 1 })],
      ['tonypi/bad!id/system', JSON.stringify({ cpu_percent: 1 })],
      ['tonypi/vandal/system', JSON.stringify({ pad: 'x'.repeat(70 * 1024) })],
      ['elsewhere/vandal/system', JSON.stringify({ cpu_percent: 1 })],
    ];
    for (const [topic, payload] of bad) await c.publishAsync(topic, payload, { qos: 1 });
    await c.publishAsync('tonypi/vandal/system', JSON.stringify({ cpu_percent: 77 }), { qos: 1 });

    const after = await waitFor(async () => {
      const h = (await health()).ingest;
      return h.messages_accepted > before.messages_accepted ? h : undefined;
    });
    const delta = (reason: string) => (after.rejected[reason] ?? 0) - (before.rejected[reason] ?? 0);
    expect({
      bad_json: delta('bad_json'),
      not_an_object: delta('not_an_object'),
      invalid_payload: delta('invalid_payload'),
      robot_id_mismatch: delta('robot_id_mismatch'),
      unknown_channel: delta('unknown_channel'),
      bad_robot_id: delta('bad_robot_id'),
      oversize: delta('oversize'),
    }).toEqual({
      bad_json: 1,
      not_an_object: 1,
      invalid_payload: 1,
      robot_id_mismatch: 1,
      unknown_channel: 1,
      bad_robot_id: 1,
      oversize: 1,
    });
    // `elsewhere/…` is not subscribed to at all: it counts nowhere.
    const vandal = await (await t.api('/api/v1/robots/vandal/latest')).json();
    expect(vandal.measurements.system.fields).toEqual({ cpu_percent: 77 });
    expect((await t.api('/api/v1/robots/tonypi_01')).status).toBe(200);
  });
});

describe('GET /api/v1/robots/:robot_id/telemetry', () => {
  it('rejects a hostile field name, a reversed window and an unknown measurement, each with its reason', async () => {
    const c = await robot('tonypi_q');
    await c.publishAsync('tonypi/tonypi_q/system', JSON.stringify({ cpu_percent: 1 }), { qos: 1 });
    await waitFor(async () => (await t.api('/api/v1/robots/tonypi_q')).status === 200);
    const hostile = await t.api(
      `/api/v1/robots/tonypi_q/telemetry?measurement=system&field=${encodeURIComponent('cpu_percent; DROP TABLE x')}`,
    );
    expect(hostile.status).toBe(400);
    expect((await hostile.json()).error.message).toContain('Not a field name');
    const reversed = await t.api('/api/v1/robots/tonypi_q/telemetry?measurement=system&from=1h&to=2h');
    expect((await reversed.json()).error.message).toBe(
      'Invalid request: querystring.from: must be before `to`; querystring.to: must be before `to`',
    );
    const unknown = await t.api('/api/v1/robots/tonypi_q/telemetry?measurement=weather');
    expect((await unknown.json()).error.details.fields[0].field).toBe('querystring.measurement');
    const badTime = await t.api('/api/v1/robots/tonypi_q/telemetry?measurement=system&from=last-tuesday');
    expect((await badTime.json()).error.message).toContain('not a date-time');
    expect((await t.api('/api/v1/robots/nobody/telemetry?measurement=system')).status).toBe(404);
  });
});

describe('the embedded broker', () => {
  it('takes robots over MQTT-over-WebSocket too', async () => {
    const wsUrl = t.server.mqttWsUrl;
    expect(wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const overWs = await connectMqtt(wsUrl!, { clientId: 'tonypi_ws' });
    clients.push(overWs);
    await overWs.publishAsync('tonypi/tonypi_ws/battery', JSON.stringify({ percent: 42 }), { qos: 1 });
    const latest = await waitFor(async () => {
      const res = await t.api('/api/v1/robots/tonypi_ws/latest');
      return res.status === 200 ? await res.json() : undefined;
    });
    expect(latest.measurements.battery.fields).toEqual({ percent: 42 });
  });

  it('disconnects a client that publishes a command, and no robot receives it', async () => {
    const victim = await robot('victim');
    const received: string[] = [];
    victim.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    await victim.subscribeAsync(
      ['tonypi/victim/command', 'tonypi/system/broadcast', 'tonypi/commands/victim'],
      { qos: 1 },
    );
    const attacker = await robot('attacker');
    const closed = new Promise<void>((resolve) => attacker.once('close', () => resolve()));
    attacker.publish(
      'tonypi/victim/command',
      JSON.stringify({ command_id: 'x', type: 'shutdown', params: {}, ts: Date.now() }),
    );
    await closed;
    const again = await robot('attacker2');
    const closedAgain = new Promise<void>((resolve) => again.once('close', () => resolve()));
    again.publish('tonypi/system/broadcast', JSON.stringify({ type: 'emergency_stop', ts: Date.now() }));
    await closedAgain;
    // A marker: a command the server itself sends the victim reaches it after anything the broker forwarded
    // before (a robot may subscribe to nothing else it could publish itself).
    const marker = JSON.stringify({ command_id: 'marker', type: 'stop', params: {}, ts: Date.now() });
    await t.server.service('bus').publish('tonypi/victim/command', marker, { qos: 1 });
    await waitFor(() => received.some((m) => m.includes('"marker"')), 5000, 'the marker');
    expect(received).toEqual([`tonypi/victim/command ${marker}`]);
  });

  it('refuses a client whose credentials match no robot', async () => {
    const c = mqtt.connect(t.mqttUrl, {
      clientId: 'robot',
      username: 'robot',
      password: 'guess',
      reconnectPeriod: 0,
    });
    const err = await new Promise<Error>((resolve) => c.once('error', resolve));
    expect(err.message).toMatch(/Bad username or password/);
    await c.endAsync(true);
  });
});

describe('ALLOW_ANONYMOUS_ROBOTS=false', () => {
  it('refuses robots that connect without credentials', async () => {
    const strict = await startTestServer({ ALLOW_ANONYMOUS_ROBOTS: 'false' });
    try {
      const c = mqtt.connect(strict.mqttUrl, { clientId: 'anon', reconnectPeriod: 0 });
      const err = await new Promise<Error>((resolve) => c.once('error', resolve));
      expect(err.message).toMatch(/Bad username or password/);
      await c.endAsync(true);
      const h = await (await strict.api('/api/v1/health', { anonymous: true })).json();
      expect(h.warnings).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});
