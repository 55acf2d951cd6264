import { describe, expect, it } from 'vitest';
import {
  decodeTopic,
  isServerTopic,
  isValidRobotId,
  LEGACY_CHANNEL_WORDS,
  ROBOT_CHANNELS,
  robotMayPublish,
  robotMaySubscribe,
  topics,
} from './topics';

describe('isValidRobotId', () => {
  it('accepts letters, digits, _ and - up to 64 characters', () => {
    expect(isValidRobotId('tonypi_01')).toBe(true);
    expect(isValidRobotId('A-b_9')).toBe(true);
    expect(isValidRobotId('x'.repeat(64))).toBe(true);
  });

  it('refuses empty, too long, other characters, and MQTT wildcards', () => {
    for (const id of ['', 'x'.repeat(65), 'a b', 'a/b', 'a+b', 'a#', 'é', '../x'])
      expect(isValidRobotId(id), id).toBe(false);
  });

  it("refuses the legacy channel words and the words legacy topics use in a robot's place", () => {
    for (const id of [...LEGACY_CHANNEL_WORDS, 'broadcast', 'response'])
      expect(isValidRobotId(id), id).toBe(false);
  });
});

describe('decodeTopic', () => {
  it('decodes every canonical channel built by topics.robot', () => {
    for (const channel of ROBOT_CHANNELS) {
      expect(decodeTopic(topics.robot('tonypi_01', channel))).toEqual({
        ok: true,
        channel,
        layout: 'canonical',
        robot_id: 'tonypi_01',
      });
    }
  });

  it('maps the alias channel names', () => {
    expect(decodeTopic('tonypi/r1/performance')).toMatchObject({ ok: true, channel: 'system' });
    expect(decodeTopic('tonypi/r1/logs')).toMatchObject({ ok: true, channel: 'log' });
  });

  it('decodes the legacy per-robot topics and the shared ones without a robot', () => {
    expect(decodeTopic('tonypi/sensors/r1')).toEqual({
      ok: true,
      channel: 'sensors',
      layout: 'legacy',
      robot_id: 'r1',
    });
    expect(decodeTopic('tonypi/logs/r1')).toMatchObject({ channel: 'log', robot_id: 'r1' });
    expect(decodeTopic('tonypi/battery')).toEqual({
      ok: true,
      channel: 'battery',
      layout: 'legacy',
      robot_id: null,
    });
    expect(decodeTopic('tonypi/emergency_stop/response')).toMatchObject({
      channel: 'command/response',
      robot_id: null,
    });
  });

  it('tells server → robot topics apart as outbound', () => {
    const outbound = [
      topics.command('r1'),
      topics.config('r1'),
      topics.broadcast,
      topics.legacy.command('r1'),
      topics.legacy.commandBroadcast,
      topics.legacy.emergencyStop('r1'),
      topics.legacy.emergencyStopBroadcast,
      topics.legacy.items('r1'),
    ];
    for (const t of outbound) {
      expect(decodeTopic(t), t).toEqual({ ok: false, reason: 'outbound' });
      expect(isServerTopic(t), t).toBe(true);
    }
    expect(isServerTopic('tonypi/r1/telemetry')).toBe(false);
    expect(isServerTopic('tonypi/commands/response')).toBe(false);
  });

  it('names why a topic is not a robot topic', () => {
    expect(decodeTopic('other/r1/sensors')).toEqual({ ok: false, reason: 'not_a_robot_topic' });
    expect(decodeTopic('tonypi/r1')).toEqual({ ok: false, reason: 'not_a_robot_topic' });
    expect(decodeTopic('tonypi/r1/coffee')).toEqual({ ok: false, reason: 'unknown_channel' });
    expect(decodeTopic('tonypi/r1/command/other')).toEqual({ ok: false, reason: 'unknown_channel' });
    expect(decodeTopic('tonypi/r$1/sensors')).toEqual({ ok: false, reason: 'bad_robot_id' });
    expect(decodeTopic('tonypi/sensors/r$1')).toEqual({ ok: false, reason: 'bad_robot_id' });
  });
});

describe('the robot ACL', () => {
  it('gives no inherited property name (constructor, toString, __proto__) a channel: not a topic anyone owns', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(robotMayPublish('r1', name)).toBe(false);
      expect(robotMayPublish('r1', `tonypi/${name}/r1`)).toBe(false);
      expect(decodeTopic(name)).toEqual({ ok: false, reason: 'not_a_robot_topic' });
      expect(decodeTopic(`tonypi/r1/${name}`)).toEqual({ ok: false, reason: 'unknown_channel' });
    }
  });

  it('lets a robot publish on its own topics in both layouts, and on the shared legacy topics', () => {
    for (const topic of [
      'tonypi/r1/telemetry',
      'tonypi/r1/status',
      'tonypi/r1/command/response',
      'tonypi/r1/anything_else',
      'tonypi/sensors/r1',
      'tonypi/status/r1',
      'tonypi/battery',
      'tonypi/location',
      'tonypi/commands/response',
      'tonypi/emergency_stop/response',
    ])
      expect(robotMayPublish('r1', topic), topic).toBe(true);
  });

  it("refuses another robot's topics, server topics and topics outside tonypi/", () => {
    for (const topic of [
      'tonypi/r2/telemetry',
      'tonypi/sensors/r2',
      'tonypi/r1/command',
      'tonypi/r1/config',
      'tonypi/commands/r1',
      'tonypi/items/r1',
      'tonypi/emergency_stop/r1',
      'tonypi/system/broadcast',
      'tonypi/r1',
      'other/r1/telemetry',
      '$SYS/broker',
    ])
      expect(robotMayPublish('r1', topic), topic).toBe(false);
  });

  it('lets a robot subscribe to its own command, config, items and emergency-stop topics and the broadcasts only', () => {
    for (const filter of [
      'tonypi/r1/command',
      'tonypi/r1/config',
      'tonypi/commands/r1',
      'tonypi/emergency_stop/r1',
      'tonypi/items/r1',
      'tonypi/system/broadcast',
      'tonypi/commands/broadcast',
      'tonypi/emergency_stop/broadcast',
    ])
      expect(robotMaySubscribe('r1', filter), filter).toBe(true);
    for (const filter of ['tonypi/r2/command', 'tonypi/#', 'tonypi/+/command', '#', 'tonypi/r1/telemetry'])
      expect(robotMaySubscribe('r1', filter), filter).toBe(false);
  });

  it('gives a client id that is no robot id (a legacy channel word) no topic of its own', () => {
    expect(robotMayPublish('sensors', 'tonypi/sensors/r2')).toBe(false);
    expect(robotMayPublish('sensors', 'tonypi/battery')).toBe(false);
    expect(robotMaySubscribe('commands', 'tonypi/commands/commands')).toBe(false);
    expect(robotMaySubscribe('commands', 'tonypi/system/broadcast')).toBe(true);
  });
});
