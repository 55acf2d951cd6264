import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RobotActivity } from './robot-activity';
import type { ActivityRow, RobotActivityRepository } from './robot-activity.repository';

const HOUR = 3600_000;
const T0 = Date.parse('2026-12-01T10:59:50Z');

function fakeRepo(failFirst = 0) {
  const written: ActivityRow[][] = [];
  let failures = failFirst;
  const repo = {
    add: async (rows: readonly ActivityRow[]) => {
      if (failures-- > 0) throw new Error('database down');
      written.push(rows.map((r) => ({ ...r })));
    },
  } as unknown as RobotActivityRepository;
  return { repo, written };
}

describe('RobotActivity', () => {
  it('counts messages and the last one per channel, and online time split at the hour', async () => {
    let now = T0;
    const online = new Set(['r1']);
    const { repo, written } = fakeRepo();
    const activity = new RobotActivity({
      repo,
      logger: pino({ level: 'silent' }),
      online: () => online,
      now: () => now,
    });
    activity.note('r1', 'battery', T0 + 1);
    activity.note('r1', 'battery', T0 + 2);
    activity.note('r1', 'status', T0 + 3);
    now = T0 + 20_000; // 10 s in the hour starting 10:00, 10 s in the next
    await activity.flush();
    const rows = written.flat();
    const hour10 = T0 - (T0 % HOUR);
    expect(rows).toEqual(
      expect.arrayContaining([
        { robot_id: 'r1', channel: 'battery', hour: hour10, messages: 2, last_seen: T0 + 2, online_ms: 0 },
        { robot_id: 'r1', channel: 'status', hour: hour10, messages: 1, last_seen: T0 + 3, online_ms: 0 },
        { robot_id: 'r1', channel: '', hour: hour10, messages: 0, last_seen: null, online_ms: 10_000 },
        { robot_id: 'r1', channel: '', hour: hour10 + HOUR, messages: 0, last_seen: null, online_ms: 10_000 },
      ]),
    );
    expect(rows).toHaveLength(4);
  });

  it('keeps the counts of a failed write and adds them to the next one, one row per robot, hour and channel', async () => {
    let now = T0;
    const { repo, written } = fakeRepo(1);
    const activity = new RobotActivity({
      repo,
      logger: pino({ level: 'silent' }),
      online: () => [],
      now: () => now,
    });
    activity.note('r1', 'log', T0 + 1);
    await activity.flush();
    expect(written).toEqual([]);
    now += 1;
    activity.note('r1', 'log', T0 + 2);
    await activity.flush();
    expect(written).toEqual([
      [
        {
          robot_id: 'r1',
          channel: 'log',
          hour: T0 - (T0 % HOUR),
          messages: 2,
          last_seen: T0 + 2,
          online_ms: 0,
        },
      ],
    ]);
    expect(activity.counters.write_errors).toBe(1);
  });
});
