import { describe, expect, it } from 'vitest';
import { RetainedLimiter, topicRobot } from './retained-limit';

const limits = { maxBytes: 100, perRobot: 2, total: 3 };

describe('topicRobot', () => {
  it('names the robot of a canonical and of a legacy topic', () => {
    expect(topicRobot('tonypi/r1/status')).toBe('r1');
    expect(topicRobot('tonypi/r1/command/response')).toBe('r1');
    expect(topicRobot('tonypi/status/r1')).toBe('r1');
    expect(topicRobot('tonypi/sensors/r1')).toBe('r1');
  });

  it('names none for topics without a robot', () => {
    expect(topicRobot('tonypi/battery')).toBeUndefined();
    expect(topicRobot('tonypi/commands/response')).toBeUndefined();
    expect(topicRobot('tonypi/system/broadcast')).toBeUndefined();
    expect(topicRobot('tonypi/bad id!/status')).toBeUndefined();
    expect(topicRobot('elsewhere/r1/status')).toBeUndefined();
  });
});

describe('RetainedLimiter', () => {
  it('keeps a robot’s own retained message within the size limit, and refuses a larger one as too_large', () => {
    const l = new RetainedLimiter(limits);
    expect(l.admit('tonypi/r1/status', 100, 'r1')).toBeUndefined();
    expect(l.admit('tonypi/r1/job', 101, 'r1')).toBe('too_large');
    expect(l.size).toBe(1);
  });

  it('refuses a retained message for robot X from a client that is not X as not_owner', () => {
    const l = new RetainedLimiter(limits);
    expect(l.admit('tonypi/r1/status', 10, 'intruder')).toBe('not_owner');
    expect(l.admit('tonypi/status/r1', 10, 'intruder')).toBe('not_owner');
    expect(l.size).toBe(0);
  });

  it('holds at most perRobot topics per robot, in either layout; replacing a held topic takes no new slot', () => {
    const l = new RetainedLimiter(limits);
    expect(l.admit('tonypi/r1/status', 10, 'r1')).toBeUndefined();
    expect(l.admit('tonypi/status/r1', 10, 'r1')).toBeUndefined();
    expect(l.admit('tonypi/r1/job', 10, 'r1')).toBe('robot_limit');
    expect(l.admit('tonypi/r1/status', 20, 'r1')).toBeUndefined();
    expect(l.size).toBe(2);
  });

  it('charges topics that name no robot to the client that sent them', () => {
    const l = new RetainedLimiter(limits);
    expect(l.admit('junk/1', 10, 'c1')).toBeUndefined();
    expect(l.admit('junk/2', 10, 'c1')).toBeUndefined();
    expect(l.admit('junk/3', 10, 'c1')).toBe('robot_limit');
    expect(l.admit('junk/3', 10, 'c2')).toBeUndefined();
  });

  it('holds at most total topics in all, then refuses new ones as total_limit', () => {
    const l = new RetainedLimiter(limits);
    for (const id of ['r1', 'r2', 'r3']) expect(l.admit(`tonypi/${id}/status`, 10, id)).toBeUndefined();
    expect(l.admit('tonypi/r4/status', 10, 'r4')).toBe('total_limit');
    // A held topic may still be replaced.
    expect(l.admit('tonypi/r1/status', 10, 'r1')).toBeUndefined();
  });

  it('always allows clearing (an empty payload), which frees the slot', () => {
    const l = new RetainedLimiter(limits);
    for (const id of ['r1', 'r2', 'r3']) l.admit(`tonypi/${id}/status`, 10, id);
    expect(l.admit('tonypi/r1/status', 0, 'r1')).toBeUndefined();
    expect(l.admit('tonypi/never/held', 0, 'anyone')).toBeUndefined();
    expect(l.size).toBe(2);
    expect(l.admit('tonypi/r4/status', 10, 'r4')).toBeUndefined();
  });
});
