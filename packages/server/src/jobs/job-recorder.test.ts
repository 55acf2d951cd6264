import { describe, expect, it } from 'vitest';
import { openTestPGlite } from '../db/test-databases';
import { capturingLogger, waitFor } from '../test-fakes';
import { mergeProgress, readJobMessage } from './job-message';
import { JobRecorder } from './job-recorder';
import { JobsRepository } from './jobs.repository';

describe('readJobMessage', () => {
  it('maps both protocols’ statuses onto steps, and takes the cancel reason from reason or cancel_reason', () => {
    const step = (status: string) => readJobMessage({ status }, 0)?.step;
    expect(['started', 'in_progress', 'working', 'completed', 'cancelled', 'failed'].map(step)).toEqual([
      'start',
      'progress',
      'progress',
      'complete',
      'cancel',
      'fail',
    ]);
    expect(readJobMessage({ status: 'exploded' }, 0)).toBeUndefined();
    expect(readJobMessage({ status: 'cancelled', reason: 'operator' }, 0)?.reason).toBe('operator');
    expect(readJobMessage({ status: 'cancelled', cancel_reason: 'old name' }, 0)?.reason).toBe('old name');
    expect(readJobMessage({ status: 'cancelled', reason: null }, 0)?.reason).toBeUndefined();
  });

  it('dates the start from the elapsed time first (robot clocks and zones vary), then start_time', () => {
    const ts = Date.UTC(2026, 0, 1, 12);
    expect(
      readJobMessage({ status: 'working', elapsed_time: 30, start_time: '1999-01-01T00:00:00' }, ts)
        ?.startedAt,
    ).toBe(ts - 30_000);
    expect(readJobMessage({ status: 'working', start_time: '2026-01-01T11:00:00Z' }, ts)?.startedAt).toBe(
      ts - 3600_000,
    );
    // A start after the message itself is no start.
    expect(
      readJobMessage({ status: 'working', start_time: '2027-01-01T00:00:00Z' }, ts)?.startedAt,
    ).toBeUndefined();
    expect(readJobMessage({ status: 'working', percent: 140 }, ts)?.percent).toBe(100);
  });

  it('folds progress: the later values win, the earlier ones stay where the later says nothing', () => {
    const a = readJobMessage(
      { status: 'in_progress', items_done: 1, phase: 'walking', elapsed_s: 10 },
      10_000,
    )!;
    const b = readJobMessage({ status: 'in_progress', items_done: 2, elapsed_s: 20 }, 20_000)!;
    expect(mergeProgress(a, b)).toMatchObject({ items_done: 2, phase: 'walking', ts: 20_000, startedAt: 0 });
  });
});

// The first database of a worker is migrated from scratch (then cloned): slow on a busy machine.
describe('JobRecorder', { timeout: 120_000 }, () => {
  function recorder(db: Awaited<ReturnType<typeof openTestPGlite>>, queueLimit?: number) {
    const { logger, lines } = capturingLogger();
    return {
      rec: new JobRecorder({
        db,
        repo: new JobsRepository(db),
        logger,
        ...(queueLimit ? { queueLimit } : {}),
      }),
      lines,
    };
  }
  const jobs = async (db: Awaited<ReturnType<typeof openTestPGlite>>) =>
    (
      await db.query<{ status: string; items_done: number; job_key: string }>(
        'SELECT * FROM jobs ORDER BY id',
      )
    ).rows;

  it('writes a run of waiting progress messages of one job once, with the last values', async () => {
    const db = await openTestPGlite();
    const { rec } = recorder(db);
    rec.noteJob('r1', 1000, { job_id: 'J', status: 'started', items_total: 10 });
    for (let i = 1; i <= 20; i++)
      rec.noteJob('r1', 1000 + i, { job_id: 'J', status: 'in_progress', items_done: i });
    // A scan in between keeps the order: the progress after it is not folded into the one before.
    rec.noteScan({ robot_id: 'r1', ts: 2000, code: 'C1' });
    rec.noteJob('r1', 2001, { job_id: 'J', status: 'in_progress', items_done: 21 });
    expect(rec.queued).toBe(4);
    expect(rec.counters.coalesced).toBe(19);
    rec.start();
    await waitFor(() => rec.counters.written === 4);
    expect(await jobs(db)).toMatchObject([{ job_key: 'J', status: 'active', items_done: 21 }]);
    await rec.stop();
  });

  it('sheds messages beyond its queue limit, counted and logged, and keeps the ones it took', async () => {
    const db = await openTestPGlite();
    const { rec, lines } = recorder(db, 2);
    rec.noteJob('a', 1, { status: 'started' });
    rec.noteJob('b', 1, { status: 'started' });
    rec.noteJob('c', 1, { status: 'started' });
    expect(rec.ignoredCounts()).toEqual({ shed: 1 });
    expect(lines.some((l) => l.msg === 'jobs: queue full, message shed')).toBe(true);
    rec.start();
    await rec.stop();
    expect((await jobs(db)).length).toBe(2);
  });

  it('logs (bounded) and counts a message the database refuses, and goes on with the next', async () => {
    const db = await openTestPGlite();
    const { rec, lines } = recorder(db);
    // A robot id longer than the column: the database refuses the row.
    rec.noteJob('x'.repeat(80), 1, { status: 'started' });
    rec.noteJob('ok', 1, { status: 'started' });
    rec.start();
    await waitFor(() => rec.counters.written === 1, 10_000);
    expect(rec.ignoredCounts()).toEqual({ write_failed: 1 });
    expect(lines.some((l) => l.msg === 'jobs: message not recorded: the database refused it')).toBe(true);
    expect((await jobs(db)).map((j) => j.status)).toEqual(['active']);
    await rec.stop();
  });
});
