import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/client';
import type { Job, JobFigures, JobList, JobStats, ScanList } from '../api/types';
import { Button, Card, cx, EmptyState, ErrorState, inputClass, Loading, Time } from '../components/ui';
import { formatNumber } from '../lib/format';
import { useLive, useLiveFrames, useLiveTelemetry } from '../live/live-context';

const STATES = ['completed', 'failed', 'cancelled'] as const;
const WINDOWS = [
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
] as const;

export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function percent(rate: number | null): string {
  return rate === null ? '—' : `${formatNumber(rate * 100, 0)}%`;
}

const STATE_STYLE: Record<Job['status'], string> = {
  active: 'bg-sky-100 text-sky-900 dark:bg-sky-900/50 dark:text-sky-100',
  completed: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/50 dark:text-emerald-100',
  failed: 'bg-red-100 text-red-900 dark:bg-red-900/50 dark:text-red-100',
  cancelled: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
};

function StateBadge({ job }: { job: Job }) {
  const label = job.status === 'completed' && job.success === false ? 'completed, unsuccessful' : job.status;
  return (
    <span className={cx('inline-flex rounded-full px-2 py-0.5 text-xs font-medium', STATE_STYLE[job.status])}>
      {label}
    </span>
  );
}

/** The job frames of the live stream refresh the job lists, once per animation frame's batch. */
function useJobsRefresh() {
  const client = useQueryClient();
  useLiveTelemetry({ measurements: ['job'] }, 'job');
  useLiveFrames('job', () => void client.invalidateQueries({ queryKey: ['jobs'] }));
}

function ActiveJob({ job }: { job: Job }) {
  // The robot's `job` measurement moves the bar between job messages.
  const livePercent = useLive((s) => s.value(job.robot_id, 'job', 'percent'));
  const liveDone = useLive((s) => s.value(job.robot_id, 'job', 'items_done'));
  const pct = Math.max(0, Math.min(100, livePercent ?? job.percent_complete));
  const done = Math.max(liveDone ?? 0, job.items_done);
  return (
    <li data-testid={`active-job-${job.robot_id}`} className="p-3">
      <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
        <span className="font-medium">
          <Link to={`/robots/${encodeURIComponent(job.robot_id)}?tab=jobs`} className="underline">
            {job.robot_id}
          </Link>{' '}
          · {job.task_name ?? job.job_key ?? `Job ${job.id}`}
        </span>
        <span className="text-slate-600 dark:text-slate-400">
          phase <span data-testid="job-phase">{job.phase ?? '—'}</span> · started{' '}
          <Time value={job.start_time} />
        </span>
      </div>
      <div className="mt-2 flex items-center gap-3">
        <div
          role="progressbar"
          aria-label={`Progress of ${job.robot_id}'s job`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(pct)}
          className="h-2.5 flex-1 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
        >
          <div className="h-full bg-teal-600 dark:bg-teal-500" style={{ width: `${pct}%` }} />
        </div>
        <span data-testid="job-progress" className="w-40 text-right text-sm tabular-nums">
          {formatNumber(pct, 0)}% · {done}
          {job.items_total !== null ? ` / ${job.items_total}` : ''} items
        </span>
      </div>
    </li>
  );
}

function Figures({ figures, title }: { figures: JobFigures; title: string }) {
  const cell = 'rounded-md bg-slate-50 p-2 dark:bg-slate-800/60';
  return (
    <div>
      <h3 className="mb-2 text-sm font-medium">{title}</h3>
      <dl className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
        <div className={cell}>
          <dt className="text-xs text-slate-600 dark:text-slate-400">Success rate</dt>
          <dd className="font-semibold tabular-nums" data-testid="success-rate">
            {percent(figures.success_rate)}
          </dd>
        </div>
        <div className={cell}>
          <dt className="text-xs text-slate-600 dark:text-slate-400">Jobs (done / failed / cancelled)</dt>
          <dd className="font-semibold tabular-nums">
            {figures.total} ({figures.completed} / {figures.failed} / {figures.cancelled})
          </dd>
        </div>
        <div className={cell}>
          <dt className="text-xs text-slate-600 dark:text-slate-400">Duration (mean / median)</dt>
          <dd className="font-semibold tabular-nums">
            {formatDuration(figures.avg_duration_s)} / {formatDuration(figures.median_duration_s)}
          </dd>
        </div>
        <div className={cell}>
          <dt className="text-xs text-slate-600 dark:text-slate-400">Items per hour</dt>
          <dd className="font-semibold tabular-nums">{formatNumber(figures.items_per_hour, 1)}</dd>
        </div>
      </dl>
    </div>
  );
}

function JobItems({ job }: { job: Job }) {
  const scans = useQuery({
    queryKey: ['jobs', 'scans', job.id],
    queryFn: ({ signal }) => api<ScanList>('/scans', { query: { job_id: job.id, limit: 100 }, signal }),
  });
  if (scans.isPending) return <Loading label="Loading the job's items…" />;
  if (scans.isError) return <ErrorState error={scans.error} retry={() => void scans.refetch()} />;
  if (scans.data.items.length === 0) return <p className="p-3 text-sm">No item was scanned in this job.</p>;
  return (
    <ul aria-label={`Items of job ${job.id}`} className="space-y-1 p-3 text-sm">
      {scans.data.items.map((s) => (
        <li key={s.id} className="flex flex-wrap gap-x-3">
          <Time value={s.scanned_at} />
          <span className="font-mono">{s.code}</span>
          <span>{s.found ? (s.item_name ?? 'known item') : 'not in the catalogue'}</span>
          {s.station_name && <span className="text-slate-600 dark:text-slate-400">at {s.station_name}</span>}
        </li>
      ))}
    </ul>
  );
}

function HistoryRow({ job, showRobot }: { job: Job; showRobot: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <li>
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2 text-sm">
        <StateBadge job={job} />
        {showRobot && <span className="font-mono">{job.robot_id}</span>}
        <span className="font-medium">{job.task_name ?? job.job_key ?? `Job ${job.id}`}</span>
        <span className="text-slate-600 dark:text-slate-400">
          <Time value={job.start_time} /> · {formatDuration(job.duration_s)} · {job.items_done}
          {job.items_total !== null ? ` / ${job.items_total}` : ''} items
          {job.cancel_reason ? ` · ${job.cancel_reason}` : ''}
        </span>
        <Button
          size="sm"
          tone="ghost"
          className="ml-auto"
          aria-expanded={open}
          onClick={() => setOpen((o) => !o)}
        >
          {open ? 'Hide items' : 'Items'}
        </Button>
      </div>
      {open && <JobItems job={job} />}
    </li>
  );
}

/**
 * Jobs: the active ones with live progress and phase, the fleet's (or one robot's) figures, and the history
 * filtered by the URL (`status`, `robot`, `window`) with each job's items. `robotId` fixes the robot.
 */
export function JobsView({ robotId }: { robotId?: string }) {
  useJobsRefresh();
  const [params, setParams] = useSearchParams();
  const ids = useId();
  const status = STATES.find((s) => s === params.get('status'));
  const robot = robotId ?? (params.get('robot')?.trim() || undefined);
  const range = WINDOWS.find((w) => w.value === params.get('window'))?.value ?? '7d';
  const set = (key: string, value: string | undefined) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );

  const active = useQuery({
    queryKey: ['jobs', 'active', robot],
    queryFn: ({ signal }) =>
      api<JobList>('/jobs', { query: { status: 'active', robot_id: robot, limit: 100 }, signal }),
  });
  const stats = useQuery({
    queryKey: ['jobs', 'stats', robot, range],
    queryFn: ({ signal }) =>
      api<JobStats>('/jobs/stats', { query: { robot_id: robot, from: range }, signal }),
  });
  const history = useInfiniteQuery({
    queryKey: ['jobs', 'history', robot, status, range],
    queryFn: ({ pageParam, signal }) =>
      api<JobList>('/jobs', {
        query: { robot_id: robot, status, from: range, limit: 50, cursor: pageParam },
        signal,
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const label = 'mb-1 block text-xs font-medium text-slate-700 dark:text-slate-300';
  const ended = (history.data?.pages.flatMap((p) => p.items) ?? []).filter((j) => j.status !== 'active');

  return (
    <div className="space-y-4">
      <Card>
        <h2 className="border-b border-slate-200 px-3 py-2 font-medium dark:border-slate-800">Active jobs</h2>
        {active.isPending ? (
          <Loading label="Loading the active jobs…" />
        ) : active.isError ? (
          <ErrorState error={active.error} retry={() => void active.refetch()} />
        ) : active.data.items.length === 0 ? (
          <EmptyState title="No job is running">A robot's job appears here as soon as it starts.</EmptyState>
        ) : (
          <ul aria-label="Active jobs" className="divide-y divide-slate-200 dark:divide-slate-800">
            {active.data.items.map((j) => (
              <ActiveJob key={j.id} job={j} />
            ))}
          </ul>
        )}
      </Card>

      <Card className="p-3">
        <div className="mb-3 flex flex-wrap items-end gap-3">
          <h2 className="mr-auto font-medium">Statistics</h2>
          <div>
            <label htmlFor={`${ids}-window`} className={label}>
              Jobs started
            </label>
            <select
              id={`${ids}-window`}
              className={inputClass}
              value={range}
              onChange={(e) => set('window', e.target.value === '7d' ? undefined : e.target.value)}
            >
              {WINDOWS.map((w) => (
                <option key={w.value} value={w.value}>
                  {w.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        {stats.isPending ? (
          <Loading label="Loading the statistics…" />
        ) : stats.isError ? (
          <ErrorState error={stats.error} retry={() => void stats.refetch()} />
        ) : (
          <div className="space-y-4">
            <Figures figures={stats.data.fleet} title={robotId ? 'This robot' : robot ? robot : 'Fleet'} />
            {!robot && stats.data.robots.length > 0 && (
              <div className="overflow-x-auto">
                <table className="w-full text-left text-sm">
                  <caption className="sr-only">Jobs per robot</caption>
                  <thead className="text-xs text-slate-600 dark:text-slate-400">
                    <tr>
                      <th className="py-1 pr-3 font-medium">Robot</th>
                      <th className="py-1 pr-3 font-medium">Jobs</th>
                      <th className="py-1 pr-3 font-medium">Success</th>
                      <th className="py-1 pr-3 font-medium">Mean duration</th>
                      <th className="py-1 pr-3 font-medium">Items / h</th>
                    </tr>
                  </thead>
                  <tbody>
                    {stats.data.robots.map((r) => (
                      <tr key={r.robot_id} className="border-t border-slate-200 dark:border-slate-800">
                        <td className="py-1 pr-3 font-mono">{r.robot_id}</td>
                        <td className="py-1 pr-3 tabular-nums">{r.total}</td>
                        <td className="py-1 pr-3 tabular-nums">{percent(r.success_rate)}</td>
                        <td className="py-1 pr-3 tabular-nums">{formatDuration(r.avg_duration_s)}</td>
                        <td className="py-1 pr-3 tabular-nums">{formatNumber(r.items_per_hour, 1)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        )}
      </Card>

      <Card>
        <div className="flex flex-wrap items-end gap-3 border-b border-slate-200 p-3 dark:border-slate-800">
          <h2 className="mr-auto font-medium">History</h2>
          <div>
            <label htmlFor={`${ids}-status`} className={label}>
              State
            </label>
            <select
              id={`${ids}-status`}
              className={inputClass}
              value={status ?? ''}
              onChange={(e) => set('status', e.target.value || undefined)}
            >
              <option value="">Any ended</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          {!robotId && (
            <div>
              <label htmlFor={`${ids}-robot`} className={label}>
                Robot
              </label>
              <input
                id={`${ids}-robot`}
                className={inputClass}
                placeholder="Any robot"
                defaultValue={robot ?? ''}
                onBlur={(e) => set('robot', e.target.value.trim() || undefined)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') set('robot', e.currentTarget.value.trim() || undefined);
                }}
              />
            </div>
          )}
        </div>
        {history.isPending ? (
          <Loading label="Loading the job history…" />
        ) : history.isError ? (
          <ErrorState error={history.error} retry={() => void history.refetch()} />
        ) : ended.length === 0 ? (
          <EmptyState title="No ended job matches these filters">
            Widen the time window or choose another state.
          </EmptyState>
        ) : (
          <>
            <ul aria-label="Job history" className="divide-y divide-slate-200 dark:divide-slate-800">
              {ended.map((j) => (
                <HistoryRow key={j.id} job={j} showRobot={!robotId} />
              ))}
            </ul>
            {history.hasNextPage && (
              <div className="border-t border-slate-200 p-3 text-center dark:border-slate-800">
                <Button
                  size="sm"
                  busy={history.isFetchingNextPage}
                  onClick={() => void history.fetchNextPage()}
                >
                  Load older jobs
                </Button>
              </div>
            )}
          </>
        )}
      </Card>
    </div>
  );
}
