import type { AlertView, CommandView } from '@tonypi/contracts';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../core/event-bus';
import { createLogger } from '../logger';
import { recordToLog } from './log-recorder';
import { LogWriter } from './log-writer';
import type { NewLogEntry } from './logs.repository';

function setUp(queueLimit = 100) {
  const written: NewLogEntry[] = [];
  const logger = createLogger('silent');
  const writer = new LogWriter({
    repo: { insertMany: async (rows) => void written.push(...rows) },
    logger,
    queueLimit,
  });
  const events = new EventBus({ logger });
  recordToLog(events, writer);
  return { events, writer, written };
}

const alert = (over: Partial<AlertView> = {}): AlertView =>
  ({
    id: 7,
    robot_id: 'tonypi_01',
    alert_type: 'temperature',
    severity: 'critical',
    state: 'open',
    title: 'CPU temperature 85 °C',
    message: 'above 80',
    value: 85,
    ...over,
  }) as AlertView;

describe('what the log records from the event bus', () => {
  it('records a server error under api at ERROR, without the query string', async () => {
    const { events, writer, written } = setUp();
    events.publish('server.error', {
      method: 'GET',
      url: '/api/v1/robots',
      status: 500,
      message: 'boom',
      at: 1000,
    });
    await writer.flush();
    expect(written).toEqual([
      expect.objectContaining({
        ts: 1000,
        level: 'ERROR',
        category: 'api',
        robot_id: null,
        message: 'GET /api/v1/robots failed (500): boom',
      }),
    ]);
  });

  it('records a raised alert at its severity, a resolved one at INFO, and skips in-place updates', async () => {
    const { events, writer, written } = setUp();
    events.publish('alert.changed', { change: 'raised', alert: alert() });
    events.publish('alert.changed', { change: 'updated', alert: alert({ value: 86 }) });
    events.publish('alert.changed', { change: 'resolved', alert: alert({ state: 'resolved' }) });
    await writer.flush();
    expect(written.map((e) => [e.category, e.level, e.message])).toEqual([
      ['alert', 'CRITICAL', 'Alert raised (critical): CPU temperature 85 °C'],
      ['alert', 'INFO', 'Alert resolved (critical): CPU temperature 85 °C'],
    ]);
  });

  it('records command changes, a failed one at WARNING', async () => {
    const { events, writer, written } = setUp();
    const command = {
      command_id: 'c1',
      robot_id: 'tonypi_01',
      command: 'move',
      params: {},
      requested_by: 'ops',
    };
    events.publish('command.changed', {
      ...command,
      status: 'sent',
      message: null,
    } as unknown as CommandView);
    events.publish('command.changed', {
      ...command,
      status: 'failed',
      message: 'servo stuck',
    } as unknown as CommandView);
    await writer.flush();
    expect(written.map((e) => [e.category, e.level, e.robot_id, e.message])).toEqual([
      ['command', 'INFO', 'tonypi_01', 'Command move sent'],
      ['command', 'WARNING', 'tonypi_01', 'Command move failed: servo stuck'],
    ]);
  });

  it("maps robots' level words (warn, fatal, anything unknown) and cleans control characters", async () => {
    const { events, writer, written } = setUp();
    for (const level of ['warn', 'fatal', 'shouting'])
      events.publish('robot.log', { robot_id: 'tonypi_01', ts: 5, level, message: 'a\u0000b\u001b[31m' });
    await writer.flush();
    expect(written.map((e) => e.level)).toEqual(['WARNING', 'CRITICAL', 'INFO']);
    expect(written[0]?.message).toBe('a\uFFFDb\uFFFD[31m');
  });

  it('drops entries beyond the queue limit, counted, instead of growing', async () => {
    const { events, writer, written } = setUp(3);
    for (let i = 0; i < 10; i++)
      events.publish('robot.log', { robot_id: 'r', ts: i, level: 'info', message: `m${i}` });
    expect(writer.counters).toMatchObject({ queued: 3, dropped_queue_full: 7 });
    await writer.flush();
    expect(written.map((e) => e.message)).toEqual(['m0', 'm1', 'm2']);
  });
});
