/**
 * What one `job` message says, in the server's terms: the step (start, progress, end), the job it names
 * and the fields it sets. Both protocols come here: the canonical payload and the original client's two
 * shapes (progress `{start_time, items_*, percent, status: working|completed, last_item, history, …}` and
 * event `{task_name, status: started|in_progress|completed|cancelled|failed, phase, success, reason, …}`).
 * Pure: the payload has passed the contract's JobPayload schema at ingest.
 */

export type JobStep = 'start' | 'progress' | 'complete' | 'cancel' | 'fail';

export interface JobUpdate {
  step: JobStep;
  /** The robot's job id (canonical `job_id`), when it sends one. */
  key?: string;
  /** The message's event time (epoch ms). */
  ts: number;
  /** When the robot says the job started (the legacy `start_time`), else derived from the elapsed time. */
  startedAt?: number;
  /** When the robot says it ended (legacy `end_time`). */
  endedAt?: number;
  task_name?: string;
  phase?: string;
  items_done?: number;
  items_total?: number;
  percent?: number;
  last_item?: unknown;
  success?: boolean;
  reason?: string;
  estimated_duration_s?: number;
  action_duration_s?: number;
}

const STEPS: Record<string, JobStep> = {
  started: 'start',
  in_progress: 'progress',
  working: 'progress',
  completed: 'complete',
  cancelled: 'cancel',
  failed: 'fail',
};

/** The step of a status the contract allows; undefined for one it does not (never after ingest). */
export function jobStep(status: unknown): JobStep | undefined {
  return typeof status === 'string' && Object.hasOwn(STEPS, status) ? STEPS[status] : undefined;
}

export function readJobMessage(data: Record<string, unknown>, ts: number): JobUpdate | undefined {
  const step = jobStep(data.status);
  if (!step) return undefined;
  const update: JobUpdate = { step, ts };
  const key = str(data.job_id);
  if (key !== undefined && key.length > 0) update.key = key;
  const task = str(data.task_name);
  if (task !== undefined) update.task_name = task;
  const phase = str(data.phase);
  if (phase !== undefined) update.phase = phase;
  const done = int(data.items_done);
  if (done !== undefined) update.items_done = done;
  const total = int(data.items_total);
  if (total !== undefined) update.items_total = total;
  const percent = num(data.percent) ?? num(data.progress_percent);
  if (percent !== undefined) update.percent = Math.min(100, Math.max(0, percent));
  if (data.last_item !== undefined && data.last_item !== null) update.last_item = data.last_item;
  if (typeof data.success === 'boolean') update.success = data.success;
  // The original client sends `reason`; the original backend read `cancel_reason` (so it never saw one).
  const reason = str(data.reason) ?? str(data.cancel_reason);
  if (reason !== undefined && reason.length > 0) update.reason = reason.slice(0, 500);
  const estimated = num(data.estimated_duration);
  if (estimated !== undefined && estimated >= 0) update.estimated_duration_s = estimated;
  const action = num(data.action_duration);
  if (action !== undefined && action >= 0) update.action_duration_s = action;
  const started = time(data.start_time);
  const elapsed = num(data.elapsed_s) ?? num(data.elapsed_time);
  // The elapsed time first: it is measured on the robot, whatever its clock or time zone says (the original
  // client's start_time is local time without a zone).
  if (elapsed !== undefined && elapsed >= 0) update.startedAt = ts - Math.round(elapsed * 1000);
  else if (started !== undefined && started <= ts) update.startedAt = started;
  const ended = time(data.end_time);
  if (ended !== undefined && ended <= ts && (update.startedAt === undefined || ended >= update.startedAt)) {
    update.endedAt = ended;
  }
  return update;
}

/**
 * Folds a later progress message of the same job into an earlier one still waiting to be written: the
 * later values win, what only the earlier said is kept.
 */
export function mergeProgress(earlier: JobUpdate, later: JobUpdate): JobUpdate {
  const merged: JobUpdate = { ...earlier };
  for (const [k, v] of Object.entries(later)) {
    if (v !== undefined && k !== 'startedAt') (merged as unknown as Record<string, unknown>)[k] = v;
  }
  merged.startedAt = earlier.startedAt ?? later.startedAt;
  return merged;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2_147_483_647 ? v : undefined;
}
/** The legacy client's times are ISO-8601 without a zone (server local time), as elsewhere in the ingest. */
function time(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.length > 64) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
