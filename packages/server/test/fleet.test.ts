import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveClient, startTestServer, type TestServer, waitFor } from './helpers/test-server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ SIMULATED_ROBOTS: '3', SIMULATED_RATE_HZ: '5' });
});
afterAll(async () => {
  await t?.close();
});

describe('npm start with a simulated fleet', () => {
  it('shows three robots online with live values and stored history within seconds', async () => {
    const live = await LiveClient.connect(t.url, { authorization: `Bearer ${t.token}` });
    live.send({ type: 'subscribe', robots: ['*'], channels: ['telemetry', 'status'] });

    const robots = await waitFor(
      async () => {
        const body = await (await t.api('/api/v1/robots?status=online')).json();
        return body.total === 3 ? body.items : undefined;
      },
      10_000,
      'three simulated robots online',
    );
    for (const r of robots) {
      expect(r.robot_id).toMatch(/^tonypi_sim_\d+$/);
      // Registered through the robot service, connected with their own credentials: the secure path.
      expect(r).toMatchObject({ has_credentials: true, anonymous: false, tags: ['simulated'] });
      expect(r.latest.measurements.battery.fields.percent).toBeGreaterThan(0);
      expect(Object.keys(r.latest.servos)).toHaveLength(6);
    }
    const id = robots[0].robot_id;
    const history = await waitFor(
      async () => {
        const body = await (
          await t.api(`/api/v1/robots/${id}/telemetry?measurement=battery&field=voltage_v&from=1m`)
        ).json();
        return body.series?.[0]?.points.length > 0 ? body : undefined;
      },
      5000,
      'stored battery history',
    );
    expect(history.series[0].points[0].avg).toBeGreaterThan(9);
    expect(history.series[0].points[0].avg).toBeLessThan(12.7);

    await live.next('telemetry', (f) => f.measurement === 'location');
    expect(new Set(live.of('telemetry').map((f) => f.robot_id)).size).toBeGreaterThan(0);
    live.close();
  });
});
