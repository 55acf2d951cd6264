import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FileDown, Plus, Trash2, X } from 'lucide-react';
import { useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../../api/client';
import type {
  CreateReportRequest,
  ReportAccepted,
  ReportAiStatus,
  ReportKind,
  ReportList,
  ReportView,
} from '../../api/types';
import { useCan } from '../../auth/auth';
import { Dialog } from '../../components/dialog';
import { useToast } from '../../components/toasts';
import {
  Button,
  Card,
  cx,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
  ScrollRegion,
  Time,
} from '../../components/ui';
import { useLiveChannels, useLiveFrames } from '../../live/live-context';
import { fieldErrors } from '../robot/settings-tab';
import { type ReportWhat, ReportWhatFields } from './report-fields';
import { KIND_LABELS } from './report-labels';
import { SchedulesPanel } from './schedules-panel';

export { KIND_LABELS, SECTION_LABELS } from './report-labels';

const PERIODS = [
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
  { value: 'custom', label: 'Custom range' },
] as const;

const STATUS_TONE: Record<ReportView['status'], string> = {
  queued: 'bg-slate-100 text-slate-800 dark:bg-slate-800 dark:text-slate-200',
  running: 'bg-sky-100 text-sky-900 dark:bg-sky-950 dark:text-sky-200',
  completed: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200',
  failed: 'bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200',
  cancelled: 'bg-amber-100 text-amber-900 dark:bg-amber-950 dark:text-amber-200',
};

export function ReportStatusBadge({ report }: { report: ReportView }) {
  return (
    <span
      className={cx(
        'rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap',
        STATUS_TONE[report.status],
      )}
      data-testid={`report-status-${report.id}`}
      data-status={report.status}
    >
      {report.status === 'running' ? `running ${Math.round(report.progress * 100)} %` : report.status}
    </span>
  );
}

/** Periods as the API takes them: a duration back from now, or two instants. */
function periodBody(period: string, from: string, to: string): Pick<CreateReportRequest, 'from' | 'to'> {
  if (period !== 'custom') return { from: period };
  return { from: new Date(from).toISOString(), ...(to ? { to: new Date(to).toISOString() } : {}) };
}

function NewReportForm({ onDone }: { onDone: () => void }) {
  const [what, setWhat] = useState<ReportWhat>({
    kind: 'fleet_summary',
    scope: 'fleet',
    robotId: '',
    tag: '',
    sections: ['performance', 'alerts'],
  });
  const { kind, scope, robotId, tag, sections } = what;
  const [period, setPeriod] = useState<string>('7d');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [ai, setAi] = useState(false);
  const aiStatus = useQuery({
    queryKey: ['reports', 'ai-status'],
    queryFn: ({ signal }) => api<ReportAiStatus>('/reports/ai-status', { signal }),
    staleTime: 60_000,
  });
  const aiReady = aiStatus.data?.configured === true;
  const ids = {
    period: useId(),
    from: useId(),
    to: useId(),
    ai: useId(),
  };
  const client = useQueryClient();
  const toast = useToast();
  const create = useMutation({
    mutationFn: (body: CreateReportRequest) => api<ReportAccepted>('/reports', { method: 'POST', body }),
    onSuccess: (r) => {
      toast.push({
        title: 'Report queued',
        description: `Report ${r.report_id} is being generated.`,
        tone: 'success',
      });
      void client.invalidateQueries({ queryKey: ['reports'] });
      onDone();
    },
  });
  const errors = fieldErrors(create.error);
  const label = 'mb-1 block text-sm font-medium';
  const error = (key: string) =>
    errors[key] ? <p className="mt-1 text-sm text-red-700 dark:text-red-400">{errors[key]}</p> : null;
  return (
    <form
      aria-label="New report"
      className="grid gap-3 sm:grid-cols-2"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate({
          kind,
          ...(scope === 'robot' && robotId ? { robot_id: robotId } : {}),
          ...(scope === 'tag' && tag.trim() ? { tag: tag.trim() } : {}),
          ...periodBody(period, from, to),
          ...(kind === 'custom' ? { sections } : {}),
          ai: aiReady && ai,
        });
      }}
    >
      <ReportWhatFields value={what} onChange={setWhat} error={error} />
      <div>
        <label htmlFor={ids.period} className={label}>
          Period
        </label>
        <select
          id={ids.period}
          className={inputClass}
          value={period}
          onChange={(e) => setPeriod(e.target.value)}
        >
          {PERIODS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
        {error('from')}
      </div>
      {period === 'custom' && (
        <>
          <div>
            <label htmlFor={ids.from} className={label}>
              From
            </label>
            <input
              id={ids.from}
              type="datetime-local"
              className={inputClass}
              value={from}
              required
              onChange={(e) => setFrom(e.target.value)}
            />
          </div>
          <div>
            <label htmlFor={ids.to} className={label}>
              To <span className="font-normal text-slate-600 dark:text-slate-400">(empty: now)</span>
            </label>
            <input
              id={ids.to}
              type="datetime-local"
              className={inputClass}
              value={to}
              onChange={(e) => setTo(e.target.value)}
            />
            {error('to')}
          </div>
        </>
      )}
      <div className="flex items-start gap-2 sm:col-span-2">
        <input
          id={ids.ai}
          type="checkbox"
          className="mt-0.5 size-4"
          checked={aiReady && ai}
          disabled={!aiReady}
          onChange={(e) => setAi(e.target.checked)}
        />
        <label htmlFor={ids.ai} className="text-sm">
          Add AI insights
          <span className="block text-xs text-slate-600 dark:text-slate-400">
            {aiReady
              ? `Written by ${aiStatus.data?.model} from the report's figures, marked as AI-generated.`
              : 'No AI provider is configured (GEMINI_API_KEY, or LLM_BASE_URL for a local model): the built-in analysis writes the findings.'}
          </span>
        </label>
      </div>
      {create.isError && Object.keys(errors).length === 0 && (
        <p role="alert" className="text-sm text-red-700 sm:col-span-2 dark:text-red-400">
          {create.error.message}
        </p>
      )}
      <div className="flex gap-2 sm:col-span-2">
        <Button type="submit" tone="primary" busy={create.isPending}>
          Generate
        </Button>
        <Button onClick={onDone}>Cancel</Button>
      </div>
    </form>
  );
}

/** The reports: ask for one (operators), follow its progress live, read, download, cancel, delete. */
export default function ReportsPage() {
  const canManage = useCan('reports:manage');
  const [creating, setCreating] = useState(false);
  const [kind, setKind] = useState<ReportKind | ''>('');
  const [confirm, setConfirm] = useState<ReportView>();
  const client = useQueryClient();
  // A schedule's history: its runs only (`?schedule=ID`, so the URL keeps it).
  const [params, setParams] = useSearchParams();
  const scheduleId = Number(params.get('schedule')) || undefined;
  const scheduleName = params.get('schedule_name');
  const query = { limit: 50, ...(kind ? { kind } : {}), ...(scheduleId ? { schedule_id: scheduleId } : {}) };
  const reports = useQuery({
    queryKey: ['reports', 'list', query],
    queryFn: ({ signal }) => api<ReportList>('/reports', { query, signal }),
    placeholderData: keepPreviousData,
  });
  useLiveChannels('report');
  // Progress in place; a new status (completed, failed) reads the list again.
  useLiveFrames('report', (frames) => {
    client.setQueriesData<ReportList>({ queryKey: ['reports', 'list'] }, (old) => {
      if (!old) return old;
      let known = true;
      const items = old.items.map((r) => {
        const f = frames.findLast((x) => x.report_id === r.id);
        if (!f) return r;
        return { ...r, status: f.status, progress: f.progress, error: f.error };
      });
      for (const f of frames) if (!old.items.some((r) => r.id === f.report_id)) known = false;
      if (!known) void client.invalidateQueries({ queryKey: ['reports', 'list'] });
      return { ...old, items };
    });
    if (frames.some((f) => f.status !== 'running'))
      void client.invalidateQueries({ queryKey: ['reports', 'list'] });
  });
  const cancel = useMutation({
    mutationFn: (id: number) => api<ReportView>(`/reports/${id}/cancel`, { method: 'POST' }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['reports'] }),
  });
  const remove = useMutation({
    mutationFn: (id: number) => api<null>(`/reports/${id}`, { method: 'DELETE' }),
    onSuccess: () => {
      setConfirm(undefined);
      void client.invalidateQueries({ queryKey: ['reports'] });
    },
  });
  const th = 'px-2 py-1.5 text-left font-medium';
  return (
    <div className="space-y-4">
      <PageHeader title="Reports">
        {canManage && !creating && (
          <Button tone="primary" onClick={() => setCreating(true)}>
            <Plus aria-hidden className="size-4" /> New report
          </Button>
        )}
      </PageHeader>
      {creating && (
        <Card className="p-4">
          <h2 className="mb-3 font-semibold">New report</h2>
          <NewReportForm onDone={() => setCreating(false)} />
        </Card>
      )}
      <Card className="p-4">
        <div id="report-list" className="mb-3 flex flex-wrap items-center gap-2">
          <label className="text-sm" htmlFor="report-kind-filter">
            Show
          </label>
          <select
            id="report-kind-filter"
            className={`${inputClass} sm:max-w-xs`}
            value={kind}
            onChange={(e) => setKind(e.target.value as ReportKind | '')}
          >
            <option value="">All kinds</option>
            {Object.entries(KIND_LABELS).map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
          {scheduleId && (
            <span className="inline-flex items-center gap-1 rounded-full bg-slate-100 py-0.5 pr-1 pl-2.5 text-sm dark:bg-slate-800">
              Runs of {scheduleName ? `“${scheduleName}”` : `schedule ${scheduleId}`}
              <Button
                size="sm"
                tone="ghost"
                aria-label="Show all reports"
                onClick={() =>
                  setParams((p) => {
                    p.delete('schedule');
                    p.delete('schedule_name');
                    return p;
                  })
                }
              >
                <X aria-hidden className="size-4" />
              </Button>
            </span>
          )}
        </div>
        {reports.isPending ? (
          <Loading label="Loading reports…" />
        ) : reports.isError ? (
          <ErrorState error={reports.error} retry={() => void reports.refetch()} />
        ) : reports.data.items.length === 0 ? (
          <EmptyState
            title={
              scheduleId
                ? 'This schedule has made no report yet'
                : kind
                  ? 'No report of this kind yet'
                  : 'No report yet'
            }
          >
            {canManage ? 'Generate one with “New report”.' : 'An operator can generate one.'}
          </EmptyState>
        ) : (
          <ScrollRegion label="Reports">
            <table className="w-full min-w-[44rem] text-sm">
              <thead>
                <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
                  <th className={th}>Report</th>
                  <th className={th}>Period</th>
                  <th className={th}>Status</th>
                  <th className={th}>Asked</th>
                  <th className={th}>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {reports.data.items.map((r) => (
                  <tr
                    key={r.id}
                    className="border-b border-slate-100 dark:border-slate-800/60"
                    data-testid={`report-row-${r.id}`}
                  >
                    <td className="px-2 py-1.5">
                      <Link to={`/reports/${r.id}`} className="font-medium underline">
                        {r.title}
                      </Link>
                      <div className="text-xs text-slate-600 dark:text-slate-400">{KIND_LABELS[r.kind]}</div>
                    </td>
                    <td className="px-2 py-1.5 whitespace-nowrap">
                      <Time value={r.from} /> – <Time value={r.to} />
                    </td>
                    <td className="px-2 py-1.5">
                      <ReportStatusBadge report={r} />
                      {r.error && (
                        <div className="mt-1 text-xs text-red-700 dark:text-red-400">{r.error}</div>
                      )}
                    </td>
                    <td className="px-2 py-1.5 whitespace-nowrap">
                      <Time value={r.created_at} />
                      {r.created_by ? ` by ${r.created_by}` : ''}
                    </td>
                    <td className="px-2 py-1.5">
                      <div className="flex flex-wrap justify-end gap-1">
                        {r.status === 'completed' && (
                          <a
                            href={`/api/v1/reports/${r.id}/pdf`}
                            className="inline-flex items-center gap-1 rounded px-2 py-1 text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
                          >
                            <FileDown aria-hidden className="size-4" /> PDF
                          </a>
                        )}
                        {canManage && (r.status === 'queued' || r.status === 'running') && (
                          <Button
                            size="sm"
                            tone="ghost"
                            busy={cancel.isPending && cancel.variables === r.id}
                            onClick={() => cancel.mutate(r.id)}
                          >
                            <X aria-hidden className="size-4" /> Cancel
                          </Button>
                        )}
                        {canManage && (
                          <Button
                            size="sm"
                            tone="ghost"
                            aria-label={`Delete ${r.title}`}
                            onClick={() => setConfirm(r)}
                          >
                            <Trash2 aria-hidden className="size-4" />
                          </Button>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </Card>
      <SchedulesPanel
        onHistory={(sch) => {
          setParams((p) => {
            p.set('schedule', String(sch.id));
            p.set('schedule_name', sch.name);
            return p;
          });
          document.getElementById('report-list')?.scrollIntoView?.({ behavior: 'smooth' });
        }}
      />
      <Dialog
        open={confirm !== undefined}
        onOpenChange={(o) => !o && setConfirm(undefined)}
        title="Delete this report?"
        description={confirm ? `“${confirm.title}” and its content are deleted.` : undefined}
      >
        {remove.isError && (
          <p role="alert" className="mb-3 text-sm text-red-700 dark:text-red-400">
            {remove.error.message}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={() => setConfirm(undefined)}>Cancel</Button>
          <Button tone="danger" busy={remove.isPending} onClick={() => confirm && remove.mutate(confirm.id)}>
            Delete
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
