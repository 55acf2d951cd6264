import type { DecodedMessage, TopicLayout } from '@tonypi/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditTrail } from '../audit/audit-trail';
import type { MessageBus } from '../broker/message-bus';
import { EventBus } from '../core/event-bus';
import { openTestPGlite } from '../db/test-databases';
import { createLogger } from '../logger';
import { RobotRegistry } from '../robots/robot-registry';
import { FakeRobotsRepository } from '../test-fakes';
import { CommandsRepository } from './commands.repository';
import { CommandService, type Requester } from './commands.service';

const logger = createLogger('silent');
const who: Requester = { actor: { type: 'user', id: 'u1', name: 'alice' }, role: 'operator' };

/** What happened, in order: publishes, `robot.status` events, statements on `commands`. */
type Step = string;

/** The embedded broker's shape: a publish is done a turn later, once it is written to the sockets. */
function recordingBus(steps: Step[]): MessageBus {
  return {
    kind: 'embedded',
    subscribeIngest: async () => undefined,
    publish: (topic) => {
      steps.push(`publish ${topic}`);
      return new Promise((resolve) => setImmediate(resolve));
    },
    isConnected: () => true,
    close: async () => undefined,
  };
}

class RecordingRepository extends CommandsRepository {
  readonly steps: Step[] = [];
  /** The non-empty batches of answers written: how many rows of each status, and how many also acknowledged. */
  readonly answerBatches: Array<Record<string, number>> = [];
  override insertMany(...args: Parameters<CommandsRepository['insertMany']>) {
    this.steps.push('insert');
    return super.insertMany(...args);
  }
  override applyAnswers(...args: Parameters<CommandsRepository['applyAnswers']>) {
    if (args[0].length > 0) {
      const counts: Record<string, number> = {};
      for (const a of args[0]) {
        counts[a.status] = (counts[a.status] ?? 0) + 1;
        if (a.acked) counts.acked = (counts.acked ?? 0) + 1;
      }
      this.answerBatches.push(counts);
    }
    return super.applyAnswers(...args);
  }
}

function hello(robot_id: string, layout: TopicLayout): DecodedMessage {
  const now = Date.now();
  return {
    robot_id,
    channel: 'status',
    layout,
    ts: now,
    received_at: now,
    skewed: false,
    points: [],
    status: { status: 'online' },
  };
}

const services: CommandService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

async function setUp(robots: Array<[string, TopicLayout]>) {
  const db = await openTestPGlite();
  const events = new EventBus({ logger });
  const registry = new RobotRegistry({
    repo: new FakeRobotsRepository().asRepository(),
    logger,
    autoRegister: true,
    resetStatusesOnStart: false,
    offlineAfterMs: 30_000,
    events,
  });
  for (const [id, layout] of robots) registry.observe(hello(id, layout));
  const repo = new RecordingRepository(db);
  const steps = repo.steps;
  events.subscribe('robot.status', (s) => steps.push(`status ${s.robot_id} ${s.status}`));
  const service = new CommandService({
    repo,
    bus: recordingBus(steps),
    registry,
    events,
    audit: new AuditTrail(db, logger),
    logger,
    rate: { perS: 100, burst: 100 },
  });
  services.push(service);
  await service.start();
  return { db, events, registry, repo, steps, service };
}

describe('fleet emergency stop and resume (CommandService)', () => {
  it('publishes every stop before holding any robot or writing a row, then holds them all and stores each row', async () => {
    const { db, registry, steps, service } = await setUp([
      ['r1', 'canonical'],
      ['r2', 'legacy'],
      ['r3', 'canonical'],
    ]);
    const accepted = await service.fleetEmergencyStop('test', who);
    expect(accepted.robots).toBe(3);

    const firstBookkeeping = steps.findIndex((s) => !s.startsWith('publish '));
    const lastPublish = steps.findLastIndex((s) => s.startsWith('publish '));
    // Two broadcasts (canonical and legacy) and one message per robot, all before anything else.
    expect(steps.filter((s) => s.startsWith('publish '))).toHaveLength(5);
    expect(lastPublish).toBeLessThan(firstBookkeeping);
    expect(steps.slice(firstBookkeeping).sort()).toEqual([
      'insert',
      'status r1 emergency_stopped',
      'status r2 emergency_stopped',
      'status r3 emergency_stopped',
    ]);
    for (const id of ['r1', 'r2', 'r3']) expect(registry.get(id)?.status).toBe('emergency_stopped');
    const { rows } = await db.query<{ robot_id: string; status: string }>(
      `SELECT robot_id, status FROM commands WHERE batch_id = $1 ORDER BY robot_id`,
      [accepted.stop_id],
    );
    expect(rows).toEqual([
      { robot_id: 'r1', status: 'sent' },
      { robot_id: 'r2', status: 'sent' },
      { robot_id: 'r3', status: 'sent' },
    ]);

    steps.length = 0;
    await service.fleetResume(undefined, who);
    const firstRelease = steps.findIndex((s) => !s.startsWith('publish '));
    expect(steps.filter((s) => s.startsWith('publish '))).toHaveLength(5);
    expect(steps.findLastIndex((s) => s.startsWith('publish '))).toBeLessThan(firstRelease);
    for (const id of ['r1', 'r2', 'r3']) expect(registry.get(id)?.status).toBe('online');
  });

  it('writes the answers read in one turn of the event loop in one statement, a result and its acknowledgement as one row', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const { db, events, repo, service } = await setUp(ids.map((id) => [id, 'canonical']));
    const { stop_id } = await service.fleetEmergencyStop('test', who);
    const { rows } = await db.query<{ id: string; robot_id: string }>(
      `SELECT id, robot_id FROM commands WHERE batch_id = $1 ORDER BY robot_id`,
      [stop_id],
    );
    const answer = (
      r: { id: string; robot_id: string },
      status: 'accepted' | 'succeeded' | 'failed',
      message?: string,
    ) =>
      events.publish('robot.command_response', {
        robot_id: r.robot_id,
        ts: Date.now(),
        command_id: r.id,
        status,
        ...(message ? { message } : {}),
        data: {},
      });
    // As a fleet answers: every robot's acknowledgement and result read from the sockets in one turn.
    for (const r of rows.slice(0, 18)) answer(r, 'accepted', 'stopping');
    for (const r of rows.slice(0, 18)) answer(r, 'succeeded');
    // The 19th robot's result is read before its acknowledgement, and it sends its result twice.
    answer(rows[18]!, 'succeeded', 'stopped');
    answer(rows[18]!, 'accepted');
    answer(rows[18]!, 'succeeded', 'again');
    // The 20th only acknowledges; a robot answering another robot's command changes nothing.
    answer(rows[19]!, 'accepted');
    answer({ id: rows[0]!.id, robot_id: rows[19]!.robot_id }, 'failed');
    await service.stop();
    expect(repo.answerBatches).toEqual([{ succeeded: 19, acked: 19, acknowledged: 1, failed: 1 }]);
    const { rows: after } = await db.query<{
      robot_id: string;
      status: string;
      message: string | null;
      acknowledged: boolean;
      finished: boolean;
    }>(
      `SELECT robot_id, status, message, acknowledged_at IS NOT NULL AS acknowledged, finished_at IS NOT NULL AS finished
       FROM commands WHERE batch_id = $1 ORDER BY robot_id`,
      [stop_id],
    );
    expect(after.slice(0, 18).every((r) => r.status === 'succeeded' && r.acknowledged && r.finished)).toBe(
      true,
    );
    // A result without a message keeps its acknowledgement's.
    expect(after[0]!.message).toBe('stopping');
    expect(after[18]).toMatchObject({
      status: 'succeeded',
      message: 'stopped',
      acknowledged: true,
      finished: true,
    });
    expect(after[19]).toMatchObject({ status: 'acknowledged', acknowledged: true, finished: false });
    // The duplicate result and the other robot's answer: unmatched.
    expect(service.counters.responses_unmatched).toBe(2);
  });
});
