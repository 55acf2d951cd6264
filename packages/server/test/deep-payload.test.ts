import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * Issue 6, item 1: a `job` or `vision` payload holding an array nested ~5,000 levels deep (10 KB, far
 * below the 64 KiB payload limit) used to reach the live hub, whose JSON.stringify threw a RangeError
 * on the broker's delivery path and stopped the process — with any live socket open, even one that
 * had not authenticated yet.
 */

let t: TestServer;
let robot: MqttClient;
beforeAll(async () => {
  t = await startTestServer();
  robot = await connectMqtt(t.mqttUrl, { clientId: 'deep_bot' });
});
afterAll(async () => {
  await robot?.endAsync(true);
  await t?.close();
});

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const health = async () =>
  (await (await t.api('/api/v1/health', { anonymous: true })).json()) as {
    ingest: { rejected: Record<string, number>; messages_accepted: number };
  };

describe('a payload nested thousands of levels deep', () => {
  it.each([
    ['job', (deep: string) => `{"status":"working","last_item":${deep}}`],
    ['vision', (deep: string) => `{"detection":true,"label":"box","extra":${deep}}`],
  ])(
    'on %s is rejected as too_deep while a live socket waits to authenticate, and the server carries on',
    async (channel, body) => {
      // Not authenticated, not subscribed: inside its auth window.
      const waiting = await LiveClient.connect(t.url);
      await waiting.next('hello');
      const watcher = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
      watcher.send({ type: 'subscribe', robots: ['deep_bot'], channels: ['job', 'vision'] });
      await watcher.next('subscribed');

      const before = (await health()).ingest.rejected.too_deep ?? 0;
      const payload = body(nested(5000));
      expect(payload.length).toBeGreaterThanOrEqual(10_000);
      await robot.publishAsync(`tonypi/deep_bot/${channel}`, payload, { qos: 1 });
      await waitFor(
        async () => (await health()).ingest.rejected.too_deep === before + 1,
        5000,
        'too_deep counted',
      );

      // A normal message of the same channel still flows to the live stream.
      const normal =
        channel === 'job'
          ? { status: 'working', task_name: `after-${channel}` }
          : { detection: true, label: `after-${channel}` };
      await robot.publishAsync(`tonypi/deep_bot/${channel}`, JSON.stringify(normal), { qos: 1 });
      const frame = await watcher.next(channel, (f) => JSON.stringify(f).includes(`after-${channel}`));
      expect(frame.robot_id).toBe('deep_bot');
      expect(watcher.frames.filter((f) => f.type === channel)).toHaveLength(1);
      waiting.close();
      watcher.close();
    },
  );
});
