import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ArrowLeft, FileDown, Sparkles } from 'lucide-react';
import { Link, useParams } from 'react-router';
import { ApiError, api } from '../../api/client';
import type { ReportChart, ReportStatement, ReportTable, ReportWithDocument } from '../../api/types';
import { SnapshotCard } from '../../camera/snapshot-card';
import { TimeSeriesChart } from '../../components/chart/time-series-chart';
import { Card, cx, EmptyState, ErrorState, Loading, ScrollRegion, Time } from '../../components/ui';
import { useLiveChannels, useLiveFrames } from '../../live/live-context';
import { KIND_LABELS, ReportStatusBadge } from './reports-page';

const COLORS = ['#0f766e', '#2563eb', '#c2410c', '#7c3aed', '#be123c', '#4d7c0f', '#0369a1', '#a16207'];

const SEVERITY: Record<ReportStatement['severity'], string> = {
  info: 'border-slate-300 dark:border-slate-600',
  warning: 'border-amber-500',
  critical: 'border-red-600',
};

function Statements({ items, label }: { items: ReportStatement[]; label: string }) {
  if (items.length === 0) return null;
  return (
    <ul aria-label={label} className="space-y-1.5">
      {items.map((s, i) => (
        <li
          // biome-ignore lint/suspicious/noArrayIndexKey: statements are a fixed list of the stored document
          key={i}
          className={cx('border-l-4 py-0.5 pl-3 text-sm', SEVERITY[s.severity])}
          data-severity={s.severity}
        >
          {s.text}
          <span className="ml-2 text-xs text-slate-600 dark:text-slate-400">
            <Time value={s.from} /> – <Time value={s.to} />
          </span>
        </li>
      ))}
    </ul>
  );
}

function Table({ table }: { table: ReportTable }) {
  return (
    <div>
      <h4 className="mb-1 text-sm font-medium">{table.title}</h4>
      <ScrollRegion label={table.title}>
        <table className="w-full text-sm">
          <thead>
            <tr className="border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
              {table.columns.map((c) => (
                <th key={c.key} className="px-2 py-1 text-left font-medium whitespace-nowrap">
                  {c.label}
                  {c.unit ? ` (${c.unit})` : ''}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of a stored table, never reordered
              <tr key={i} className="border-b border-slate-100 dark:border-slate-800/60">
                {table.columns.map((c) => {
                  const v = row[c.key];
                  return (
                    <td
                      key={c.key}
                      className={cx('px-2 py-1', typeof v === 'number' && 'text-right tabular-nums')}
                    >
                      {v === null || v === undefined ? '—' : typeof v === 'number' ? Number(v.toFixed(2)) : v}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </div>
  );
}

function LineChart({ chart }: { chart: ReportChart }) {
  const times = [...new Set(chart.series.flatMap((s) => s.points.map((p) => Number(p[0]))))].sort(
    (a, b) => a - b,
  );
  const index = new Map(times.map((t, i) => [t, i]));
  const series = chart.series.map((s, i) => {
    const values: (number | null)[] = new Array(times.length).fill(null);
    for (const [x, y] of s.points) values[index.get(Number(x)) ?? 0] = y;
    return {
      label: s.name,
      values,
      color: COLORS[i % COLORS.length] ?? '#0f766e',
      unit: chart.unit ?? undefined,
    };
  });
  if (times.length === 0)
    return <p className="text-sm text-slate-600 dark:text-slate-400">{chart.title}: no data.</p>;
  return (
    <figure>
      <figcaption className="mb-1 text-sm font-medium">{chart.title}</figcaption>
      <TimeSeriesChart title={chart.title} times={times} series={series} height={200} />
    </figure>
  );
}

function BarChart({ chart }: { chart: ReportChart }) {
  const rows = chart.series.flatMap((s) =>
    s.points.map(([x, y]) => ({ label: `${x}`, name: s.name, value: y })),
  );
  const max = Math.max(1e-9, ...rows.map((r) => Math.abs(r.value ?? 0)));
  return (
    <figure>
      <figcaption className="mb-1 text-sm font-medium">{chart.title}</figcaption>
      <ul className="space-y-1">
        {rows.map((r, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: bars of a stored chart
          <li key={i} className="grid grid-cols-[8rem_minmax(0,1fr)_5rem] items-center gap-2 text-sm">
            <span className="truncate">
              {chart.series.length > 1 ? `${r.name} · ` : ''}
              {r.label}
            </span>
            <span className="h-3 rounded bg-slate-100 dark:bg-slate-800">
              <span
                className="block h-3 rounded bg-teal-600 dark:bg-teal-500"
                style={{ width: `${(Math.abs(r.value ?? 0) / max) * 100}%` }}
              />
            </span>
            <span className="text-right tabular-nums">
              {r.value === null ? '—' : Number(r.value.toFixed(2))}
              {chart.unit ? ` ${chart.unit}` : ''}
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** One report: its status while it is generated, then its findings, sections, tables and charts. */
export default function ReportPage() {
  const { reportId = '' } = useParams();
  const client = useQueryClient();
  const report = useQuery({
    queryKey: ['reports', 'one', reportId],
    queryFn: ({ signal }) => api<ReportWithDocument>(`/reports/${encodeURIComponent(reportId)}`, { signal }),
    retry: (n, err) => n < 2 && !(err instanceof ApiError && (err.status === 404 || err.status === 400)),
  });
  useLiveChannels('report');
  useLiveFrames('report', (frames) => {
    const mine = frames.filter((f) => String(f.report_id) === reportId);
    const last = mine.at(-1);
    if (!last) return;
    if (last.status === 'running') {
      client.setQueryData<ReportWithDocument>(['reports', 'one', reportId], (old) =>
        old ? { ...old, status: 'running', progress: last.progress } : old,
      );
    } else void client.invalidateQueries({ queryKey: ['reports', 'one', reportId] });
  });
  if (report.isPending) return <Loading label="Loading the report…" />;
  if (report.isError) {
    if (report.error instanceof ApiError && (report.error.status === 404 || report.error.status === 400))
      return (
        <EmptyState title={`There is no report ${reportId}`}>
          <Link to="/reports" className="underline">
            Back to the reports
          </Link>
        </EmptyState>
      );
    return <ErrorState error={report.error} retry={() => void report.refetch()} />;
  }
  const r = report.data;
  const doc = r.document;
  const link =
    'inline-flex items-center gap-1 rounded-md border border-slate-300 px-2.5 py-1 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800';
  return (
    <div className="space-y-4">
      <Link
        to="/reports"
        className="inline-flex items-center gap-1 text-sm text-slate-600 hover:underline dark:text-slate-400"
      >
        <ArrowLeft aria-hidden className="size-4" /> Reports
      </Link>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <h1 className="flex flex-wrap items-center gap-2 text-xl font-semibold">
            {r.title} <ReportStatusBadge report={r} />
          </h1>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
            {KIND_LABELS[r.kind]} · <Time value={r.from} /> – <Time value={r.to} />
            {doc ? ` · ${doc.scope.robots.length} robot${doc.scope.robots.length === 1 ? '' : 's'}` : ''}
            {r.created_by ? ` · asked by ${r.created_by}` : ''}
          </p>
        </div>
        {doc && (
          <div className="flex flex-wrap gap-2">
            <a href={`/api/v1/reports/${r.id}/pdf`} className={link}>
              <FileDown aria-hidden className="size-4" /> PDF
            </a>
            <a href={`/api/v1/reports/${r.id}/data?format=csv`} className={link}>
              <FileDown aria-hidden className="size-4" /> CSV
            </a>
            <a href={`/api/v1/reports/${r.id}/data?format=json`} className={link}>
              <FileDown aria-hidden className="size-4" /> JSON
            </a>
          </div>
        )}
      </div>
      {(r.status === 'queued' || r.status === 'running') && (
        <Card className="p-4">
          <p className="mb-2 text-sm">
            {r.status === 'queued' ? 'Waiting for its turn…' : 'Being generated…'}
          </p>
          <div
            role="progressbar"
            aria-label="Report progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(r.progress * 100)}
            className="h-2.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
          >
            <div className="h-full bg-teal-600 dark:bg-teal-500" style={{ width: `${r.progress * 100}%` }} />
          </div>
        </Card>
      )}
      {r.status === 'failed' && (
        <Card className="p-4">
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            This report failed: {r.error ?? 'no reason was recorded'}.
          </p>
        </Card>
      )}
      {r.status === 'cancelled' && (
        <Card className="p-4">
          <p className="text-sm">This report was cancelled before it was finished.</p>
        </Card>
      )}
      {doc && (
        <>
          <Card className="p-4">
            <h2 className="mb-2 font-semibold">Summary</h2>
            {doc.summary.length > 0 ? (
              <Statements items={doc.summary} label="Summary" />
            ) : (
              <p className="text-sm">Nothing stood out in this period.</p>
            )}
          </Card>
          {(doc.ai || doc.ai_note) && (
            <Card className="p-4">
              <h2 className="mb-2 flex items-center gap-1.5 font-semibold">
                <Sparkles aria-hidden className="size-4" /> AI insights
              </h2>
              {doc.ai ? (
                <div className="space-y-2 text-sm" data-testid="report-ai">
                  <p className="text-xs text-slate-600 dark:text-slate-400">
                    Written by {doc.ai.provider} ({doc.ai.model}) from the figures below: check them before
                    acting.
                  </p>
                  <p>{doc.ai.analysis}</p>
                  {doc.ai.concerns.length > 0 && (
                    <ul className="list-disc pl-5">
                      {doc.ai.concerns.map((c) => (
                        <li key={c}>{c}</li>
                      ))}
                    </ul>
                  )}
                  {doc.ai.recommendations.length > 0 && (
                    <ul className="list-disc pl-5">
                      {doc.ai.recommendations.map((c) => (
                        <li key={c.text}>
                          {c.text} <span className="text-xs">({c.urgency} urgency)</span>
                        </li>
                      ))}
                    </ul>
                  )}
                </div>
              ) : (
                <p className="text-sm">{doc.ai_note}</p>
              )}
            </Card>
          )}
          {doc.sections.map((s) => (
            <Card key={s.key} className="space-y-4 p-4">
              <h2 className="font-semibold" data-testid={`report-section-${s.key}`}>
                {s.title}
              </h2>
              <Statements items={s.statements} label={s.title} />
              {s.charts.map((c) =>
                c.type === 'line' ? (
                  <LineChart key={c.title} chart={c} />
                ) : (
                  <BarChart key={c.title} chart={c} />
                ),
              )}
              {s.tables.map((t) => (
                <Table key={t.title} table={t} />
              ))}
            </Card>
          ))}
          {(doc.snapshots?.length ?? 0) > 0 && (
            <Card className="p-4">
              <h2 className="mb-1 font-semibold" data-testid="report-snapshots">
                Camera snapshots
              </h2>
              <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
                Stored for these robots in this period; those kept for an alert or with a note first.
              </p>
              <ul className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4">
                {doc.snapshots?.map((snap) => (
                  <SnapshotCard key={snap.id} snap={snap} showRobot />
                ))}
              </ul>
            </Card>
          )}
        </>
      )}
    </div>
  );
}
