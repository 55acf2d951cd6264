import { CHANNEL_SCHEMAS, decodeTopic, type RobotChannel } from '@tonypi/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Fleet } from './fleet';
import { FakeMqtt } from './testing';

/**
 * The fleet's pace, on a fake clock with fake MQTT connections: what the integration test
 * (fleet.integration.test.ts) cannot say without timing the wall clock.
 */

const ROBOTS = 3;
const RATE_HZ = 5;
const SECONDS = 2;
const ids = ['tonypi_sim_01', 'tonypi_sim_02', 'tonypi_sim_03'];

beforeEach(() => {
  vi.useFakeTimers({
    now: Date.parse('2026-12-01T10:00:00Z'),
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'setImmediate',
      'clearImmediate',
      'Date',
      'performance',
    ],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

async function startFleet(protocol: 'canonical' | 'legacy') {
  const mqtt = new FakeMqtt();
  const fleet = await Fleet.start({
    brokerUrl: 'mqtt://fake',
    robots: ROBOTS,
    rateHz: RATE_HZ,
    faults: false,
    autonomy: false,
    seed: 7,
    protocol,
    connect: mqtt.connect,
  });
  return { mqtt, fleet };
}

/** Ticks of one robot in SECONDS at RATE_HZ: the scheduler may have the tick at the very end too. */
const TICKS = [RATE_HZ * SECONDS, RATE_HZ * SECONDS + 1];

describe('Fleet pace (fake clock)', () => {
  it('sends each robot a sample on connecting, then rate samples a second, evenly spread', async () => {
    const { mqtt, fleet } = await startFleet('canonical');
    // The scheduler's first slot is due at once: the first robot's first tick is there already.
    expect(ids.map((id) => mqtt.from(id, /\/telemetry$/).length)).toEqual([2, 1, 1]);
    vi.advanceTimersByTime(SECONDS * 1000);
    for (const id of ids) {
      const samples = mqtt.from(id, /\/telemetry$/);
      expect(TICKS).toContain(samples.length - 1);
      const ts = samples.slice(1).map((s) => JSON.parse(s.payload).ts as number);
      expect(new Set(ts.slice(1).map((t, i) => t - ts[i]!))).toEqual(new Set([1000 / RATE_HZ]));
    }
    expect(fleet.stats().telemetry).toBe(mqtt.published.filter((p) => p.topic.endsWith('/telemetry')).length);
    await fleet.stop();
  });

  it('publishes the seed client’s per-reading sensor messages, servos, battery and location once per sample', async () => {
    const { mqtt, fleet } = await startFleet('legacy');
    // The second robot has sent only its sample on connecting so far.
    expect(mqtt.from('tonypi_sim_02', /^tonypi\/servos\//)).toHaveLength(1);
    const perSample = mqtt.from('tonypi_sim_02', /^tonypi\/sensors\//).length;
    expect(perSample).toBeGreaterThanOrEqual(15);
    vi.advanceTimersByTime(SECONDS * 1000);
    for (const id of ids) {
      const servos = mqtt.from(id, /^tonypi\/servos\//).length;
      expect(TICKS).toContain(servos - 1);
      expect(mqtt.from(id, /^tonypi\/sensors\//)).toHaveLength(servos * perSample);
      for (const shared of ['tonypi/battery', 'tonypi/location']) {
        const own = mqtt.published.filter((p) => p.topic === shared && JSON.parse(p.payload).robot_id === id);
        expect(own).toHaveLength(servos);
      }
    }
    for (const p of mqtt.published) {
      const topic = decodeTopic(p.topic);
      if (!topic.ok) continue;
      const result = CHANNEL_SCHEMAS[topic.channel as RobotChannel].safeParse(JSON.parse(p.payload));
      expect(result.error?.issues ?? [], p.topic).toEqual([]);
    }
    await fleet.stop();
  });

  it('stop() publishes offline for every robot and nothing after it, however long the clock runs', async () => {
    const { mqtt, fleet } = await startFleet('canonical');
    vi.advanceTimersByTime(1000);
    await fleet.stop();
    const after = mqtt.published.length;
    vi.advanceTimersByTime(60_000);
    expect(mqtt.published.length).toBe(after);
    for (const id of ids) {
      expect(mqtt.from(id).at(-1)).toMatchObject({ topic: `tonypi/${id}/status`, retain: true });
      expect(JSON.parse(mqtt.from(id).at(-1)!.payload)).toMatchObject({ status: 'offline' });
      expect(mqtt.connected(id)).toBe(false);
    }
  });
});
