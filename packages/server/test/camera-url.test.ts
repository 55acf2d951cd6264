import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

/**
 * Issue 6, item 10: a robot's `camera_url` is shown to every user as a link or an image source, so
 * a `javascript:` (or any non-http) URL was a script in the dashboard. Only http(s) URLs with a host
 * are kept; an invalid one is dropped from the status (counted as `bad_url`), the rest of the status
 * goes through, and a row stored before this check is never served.
 */

let dataDir: string;
let first: TestServer | undefined;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-camera-'));
  first = await startTestServer({}, { keepDataDir: dataDir });
});
afterAll(async () => {
  await first?.close();
  first = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const robotOf = async (t: TestServer, id: string) =>
  (await (await t.api(`/api/v1/robots/${id}`)).json()) as {
    status: string;
    ip_address: string | null;
    camera_url: string | null;
  };

describe('a camera URL a robot reports', () => {
  it('is dropped when it is not http(s), counted, and the rest of the status goes through; a stored one is never served', async () => {
    if (!first) throw new Error('server not started');
    const live = await LiveClient.connect(first.url, { authorization: `Bearer ${first.token}` });
    live.send({ type: 'subscribe', robots: ['*'], channels: ['status'] });
    await live.next('subscribed');
    const c = await connectMqtt(first.mqttUrl, { clientId: 'cam_bad' });
    await c.publishAsync(
      'tonypi/cam_bad/status',
      JSON.stringify({
        status: 'online',
        ip_address: '192.0.2.7',
        camera_url: 'javascript:alert(document.cookie)',
      }),
      { qos: 1 },
    );
    await c.endAsync();
    // The legacy layout, and a URL that is fine: kept (published by that robot's own client id).
    const g = await connectMqtt(first.mqttUrl, { clientId: 'cam_good' });
    await g.publishAsync(
      'tonypi/status/cam_good',
      JSON.stringify({
        robot_id: 'cam_good',
        status: 'online',
        camera_url: 'http://192.0.2.8:8081/?action=stream',
      }),
      { qos: 1 },
    );
    // A bad URL later does not take the good one away.
    await g.publishAsync(
      'tonypi/status/cam_good',
      JSON.stringify({ robot_id: 'cam_good', status: 'online', camera_url: 'vbscript:msgbox(1)' }),
      { qos: 1 },
    );
    await g.endAsync();

    const frame = await live.next('status', (f) => f.robot_id === 'cam_bad');
    expect(frame).toMatchObject({ status: 'online', ip_address: '192.0.2.7' });
    expect(frame.camera_url).toBeUndefined();
    live.close();
    expect(await robotOf(first, 'cam_bad')).toMatchObject({
      status: 'online',
      ip_address: '192.0.2.7',
      camera_url: null,
    });
    expect((await robotOf(first, 'cam_good')).camera_url).toBe('http://192.0.2.8:8081/?action=stream');

    const health = await (await first.api('/api/v1/health', { anonymous: true })).json();
    expect(health.ingest.fields_dropped).toEqual({ bad_url: 2 });
    expect(health.ingest.messages_accepted).toBe(3);
    expect(health.ingest.messages_rejected).toBe(0);
    const metrics = await (await first.api('/metrics', { anonymous: true })).text();
    expect(metrics).toContain('tonypi_ingest_fields_dropped_total{reason="bad_url"} 2');

    // A row written before URLs were checked (as an older server stored it).
    await first.server.registry.flush();
    await first.server.db.query('UPDATE robots SET camera_url = $1 WHERE robot_id = $2', [
      'javascript:alert(1)',
      'cam_bad',
    ]);
    expect((await robotOf(first, 'cam_bad')).camera_url).toBeNull();
    const list = await (await first.api('/api/v1/robots')).json();
    expect(list.items.map((r: { camera_url: string | null }) => r.camera_url).sort()).toEqual([
      'http://192.0.2.8:8081/?action=stream',
      null,
    ]);
  });

  // After a restart the registry loads the row the test above wrote: the live stream must not carry its URL.
  describe('after a restart on the same data', () => {
    let second: TestServer;
    beforeAll(async () => {
      await first?.close();
      first = undefined;
      second = await startTestServer({}, { keepDataDir: dataDir });
    });
    afterAll(async () => {
      await second?.close();
    });

    it('never sends a stored non-http(s) URL in a status event', async () => {
      const live = await LiveClient.connect(second.url, { authorization: `Bearer ${second.token}` });
      live.send({ type: 'subscribe', robots: ['cam_bad'], channels: ['status'] });
      await live.next('subscribed');
      const c = await connectMqtt(second.mqttUrl, { clientId: 'cam_bad' });
      await c.publishAsync('tonypi/cam_bad/status', JSON.stringify({ status: 'online' }), { qos: 1 });
      await c.endAsync();
      const frame = await live.next('status', (f) => f.status === 'online');
      expect(frame).toMatchObject({ robot_id: 'cam_bad', ip_address: '192.0.2.7' });
      expect(frame.camera_url).toBeUndefined();
      live.close();
      expect((await robotOf(second, 'cam_bad')).camera_url).toBeNull();
      await waitFor(async () => (await robotOf(second, 'cam_bad')).status === 'online');
    });
  });
});
