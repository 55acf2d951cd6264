import { type DecodedMessage, RobotList, type RobotListQuery } from '@tonypi/contracts';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { EventBus } from '../core/event-bus';
import { openTestPGlite } from '../db/test-databases';
import type { TelemetryStore } from '../telemetry/telemetry-store';
import { RobotRegistry } from './robot-registry';
import { RobotsRepository } from './robots.repository';
import { RobotsService } from './robots.service';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const MAX_AGE_MS = 1000;
const QUERY: z.infer<typeof RobotListQuery> = {
  sort: 'robot_id',
  order: 'asc',
  limit: 100,
  offset: 0,
  deleted: false,
};

function battery(robot_id: string, percent: number, ts: number): DecodedMessage {
  return {
    robot_id,
    channel: 'battery',
    layout: 'canonical',
    ts,
    received_at: ts,
    skewed: false,
    points: [{ measurement: 'battery', robot_id, ts, fields: { percent } }],
  };
}

const registries: RobotRegistry[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) await r.stop();
});

async function setup() {
  const repo = new RobotsRepository(await openTestPGlite());
  let clock = T0;
  const registry = new RobotRegistry({
    repo,
    logger: pino({ level: 'silent' }),
    autoRegister: true,
    resetStatusesOnStart: true,
    offlineAfterMs: 30_000,
    // No timer flush during the test: what reaches the database is what the service writes.
    flushIntervalMs: 3600_000,
    events: new EventBus({ logger: pino({ level: 'silent' }) }),
    now: () => clock,
  });
  await registry.start();
  registries.push(registry);
  const service = new RobotsService(repo, registry, {} as TelemetryStore, {
    listMaxAgeMs: MAX_AGE_MS,
    now: () => clock,
  });
  const list = async () => RobotList.parse(JSON.parse(String(await service.listJson(QUERY))));
  const percentOf = async (robot_id: string) =>
    (await list()).items.find((r) => r.robot_id === robot_id)?.latest.measurements.battery?.fields.percent;
  return {
    repo,
    registry,
    service,
    list,
    percentOf,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('RobotsService.listJson (the list every dashboard polls)', () => {
  // In a hook: the first one pays for the database template (hookTimeout).
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    ctx = await setup();
  });

  it('lists a robot seen for the first time at once, as the response schema describes it', async () => {
    const { registry, list } = ctx;
    registry.observe(battery('r1', 80, T0), T0);

    const body = await list();
    expect(body.total).toBe(1);
    expect(body.items[0]).toMatchObject({ robot_id: 'r1', status: 'online' });
    expect(body.items[0]!.latest.measurements.battery?.fields).toEqual({ percent: 80 });
  });

  it('shares one answer for up to listMaxAgeMs, then shows the newest values', async () => {
    const { registry, percentOf, advance } = ctx;
    registry.observe(battery('r1', 80, T0), T0);
    expect(await percentOf('r1')).toBe(80);

    registry.observe(battery('r1', 79, T0 + 10), T0 + 10);
    advance(MAX_AGE_MS - 1);
    expect(await percentOf('r1')).toBe(80);
    advance(1);
    expect(await percentOf('r1')).toBe(79);
  });

  it('builds the answer once for readers asking at the same time', async () => {
    const { repo, registry, service } = ctx;
    registry.observe(battery('r1', 80, T0), T0);
    await registry.flush();
    const reads = vi.spyOn(repo, 'list');

    const answers = await Promise.all(Array.from({ length: 10 }, () => service.listJson(QUERY)));
    expect(new Set(answers).size).toBe(1);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('keeps separate answers for different filters and pages', async () => {
    const { registry, service } = ctx;
    registry.observe(battery('r1', 80, T0), T0);
    registry.observe(battery('r2', 70, T0), T0);

    const first = JSON.parse(String(await service.listJson({ ...QUERY, limit: 1 })));
    const second = JSON.parse(String(await service.listJson({ ...QUERY, limit: 1, offset: 1 })));
    expect(first.items.map((r: { robot_id: string }) => r.robot_id)).toEqual(['r1']);
    expect(second.items.map((r: { robot_id: string }) => r.robot_id)).toEqual(['r2']);
  });

  it('does not write every robot to the database on a list when no robot is new', async () => {
    const { repo, registry, service, advance } = ctx;
    registry.observe(battery('r1', 80, T0), T0);
    await registry.flush();
    const writes = vi.spyOn(repo, 'recordSeen');

    registry.observe(battery('r1', 79, T0 + 10), T0 + 10);
    advance(MAX_AGE_MS);
    const body = JSON.parse(String(await service.listJson(QUERY)));
    expect(body.items[0].latest.measurements.battery.fields.percent).toBe(79);
    expect(writes).not.toHaveBeenCalled();
  });

  it('builds again after a failed build instead of serving the failure', async () => {
    const { repo, registry, service } = ctx;
    registry.observe(battery('r1', 80, T0), T0);
    await registry.flush();
    vi.spyOn(repo, 'list').mockRejectedValueOnce(new Error('database gone'));

    await expect(service.listJson(QUERY)).rejects.toThrow('database gone');
    expect(JSON.parse(String(await service.listJson(QUERY))).total).toBe(1);
  });
});

describe('RobotsService.requireKnown (the check before each history read)', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    ctx = await setup();
  });

  it('reads a robot once, then answers from memory', async () => {
    const { repo, registry, service } = ctx;
    registry.observe(battery('r1', 80, T0), T0);
    await registry.flush();
    const reads = vi.spyOn(repo, 'findByRobotId');

    for (let i = 0; i < 5; i++) await service.requireKnown('r1');
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('answers robot_not_found for an unknown robot every time, and finds it once it has a row', async () => {
    const { registry, service } = ctx;
    await expect(service.requireKnown('r9')).rejects.toMatchObject({ code: 'robot_not_found' });
    await expect(service.requireKnown('r9')).rejects.toMatchObject({ code: 'robot_not_found' });

    registry.observe(battery('r9', 50, T0), T0);
    await expect(service.requireKnown('r9')).resolves.toBeUndefined();
  });
});
