import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Fleet } from '@tonypi/agent';
import type { DecodedMessage } from '@tonypi/contracts';
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

/** A robot the server knows: it said it is online. */
async function knownRobot(id: string): Promise<MqttClient> {
  const c = await connectMqtt(t.mqttUrl, { clientId: id });
  clients.push(c);
  await c.publishAsync(`tonypi/${id}/status`, JSON.stringify({ ts: Date.now(), status: 'online' }), {
    qos: 1,
  });
  await waitFor(async () => (await t.api(`/api/v1/robots/${id}`)).status === 200, 5000, `${id} known`);
  return c;
}

const put = (id: string, body: unknown, headers: Record<string, string> = {}) =>
  t.api(`/api/v1/robots/${id}/config`, { method: 'PUT', json: body, headers });

describe('robot configuration', () => {
  it('starts at version 0 with an empty config', async () => {
    await knownRobot('cfg_bot_0');
    const res = await t.api('/api/v1/robots/cfg_bot_0/config');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"0"');
    expect(await res.json()).toEqual({
      robot_id: 'cfg_bot_0',
      version: 0,
      config: {},
      changed_by: null,
      changed_at: null,
    });
  });

  it('saves a new version, publishes it retained on tonypi/{id}/config and audits the change', async () => {
    const robot = await knownRobot('cfg_bot_1');
    const config = {
      publish_rates_hz: { telemetry: 2, battery: 0.1 },
      thresholds: { servo_temperature_c_max: 70, battery_percent_min: 15 },
      log_level: 'warning',
    };
    const res = await put('cfg_bot_1', { config, version: 0 });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(await res.json()).toMatchObject({
      robot_id: 'cfg_bot_1',
      version: 1,
      config,
      changed_by: 'admin',
    });

    // Retained: the robot gets it when it subscribes, after the fact.
    const received = new Promise<{ retain: boolean; body: Record<string, unknown> }>((resolve) => {
      robot.on('message', (topic, payload, packet) => {
        if (topic === 'tonypi/cfg_bot_1/config')
          resolve({ retain: packet.retain, body: JSON.parse(payload.toString()) });
      });
    });
    await robot.subscribeAsync('tonypi/cfg_bot_1/config', { qos: 1 });
    const { retain, body } = await received;
    expect(retain).toBe(true);
    expect(body).toMatchObject({ version: 1, ...config });
    expect(typeof body.ts).toBe('number');

    const audit = await (await t.api('/api/v1/audit?action=robot.config.update')).json();
    expect(audit.items[0]).toMatchObject({
      action: 'robot.config.update',
      target: { type: 'robot', id: 'cfg_bot_1' },
      outcome: 'success',
    });
  });

  it('refuses a change based on a stale version with 409 (body version or If-Match), keeps history', async () => {
    await knownRobot('cfg_bot_2');
    expect((await put('cfg_bot_2', { config: { log_level: 'info' } })).status).toBe(200);
    const stale = await put('cfg_bot_2', { config: { log_level: 'error' }, version: 0 });
    expect(stale.status).toBe(409);
    expect((await stale.json()).error).toMatchObject({ code: 'conflict', details: { current_version: 1 } });
    const staleHeader = await put('cfg_bot_2', { config: { log_level: 'error' } }, { 'if-match': '"0"' });
    expect(staleHeader.status).toBe(409);
    const fresh = await put('cfg_bot_2', { config: { log_level: 'debug' } }, { 'if-match': '"1"' });
    expect(fresh.status).toBe(200);
    expect((await fresh.json()).version).toBe(2);

    const history = await (await t.api('/api/v1/robots/cfg_bot_2/config/history')).json();
    expect(history.items.map((v: { version: number; config: unknown }) => [v.version, v.config])).toEqual([
      [2, { log_level: 'debug' }],
      [1, { log_level: 'info' }],
    ]);
    const current = await (await t.api('/api/v1/robots/cfg_bot_2/config')).json();
    expect(current).toMatchObject({ version: 2, config: { log_level: 'debug' } });
  });

  it('refuses a bad config with 400 naming each offending field, and stores nothing', async () => {
    await knownRobot('cfg_bot_3');
    const res = await put('cfg_bot_3', {
      config: {
        publish_rates_hz: { telemetry: 500, sonar: 1 },
        thresholds: { battery_percent_min: -5 },
        log_level: 'loud',
        colour: 'blue',
      },
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('validation_error');
    const fields = body.error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'body.config.publish_rates_hz.telemetry',
        'body.config.thresholds.battery_percent_min',
        'body.config.log_level',
      ]),
    );
    // Unknown keys are refused, named in the message.
    expect(body.error.message).toContain('sonar');
    expect(body.error.message).toContain('colour');
    expect((await put('cfg_bot_3', { config: {} }, { 'if-match': 'yesterday' })).status).toBe(400);
    expect((await (await t.api('/api/v1/robots/cfg_bot_3/config')).json()).version).toBe(0);
  });

  it('answers 404 robot_not_found for an unknown robot', async () => {
    for (const res of [
      await t.api('/api/v1/robots/nobody_cfg/config'),
      await t.api('/api/v1/robots/nobody_cfg/config/history'),
      await put('nobody_cfg', { config: {} }),
    ]) {
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe('robot_not_found');
    }
  });
});

describe('robot configuration across a restart', () => {
  it('is retained again after the server restarts (the embedded broker keeps retained messages in memory)', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-cfg-restart-'));
    try {
      let s = await startTestServer({}, { keepDataDir: dataDir });
      const c = await connectMqtt(s.mqttUrl, { clientId: 'cfg_restart' });
      await c.publishAsync(
        'tonypi/cfg_restart/status',
        JSON.stringify({ ts: Date.now(), status: 'online' }),
        { qos: 1 },
      );
      await waitFor(
        async () => (await s.api('/api/v1/robots/cfg_restart')).status === 200,
        5000,
        'robot known',
      );
      await c.endAsync(true);
      const res = await s.api('/api/v1/robots/cfg_restart/config', {
        method: 'PUT',
        json: { config: { publish_rates_hz: { telemetry: 5 } } },
      });
      expect(res.status).toBe(200);
      await s.close();

      s = await startTestServer({}, { keepDataDir: dataDir });
      try {
        const robot = await connectMqtt(s.mqttUrl, { clientId: 'cfg_restart' });
        const received = new Promise<Record<string, unknown>>((resolve) =>
          robot.on('message', (_topic, payload) => resolve(JSON.parse(payload.toString()))),
        );
        await robot.subscribeAsync('tonypi/cfg_restart/config', { qos: 1 });
        expect(await received).toMatchObject({ version: 1, publish_rates_hz: { telemetry: 5 } });
        await robot.endAsync(true);
      } finally {
        await s.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a simulated robot and its config', () => {
  it('publishes telemetry at the rate its config sets, once it has applied it', async () => {
    const id = 'cfg_sim_1';
    const stamps: number[] = [];
    const off = t.server.service('events').subscribe('robot.message', (m: DecodedMessage) => {
      if (m.robot_id === id && m.channel === 'telemetry') stamps.push(m.ts);
    });
    const fleet = await Fleet.start({
      brokerUrl: t.mqttUrl,
      robots: 1,
      robotIds: [id],
      rateHz: 50,
      faults: false,
      autonomy: false,
      seed: 7,
    });
    try {
      await waitFor(() => stamps.length >= 10, 10_000, 'telemetry at the fleet rate');
      // At 50 Hz some samples lie closer than the half second the config will ask for.
      const gaps = (s: number[]) => s.slice(1).map((ts, i) => ts - s[i]!);
      expect(Math.min(...gaps(stamps))).toBeLessThan(500);

      const res = await put(id, { config: { publish_rates_hz: { telemetry: 2 } } });
      expect(res.status).toBe(200);
      const { version } = await res.json();
      // The robot says in its log that it applied it.
      await waitFor(
        async () => {
          await t.server.service('logs').writer.flush();
          const logs = await (await t.api(`/api/v1/logs?robot_id=${id}&category=robot&q=applied`)).json();
          return logs.items.some((e: { message: string }) =>
            e.message.includes(`config version ${version} applied`),
          );
        },
        10_000,
        'config applied',
      );
      stamps.length = 0;
      await waitFor(() => stamps.length >= 4, 10_000, 'telemetry at the configured rate');
      // Every sample at least one interval (500 ms) after the one before.
      expect(Math.min(...gaps(stamps))).toBeGreaterThanOrEqual(500);
      expect(fleet.robots[0]?.appliedConfig).toEqual({ version, telemetryIntervalMs: 500 });
    } finally {
      off();
      await fleet.stop();
    }
  });
});
