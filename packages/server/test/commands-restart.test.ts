import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Fleet } from '@tonypi/agent';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, waitFor } from './helpers/test-server';

const silent = { info: () => undefined, warn: () => undefined };
let dataDir: string;
let t: TestServer | undefined;
let fleet: Fleet | undefined;

afterAll(async () => {
  await fleet?.stop();
  await t?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function status(server: TestServer, id: string): Promise<string | undefined> {
  const res = await server.api(`/api/v1/robots/${id}`);
  return res.status === 200 ? (await res.json()).status : undefined;
}

describe('an emergency stop across a server restart', () => {
  it('holds the robot stopped after the restart and sends it the stop again when it reconnects', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tonypi-estop-restart-'));
    t = await startTestServer({}, { keepDataDir: dataDir });
    const start = () =>
      Fleet.start({
        brokerUrl: t!.mqttUrl,
        robots: 1,
        robotIds: ['restart_bot'],
        faults: false,
        autonomy: false,
        logger: silent,
      });
    fleet = await start();
    await waitFor(async () => (await status(t!, 'restart_bot')) === 'online', 10_000);
    const stop = await t.api('/api/v1/robots/restart_bot/emergency-stop', {
      method: 'POST',
      json: { reason: 'before the restart' },
    });
    const { stop_id } = await stop.json();
    await waitFor(
      async () => (await (await t!.api(`/api/v1/emergency-stops/${stop_id}`)).json()).acknowledged === 1,
    );
    await fleet.stop();
    fleet = undefined;
    await t.close();

    t = await startTestServer({}, { keepDataDir: dataDir });
    fleet = await start();
    // A fresh robot process: it knows nothing of the stop until the server tells it again.
    await waitFor(
      () => fleet!.robots[0]?.model.emergency?.reason === 'before the restart',
      10_000,
      'the stop re-sent',
    );
    expect(await status(t, 'restart_bot')).toBe('emergency_stopped');
    const view = await (await t.api(`/api/v1/emergency-stops/${stop_id}`)).json();
    expect(view.items.length).toBe(2);
  }, 120_000);
});
