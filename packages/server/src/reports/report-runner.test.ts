import type { ReportDocument, ReportLiveEvent } from '@tonypi/contracts';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openTestPGlite } from '../db/test-databases';
import { waitFor } from '../test-fakes';
import type { GatherRequest } from './report-gatherer';
import type { ReportInput } from './report-input';
import { ReportRunner } from './report-runner';
import { ReportsRepository } from './reports.repository';

const logger = pino({ level: 'silent' });
const HOUR = 3_600_000;

function docOf(input: ReportInput): ReportDocument {
  return {
    title: input.title,
    kind: input.kind,
    scope: { ...input.scope, robots: input.robots.map((r) => r.robot_id) },
    from: new Date(input.from).toISOString(),
    to: new Date(input.to).toISOString(),
    generated_at: new Date(input.generated_at).toISOString(),
    summary: [],
    sections: [],
    ai: null,
    ai_note: null,
  };
}

/** A gatherer the test drives: each robot is "read" when the test releases it. */
function steppedGatherer(robots: number) {
  const steps: Array<() => void> = [];
  const seen: GatherRequest[] = [];
  return {
    seen,
    release: () => steps.shift()?.(),
    waiting: () => steps.length,
    /** Lets the next robot be read, once the gatherer waits for it. */
    step: async () => {
      await waitFor(() => steps.length === 1, 2000, 'the gatherer waiting');
      steps.shift()?.();
    },
    gather: async (
      req: GatherRequest,
      onProgress: (share: number) => Promise<void> | void,
      signal: AbortSignal,
    ) => {
      seen.push(req);
      for (let i = 0; i < robots; i++) {
        signal.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
          steps.push(resolve);
          signal.addEventListener(
            'abort',
            () => {
              steps.splice(steps.indexOf(resolve), 1);
              reject(signal.reason);
            },
            { once: true },
          );
        });
        signal.throwIfAborted();
        await onProgress((i + 1) / robots);
      }
      return {
        kind: req.kind,
        sections: req.sections,
        title: req.title,
        scope: { robot_id: req.robot_id, tag: req.tag },
        from: req.from,
        to: req.to,
        generated_at: Date.now(),
        robots: [{ robot_id: 'r1', name: null, first_seen: null }],
        series: [],
        alerts: [],
        jobs: [],
        levels: [],
      } satisfies ReportInput;
    },
  };
}

async function setup(
  robots = 3,
  opts: { timeoutMs?: number; build?: (i: ReportInput) => ReportDocument } = {},
) {
  const db = await openTestPGlite();
  const repo = new ReportsRepository(db);
  const gatherer = steppedGatherer(robots);
  const events: ReportLiveEvent[] = [];
  const runner = new ReportRunner({
    repo,
    gatherer,
    build: opts.build ?? docOf,
    instance: 'test-instance',
    logger,
    publish: (e) => events.push(e),
    timeoutMs: opts.timeoutMs ?? 60_000,
    pollMs: 60_000,
  });
  const queue = (title = 'r') =>
    repo.insert({
      title,
      kind: 'performance',
      robot_id: null,
      tag: null,
      from: Date.now() - HOUR,
      to: Date.now(),
      sections: ['availability', 'performance'],
      want_ai: false,
      created_by: 'admin',
    });
  return { db, repo, gatherer, events, runner, queue };
}

describe('ReportRunner', () => {
  it('runs queued reports one at a time, oldest first: running with progress, then completed with its document', async () => {
    const { repo, gatherer, events, runner, queue } = await setup(2);
    const first = await queue('first');
    const second = await queue('second');
    await runner.start();
    await waitFor(() => gatherer.waiting() === 1, 2000, 'first report gathering');
    expect((await repo.get(first.id))?.status).toBe('running');
    expect((await repo.get(second.id))?.status).toBe('queued');
    await gatherer.step();
    await gatherer.step();
    await waitFor(async () => (await repo.get(first.id))?.status === 'completed', 2000, 'first completed');
    const doc = await repo.document(first.id);
    expect(doc?.title).toBe('first');
    // Then the second.
    await gatherer.step();
    await gatherer.step();
    await waitFor(async () => (await repo.get(second.id))?.status === 'completed', 2000, 'second completed');
    expect(gatherer.seen.map((r) => r.title)).toEqual(['first', 'second']);
    const firstEvents = events.filter((e) => e.report_id === first.id).map((e) => e.status);
    expect(firstEvents[0]).toBe('running');
    expect(firstEvents.at(-1)).toBe('completed');
    expect((await repo.get(first.id))?.progress).toBe(1);
    await runner.stop();
  });

  it('stops a report cancelled while it runs, and goes on with the next', async () => {
    const { repo, gatherer, events, runner, queue } = await setup(3);
    const doomed = await queue('doomed');
    const next = await queue('next');
    await runner.start();
    await waitFor(() => gatherer.waiting() === 1, 2000, 'gathering');
    expect(await repo.cancel(doomed.id)).toBeTruthy();
    runner.abort(doomed.id);
    await waitFor(
      () => events.some((e) => e.report_id === doomed.id && e.status === 'cancelled'),
      2000,
      'cancelled',
    );
    expect((await repo.get(doomed.id))?.status).toBe('cancelled');
    expect(await repo.document(doomed.id)).toBeNull();
    await waitFor(() => gatherer.seen.length === 2, 2000, 'next started');
    for (let i = 0; i < 3; i++) await gatherer.step();
    await waitFor(async () => (await repo.get(next.id))?.status === 'completed', 2000, 'next completed');
    expect(runner.counters).toMatchObject({ cancelled: 1, completed: 1, failed: 0 });
    await runner.stop();
  });

  it('notices a cancellation made elsewhere (another instance) at its next progress step', async () => {
    const { repo, gatherer, runner, queue } = await setup(3);
    const r = await queue();
    await runner.start();
    await waitFor(() => gatherer.waiting() === 1, 2000, 'gathering');
    await repo.cancel(r.id); // no abort(): this instance does not know
    gatherer.release();
    await waitFor(() => runner.counters.cancelled === 1, 2000, 'cancelled at the progress step');
    expect((await repo.get(r.id))?.status).toBe('cancelled');
    await runner.stop();
  });

  it('fails a report whose analysis throws, or that runs too long, saying why', async () => {
    const broken = await setup(1, {
      build: () => {
        throw new Error('no series to analyse');
      },
    });
    const r = await broken.queue();
    await broken.runner.start();
    await waitFor(() => broken.gatherer.waiting() === 1, 2000, 'gathering');
    broken.gatherer.release();
    await waitFor(async () => (await broken.repo.get(r.id))?.status === 'failed', 2000, 'failed');
    expect((await broken.repo.get(r.id))?.error).toBe('no series to analyse');
    expect(broken.events.at(-1)).toMatchObject({
      report_id: r.id,
      status: 'failed',
      error: 'no series to analyse',
    });
    await broken.runner.stop();

    const slow = await setup(2, { timeoutMs: 200 });
    const s = await slow.queue();
    await slow.runner.start();
    await waitFor(async () => (await slow.repo.get(s.id))?.status === 'failed', 3000, 'timed out');
    expect((await slow.repo.get(s.id))?.error).toBe('timed out after 0 s');
    await slow.runner.stop();
  });

  it('puts a report it was running back in the queue when the server stops, and runs it at the next start', async () => {
    const { db, repo, gatherer, runner, queue } = await setup(2);
    const r = await queue();
    await runner.start();
    await waitFor(() => gatherer.waiting() === 1, 2000, 'gathering');
    await runner.stop();
    expect((await repo.get(r.id))?.status).toBe('queued');

    const again = steppedGatherer(1);
    const restarted = new ReportRunner({
      repo: new ReportsRepository(db),
      gatherer: again,
      build: docOf,
      instance: 'test-instance',
      logger,
      publish: () => undefined,
      timeoutMs: 60_000,
      pollMs: 60_000,
    });
    await restarted.start();
    await waitFor(() => again.waiting() === 1, 2000, 'gathering again');
    again.release();
    await waitFor(
      async () => (await repo.get(r.id))?.status === 'completed',
      2000,
      'completed after restart',
    );
    await restarted.stop();
  });
});
