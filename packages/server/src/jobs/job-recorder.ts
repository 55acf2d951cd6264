import { JOB_SUPERSEDED, type LiveServerEvents } from '@tonypi/contracts';
import type { EventSubscriber } from '../core/event-bus';
import type { Database, Queryable } from '../db/database';
import type { Logger } from '../logger';
import { ReasonLog } from '../reason-log';
import { type JobUpdate, mergeProgress, readJobMessage } from './job-message';
import type { JobColumns, JobRow, JobsRepository } from './jobs.repository';

/** How the item catalogue answers a scan (the items module sets it; without one, every scan is "not found"). */
export interface ScanResolver {
  /** Looks the code up and answers the robot on its items topic; never throws. */
  resolve(scan: ScanOp): Promise<{ found: boolean; item_id: number | null; item_name: string | null }>;
}

export type ScanOp = LiveServerEvents['scan'];

type Op =
  | { kind: 'job'; robot_id: string; update: JobUpdate; taken: boolean }
  | { kind: 'scan'; robot_id: string; scan: ScanOp; taken: boolean };

/** Why a job message changed nothing (counted, logged at a bounded rate). */
export type JobIgnoreReason = 'late_progress' | 'duplicate_end' | 'shed' | 'write_failed';

/** A job message this close after the robot's last job ended, naming no job, is that end repeated. */
const DUPLICATE_END_WINDOW_MS = 10_000;
const WRITE_ATTEMPTS = 3;
const RETRY_DELAY_MS = 500;
/** How long stop() waits for the queue to empty. */
const STOP_DRAIN_MS = 5000;

export interface JobRecorderOptions {
  db: Database;
  repo: JobsRepository;
  logger: Logger;
  /** Most messages waiting to be written; beyond it, new ones are shed (counted). */
  queueLimit?: number;
}

/**
 * Turns the robots' `job` and `scan` messages into job rows and scan events, off the ingest's path: the
 * event handlers only queue; one worker writes, in arrival order (a robot's scans and job messages keep
 * their order), one transaction per message. Progress messages of the same job waiting in a row are
 * folded into one write. A job never ends silently: one that a newer job replaces is closed as cancelled
 * with the reason `superseded` and a link to its successor.
 */
export class JobRecorder {
  private queue: Op[] = [];
  private head = 0;
  /** Each robot's newest queued operation, while it is still waiting (for coalescing). */
  private readonly lastOp = new Map<string, Op>();
  private running: Promise<void> | undefined;
  private stopped = false;
  private started = false;
  private resolver: ScanResolver | undefined;
  private readonly ignored: ReasonLog<JobIgnoreReason>;
  private readonly queueLimit: number;
  readonly counters = { job_messages: 0, scans: 0, coalesced: 0, written: 0 };

  constructor(private readonly opts: JobRecorderOptions) {
    this.queueLimit = opts.queueLimit ?? 10_000;
    this.ignored = new ReasonLog(opts.logger, 10_000);
  }

  /** Subscribes to the ingest's job and scan events; returns the unsubscribe. */
  follow(events: EventSubscriber): () => void {
    const offs = [
      events.subscribe('robot.job', (e) => this.noteJob(e.robot_id, e.ts, e.data)),
      events.subscribe('robot.scan', (e) => this.noteScan(e)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  setScanResolver(resolver: ScanResolver): void {
    this.resolver = resolver;
  }

  noteJob(robot_id: string, ts: number, data: Record<string, unknown>): void {
    const update = readJobMessage(data, ts);
    if (!update) return;
    this.counters.job_messages++;
    const last = this.lastOp.get(robot_id);
    if (
      update.step === 'progress' &&
      last?.kind === 'job' &&
      !last.taken &&
      last.update.step === 'progress' &&
      last.update.key === update.key
    ) {
      last.update = mergeProgress(last.update, update);
      this.counters.coalesced++;
      return;
    }
    this.push({ kind: 'job', robot_id, update, taken: false });
  }

  noteScan(scan: ScanOp): void {
    this.counters.scans++;
    this.push({ kind: 'scan', robot_id: scan.robot_id, scan, taken: false });
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  ignoredCounts(): Record<string, number> {
    return this.ignored.counts();
  }

  /** Starts writing (queued messages included). */
  start(): void {
    this.started = true;
    this.kick();
  }

  /** Writes what is queued (for at most a few seconds; the rest is counted as not recorded), then stops. */
  async stop(): Promise<void> {
    const deadline = Date.now() + STOP_DRAIN_MS;
    while (this.queued > 0 && Date.now() < deadline && this.started) {
      this.kick();
      await this.running;
    }
    this.stopped = true;
    await this.running;
    const left = this.queued;
    if (left > 0) {
      for (let i = 0; i < left; i++) {
        this.ignored.note('shed', { queued: left }, 'jobs: messages not recorded at shutdown');
      }
      this.queue = [];
      this.head = 0;
    }
    this.ignored.flushSummary('jobs: messages not recorded since the last line');
  }

  private push(op: Op): void {
    if (this.stopped) return;
    if (this.queued >= this.queueLimit) {
      this.ignored.note(
        'shed',
        { robot_id: op.robot_id, queued: this.queued },
        'jobs: queue full, message shed',
      );
      return;
    }
    this.queue.push(op);
    this.lastOp.set(op.robot_id, op);
    this.kick();
  }

  private kick(): void {
    if (this.running || !this.started || this.stopped) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queued > 0 && !this.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.head < this.queue.length && !this.stopped) {
      const op = this.queue[this.head]!;
      this.queue[this.head] = undefined as never;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      op.taken = true;
      if (this.lastOp.get(op.robot_id) === op) this.lastOp.delete(op.robot_id);
      await this.apply(op);
    }
  }

  private async apply(op: Op): Promise<void> {
    // The answer to a scan goes out before anything is written: the robot waits for it.
    const resolved =
      op.kind === 'scan'
        ? ((await this.resolver?.resolve(op.scan)) ?? { found: false, item_id: null, item_name: null })
        : undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.db.transaction((tx) =>
          op.kind === 'job'
            ? this.applyJob(tx, op.robot_id, op.update)
            : this.applyScan(tx, op.scan, resolved!),
        );
        this.counters.written++;
        return;
      } catch (err) {
        if (attempt >= WRITE_ATTEMPTS || this.stopped) {
          this.ignored.note(
            'write_failed',
            { robot_id: op.robot_id, kind: op.kind, err },
            'jobs: message not recorded: the database refused it',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
      }
    }
  }

  private async applyScan(
    tx: Queryable,
    scan: ScanOp,
    resolved: { found: boolean; item_id: number | null; item_name: string | null },
  ): Promise<void> {
    const repo = this.opts.repo;
    const active = await repo.findActive(tx, scan.robot_id);
    await repo.insertScan(tx, {
      robot_id: scan.robot_id,
      code: scan.code,
      found: resolved.found,
      item_id: resolved.item_id,
      station_name: scan.station_name,
      action: scan.action,
      job_id: active?.id ?? null,
      scanned_at: new Date(scan.ts),
    });
    if (!active) return;
    const items_done = active.items_done + 1;
    await repo.update(tx, active.id, {
      items_done,
      last_item: {
        code: scan.code,
        found: resolved.found,
        item_id: resolved.item_id,
        name: resolved.item_name,
        ...(scan.station_name === undefined ? {} : { station_name: scan.station_name }),
      },
      ...percentOf(items_done, active.items_total),
    });
  }

  private async applyJob(tx: Queryable, robot_id: string, u: JobUpdate): Promise<void> {
    const repo = this.opts.repo;
    const active = await repo.findActive(tx, robot_id);
    const sameJob =
      active !== undefined && (u.key === undefined || active.job_key === null || active.job_key === u.key);
    if (u.step === 'start') {
      // A repeated start of the job that runs (a QoS 1 redelivery) is an update; any other start is a new job.
      if (active && u.key !== undefined && active.job_key === u.key) {
        await repo.update(tx, active.id, this.progressColumns(active, u));
        return;
      }
      await this.open(tx, robot_id, 'start', u, active);
      return;
    }
    if (u.step === 'progress') {
      if (active && sameJob) {
        await repo.update(tx, active.id, this.progressColumns(active, u));
        return;
      }
      if (u.key !== undefined) {
        const known = await repo.findByKey(tx, robot_id, u.key);
        if (known && known.status !== 'active') {
          this.ignored.note(
            'late_progress',
            { robot_id, job_key: u.key },
            'jobs: progress of a job that has ended',
          );
          return;
        }
      }
      await this.open(tx, robot_id, 'progress', u, active);
      return;
    }
    // An end: of the active job, or of one this server never saw start.
    if (active && sameJob) {
      await repo.update(tx, active.id, { ...this.progressColumns(active, u), ...endColumns(active, u) });
      return;
    }
    const previous =
      u.key !== undefined ? await repo.findByKey(tx, robot_id, u.key) : await repo.findLatest(tx, robot_id);
    if (
      previous &&
      previous.status !== 'active' &&
      (u.key !== undefined ||
        (previous.end_time && u.ts - previous.end_time.getTime() <= DUPLICATE_END_WINDOW_MS))
    ) {
      // The same end again (the original client may report it as progress and as an event): fill in what it adds.
      const fill: JobColumns = {};
      if (previous.success === null && u.success !== undefined) fill.success = u.success;
      if (previous.cancel_reason === null && u.reason !== undefined && u.step !== 'complete')
        fill.cancel_reason = u.reason;
      if (previous.task_name === null && u.task_name !== undefined) fill.task_name = u.task_name;
      if (Object.keys(fill).length > 0) await repo.update(tx, previous.id, fill);
      else
        this.ignored.note(
          'duplicate_end',
          { robot_id, job_id: previous.id },
          'jobs: end of a job that has ended',
        );
      return;
    }
    const start = u.startedAt ?? u.ts;
    const row = await repo.insert(tx, robot_id, 'end', {
      ...this.progressColumns(undefined, u),
      start_time: new Date(start),
    });
    await repo.update(tx, row.id, endColumns(row, u));
  }

  /** Opens a new active job, closing the robot's active one first: superseded, never silently completed. */
  private async open(
    tx: Queryable,
    robot_id: string,
    opened_by: 'start' | 'progress',
    u: JobUpdate,
    active: JobRow | undefined,
  ): Promise<void> {
    const repo = this.opts.repo;
    const start = u.startedAt ?? u.ts;
    if (active) {
      const end = Math.max(active.start_time.getTime(), Math.min(start, u.ts));
      await repo.update(tx, active.id, {
        status: 'cancelled',
        success: false,
        cancel_reason: JOB_SUPERSEDED,
        end_time: new Date(end),
        duration_s: (end - active.start_time.getTime()) / 1000,
      });
    }
    const row = await repo.insert(tx, robot_id, opened_by, {
      ...this.progressColumns(undefined, u),
      start_time: new Date(start),
    });
    if (active) await repo.update(tx, active.id, { superseded_by: row.id });
  }

  private progressColumns(current: JobRow | undefined, u: JobUpdate): JobColumns {
    const columns: JobColumns = {
      job_key: current?.job_key ?? u.key,
      task_name: u.task_name,
      phase: u.phase,
      items_done: u.items_done,
      items_total: u.items_total,
      last_item: u.last_item,
      estimated_duration_s: u.estimated_duration_s,
      action_duration_s: u.action_duration_s,
    };
    if (u.percent !== undefined) columns.percent_complete = u.percent;
    else {
      const done = u.items_done ?? current?.items_done ?? 0;
      const total = u.items_total ?? current?.items_total ?? null;
      Object.assign(columns, percentOf(done, total));
    }
    // A job first seen mid-way learns its real start from a later message that says it.
    if (
      current &&
      current.opened_by !== 'start' &&
      u.startedAt !== undefined &&
      u.startedAt < current.start_time.getTime()
    ) {
      columns.start_time = new Date(u.startedAt);
    }
    return columns;
  }
}

function percentOf(done: number, total: number | null): { percent_complete?: number } {
  return total !== null && total > 0 ? { percent_complete: Math.min(100, (done / total) * 100) } : {};
}

function endColumns(job: JobRow, u: JobUpdate): JobColumns {
  const startMs = job.start_time.getTime();
  const end = Math.max(startMs, u.endedAt ?? u.ts);
  const columns: JobColumns = {
    status: u.step === 'complete' ? 'completed' : u.step === 'cancel' ? 'cancelled' : 'failed',
    end_time: new Date(end),
    duration_s: (end - startMs) / 1000,
    success: u.success ?? u.step === 'complete',
  };
  if (u.step === 'complete') {
    columns.percent_complete = 100;
    columns.phase = u.phase ?? 'done';
  } else if (u.reason !== undefined) columns.cancel_reason = u.reason;
  return columns;
}
