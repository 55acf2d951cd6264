import { useQuery } from '@tanstack/react-query';
import { AlertTriangle, CheckCircle2, XCircle } from 'lucide-react';
import { useState } from 'react';
import { api } from '../api/client';
import type { Health, LiveServerEvents } from '../api/types';
import { Card, cx, ErrorState, Loading, PageHeader } from '../components/ui';
import { formatNumber } from '../lib/format';
import { useLiveChannels, useLiveFrames } from '../live/live-context';

/** Health is the server's own snapshot (not pushed): read again every few seconds while the page is open. */
const HEALTH_REFRESH_MS = 5000;
/** Seconds of the live ingest rate the page keeps. */
const RATE_WINDOW = 120;

type IngestFrame = LiveServerEvents['ingest'];

function duration(s: number): string {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${Math.floor(s % 60)} s`;
}

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-slate-600 dark:text-slate-400">{label}</dt>
      <dd className="truncate text-lg font-semibold tabular-nums" title={hint}>
        {value}
      </dd>
    </div>
  );
}

/** The accepted messages per second over the last two minutes, as bars (the live `ingest` channel, 1 Hz). */
function RateBars({ frames }: { frames: IngestFrame[] }) {
  const max = Math.max(1, ...frames.map((f) => f.accepted_per_s));
  return (
    <div
      role="img"
      aria-label={`Messages accepted per second over the last ${frames.length} seconds; now ${formatNumber(frames.at(-1)?.accepted_per_s ?? 0, 0)}`}
      className="flex h-24 items-end gap-px"
    >
      {frames.map((f) => (
        <div
          key={f.ts}
          className="flex-1 rounded-t-sm bg-teal-600/80 dark:bg-teal-400/80"
          style={{ height: `${Math.max(2, (f.accepted_per_s / max) * 100)}%` }}
          title={`${new Date(f.ts).toLocaleTimeString()}: ${formatNumber(f.accepted_per_s, 0)} msg/s`}
        />
      ))}
    </div>
  );
}

export default function SystemPage() {
  const health = useQuery({
    queryKey: ['health'],
    // The health route answers 503 with the same body when degraded: that is a report, not a failure.
    queryFn: ({ signal }) =>
      fetch('/api/v1/health', {
        signal,
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
      }).then(async (res) => {
        if (res.status !== 200 && res.status !== 503) return api<Health>('/health', { signal });
        return (await res.json()) as Health;
      }),
    refetchInterval: HEALTH_REFRESH_MS,
  });
  const [rates, setRates] = useState<IngestFrame[]>([]);
  useLiveChannels('ingest');
  useLiveFrames('ingest', (frames) => setRates((list) => [...list, ...frames].slice(-RATE_WINDOW)));

  if (health.isPending) return <Loading label="Asking the server how it is…" />;
  if (health.isError) return <ErrorState error={health.error} retry={() => void health.refetch()} />;
  const h = health.data;
  const ingest = h.ingest;
  const latest = rates.at(-1);
  const rejected = Object.entries(ingest.rejected)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const components = Object.entries(h.components) as [
    string,
    Health['components']['database'] & Record<string, unknown>,
  ][];

  return (
    <div className="space-y-4">
      <PageHeader title="System">
        <span
          data-testid="health-status"
          className={cx(
            'flex items-center gap-1.5 rounded-full px-3 py-1 text-sm font-medium',
            h.status === 'ok'
              ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/50 dark:text-emerald-200'
              : 'bg-red-100 text-red-900 dark:bg-red-900/50 dark:text-red-200',
          )}
        >
          {h.status === 'ok' ? (
            <CheckCircle2 aria-hidden className="size-4" />
          ) : (
            <XCircle aria-hidden className="size-4" />
          )}
          {h.status === 'ok' ? 'All components up' : 'Degraded'}
        </span>
      </PageHeader>

      {h.warnings.length > 0 && (
        <Card className="border-amber-400 p-4 dark:border-amber-600">
          <h2 className="mb-2 flex items-center gap-2 font-medium">
            <AlertTriangle aria-hidden className="size-4 text-amber-600" /> Warnings
          </h2>
          <ul className="list-disc space-y-1 pl-5 text-sm">
            {h.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Card>
      )}

      <Card className="p-4">
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4 lg:grid-cols-6">
          <Stat label="Version" value={h.version} hint={`protocol ${h.protocol_version}`} />
          <Stat label="Up for" value={duration(h.uptime_s)} />
          <Stat label="Robots online" value={`${h.robots.online} / ${h.robots.known}`} />
          <Stat label="Pending robots" value={String(h.robots.pending)} />
          <Stat label="Browsers live" value={String(h.live.clients)} />
          <Stat label="Broker clients" value={String(h.components.broker.clients ?? '—')} />
        </dl>
      </Card>

      <div className="grid gap-4 lg:grid-cols-2">
        <Card className="p-4">
          <h2 className="mb-3 font-medium">Components</h2>
          <ul className="divide-y divide-slate-200 dark:divide-slate-800">
            {components.map(([name, c]) => (
              <li key={name} className="flex items-start justify-between gap-3 py-2 text-sm">
                <div className="min-w-0">
                  <div className="font-medium capitalize">{name}</div>
                  <div className="text-slate-600 dark:text-slate-400">
                    {c.kind}
                    {c.detail ? ` — ${c.detail}` : ''}
                  </div>
                </div>
                <span
                  className={cx(
                    'font-medium',
                    c.status === 'up'
                      ? 'text-emerald-700 dark:text-emerald-400'
                      : 'text-red-700 dark:text-red-400',
                  )}
                >
                  {c.status === 'up' ? 'Up' : 'Down'}
                </span>
              </li>
            ))}
          </ul>
        </Card>

        <Card className="p-4">
          <div className="mb-3 flex items-baseline justify-between">
            <h2 className="font-medium">Ingest</h2>
            <span className="text-sm tabular-nums" data-testid="ingest-rate">
              {latest
                ? `${formatNumber(latest.accepted_per_s, 0)} msg/s now`
                : 'waiting for the first second…'}
            </span>
          </div>
          {rates.length > 0 && <RateBars frames={rates} />}
          <dl className="mt-3 grid grid-cols-2 gap-3 sm:grid-cols-3">
            <Stat label="Accepted" value={formatNumber(ingest.messages_accepted, 0)} />
            <Stat label="Rejected" value={formatNumber(ingest.messages_rejected, 0)} />
            <Stat label="Points stored" value={formatNumber(ingest.points_stored, 0)} />
            <Stat label="Points shed" value={formatNumber(ingest.points_shed, 0)} />
            <Stat
              label="Queue"
              value={`${formatNumber(ingest.queue_points, 0)} / ${formatNumber(ingest.queue_limit, 0)}`}
            />
            <Stat
              label="Store lag p50 / p99"
              value={`${formatNumber(ingest.store_lag_ms.p50, 0)} / ${formatNumber(ingest.store_lag_ms.p99, 0)} ms`}
            />
          </dl>
          {!ingest.store_ok && (
            <p role="alert" className="mt-3 text-sm text-red-700 dark:text-red-400">
              The telemetry store is failing: {ingest.store_error ?? 'unknown error'}
            </p>
          )}
        </Card>
      </div>

      <Card className="p-4">
        <h2 className="mb-3 font-medium">Rejected messages by reason</h2>
        {rejected.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            No message has been rejected since the server started.
          </p>
        ) : (
          <table className="w-full text-sm">
            <thead>
              <tr className="text-left text-slate-600 dark:text-slate-400">
                <th className="py-1 font-medium">Reason</th>
                <th className="py-1 text-right font-medium">Messages</th>
              </tr>
            </thead>
            <tbody>
              {rejected.map(([reason, n]) => (
                <tr key={reason} className="border-t border-slate-200 dark:border-slate-800">
                  <td className="py-1 font-mono">{reason}</td>
                  <td className="py-1 text-right tabular-nums">{formatNumber(n, 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
