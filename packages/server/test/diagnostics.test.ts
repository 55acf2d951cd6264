import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, startTestServer, type TestServer, waitFor } from './helpers/test-server';

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

async function robot(id: string): Promise<MqttClient> {
  const c = await connectMqtt(t.mqttUrl, { clientId: id });
  clients.push(c);
  return c;
}

async function diagnostics(id: string) {
  const res = await t.api(`/api/v1/robots/${id}/diagnostics`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

const telemetry = (ts: number) =>
  JSON.stringify({ ts, system: { cpu_percent: 12 }, battery: { percent: 80 } });

describe('GET /api/v1/robots/{id}/diagnostics', () => {
  it('shows the channels a robot sends, their rates and last seen, its protocol and clock offset', async () => {
    const c = await robot('diag_bot_1');
    await c.publishAsync('tonypi/diag_bot_1/status', JSON.stringify({ ts: Date.now(), status: 'online' }), {
      qos: 1,
    });
    // Its clock 5 s behind the server's, then one message 10 minutes off (beyond CLOCK_SKEW_MAX_S).
    for (let i = 0; i < 30; i++)
      await c.publishAsync('tonypi/diag_bot_1/telemetry', telemetry(Date.now() - 5000));
    await c.publishAsync('tonypi/diag_bot_1/telemetry', telemetry(Date.now() - 600_000), { qos: 1 });
    const d = await waitFor(
      async () => {
        const body = await diagnostics('diag_bot_1');
        const tel = body.channels.find((ch: { channel: string }) => ch.channel === 'telemetry');
        return tel?.last_minute.messages === 31 ? body : undefined;
      },
      5000,
      'all telemetry counted',
    );
    expect(d.protocol).toBe('canonical');
    expect(Date.parse(d.last_seen)).toBeGreaterThan(Date.now() - 60_000);
    const tel = d.channels.find((ch: { channel: string }) => ch.channel === 'telemetry');
    expect(tel).toMatchObject({ protocol: 'canonical', last_hour: { messages: 31 } });
    expect(tel.last_minute.per_s).toBeGreaterThan(0);
    expect(d.channels.map((ch: { channel: string }) => ch.channel).sort()).toEqual(['status', 'telemetry']);
    // 30 telemetry messages 5 s behind, the status on time; the skewed one counted apart.
    expect(d.clock.samples).toBe(31);
    expect(d.clock.skew_corrected).toBe(1);
    expect(d.clock.offset_ms_max).toBeGreaterThanOrEqual(5000);
    expect(d.clock.offset_ms_min).toBeLessThan(5000);
    expect(d.rejected).toEqual({ last_hour: 0, total: 0, by_reason: {}, recent: [] });
  });

  it("names the protocol of a legacy robot's messages", async () => {
    const c = await robot('diag_bot_legacy');
    await c.publishAsync(
      'tonypi/sensors/diag_bot_legacy',
      JSON.stringify({ robot_id: 'diag_bot_legacy', sensor_type: 'light_level', value: 40, unit: '%' }),
      { qos: 1 },
    );
    const d = await waitFor(
      async () => {
        const body = await diagnostics('diag_bot_legacy');
        return body.channels.length > 0 ? body : undefined;
      },
      5000,
      'legacy message counted',
    );
    expect(d.protocol).toBe('legacy');
    expect(d.channels[0]).toMatchObject({ channel: 'sensors', protocol: 'legacy' });
  });

  it('lists the messages refused for a robot, newest first, with reason, detail and a safe excerpt', async () => {
    const c = await robot('diag_bot_2');
    await c.publishAsync('tonypi/diag_bot_2/status', JSON.stringify({ ts: Date.now(), status: 'online' }), {
      qos: 1,
    });
    await waitFor(async () => (await diagnostics('diag_bot_2')).last_seen !== null, 5000, 'robot known');
    await c.publishAsync('tonypi/diag_bot_2/telemetry', '{"ts": 1, "system": {"cpu_percent": 5', { qos: 1 });
    await c.publishAsync('tonypi/diag_bot_2/telemetry', '[1, 2, 3]', { qos: 1 });
    await c.publishAsync(
      'tonypi/diag_bot_2/telemetry',
      `{"ts":"not a time\u0007\u001b[2J", "x": ${'9'.repeat(400)}`,
      {
        qos: 1,
      },
    );
    await c.publishAsync(
      'tonypi/diag_bot_2/log',
      JSON.stringify({ ts: Date.now(), robot_id: 'someone_else', level: 'info', message: 'hi' }),
      { qos: 1 },
    );
    const d = await waitFor(
      async () => {
        const body = await diagnostics('diag_bot_2');
        return body.rejected.total === 4 ? body : undefined;
      },
      5000,
      'four rejections',
    );
    expect(d.rejected.by_reason).toEqual({ bad_json: 2, not_an_object: 1, robot_id_mismatch: 1 });
    expect(d.rejected.last_hour).toBe(4);
    expect(d.rejected.recent.map((r: { reason: string }) => r.reason)).toEqual([
      'robot_id_mismatch',
      'bad_json',
      'not_an_object',
      'bad_json',
    ]);
    const [mismatch, hostile, array, truncated] = d.rejected.recent;
    expect(mismatch).toMatchObject({ topic: 'tonypi/diag_bot_2/log' });
    expect(mismatch.detail).toContain('someone_else');
    expect(array).toMatchObject({ payload_excerpt: '[1, 2, 3]', payload_bytes: 9 });
    expect(truncated.payload_excerpt).toBe('{"ts": 1, "system": {"cpu_percent": 5');
    // Control characters replaced, the excerpt cut at 200 characters; the size is the payload's.
    expect(hostile.payload_excerpt).toHaveLength(200);
    expect(hostile.payload_excerpt.startsWith('{"ts":"not a time\uFFFD\uFFFD[2J"')).toBe(true);
    expect(hostile.payload_bytes).toBeGreaterThan(400);
  });

  it("records a robot's ACL denials: a publish on another robot's topic, a refused subscription", async () => {
    const c = await robot('diag_bot_3');
    await c.publishAsync('tonypi/diag_bot_3/status', JSON.stringify({ ts: Date.now(), status: 'online' }), {
      qos: 1,
    });
    await c.publishAsync('tonypi/diag_victim/telemetry', telemetry(Date.now()), { qos: 1 });
    // SUBACK failure (0x80): mqtt.js rejects the subscription.
    await expect(c.subscribeAsync('tonypi/diag_victim/command', { qos: 1 })).rejects.toThrow(
      /Subscribe error/,
    );
    const d = await waitFor(
      async () => {
        const body = await diagnostics('diag_bot_3');
        return body.acl_denials.total === 2 ? body : undefined;
      },
      5000,
      'two ACL denials',
    );
    expect(d.acl_denials.recent).toEqual([
      expect.objectContaining({
        kind: 'subscribe',
        reason: 'subscribe_denied',
        topic: 'tonypi/diag_victim/command',
      }),
      expect.objectContaining({
        kind: 'publish',
        reason: 'acl_denied',
        topic: 'tonypi/diag_victim/telemetry',
      }),
    ]);
    // The publisher's own messages were not refused.
    expect(d.rejected.total).toBe(0);
  });

  it('answers 404 robot_not_found for an unknown robot', async () => {
    const res = await t.api('/api/v1/robots/nobody_here/diagnostics');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('robot_not_found');
  });
});
