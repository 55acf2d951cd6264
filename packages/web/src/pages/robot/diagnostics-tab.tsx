import { useQuery } from '@tanstack/react-query';
import { RefreshCw } from 'lucide-react';
import type { ReactNode } from 'react';
import { api } from '../../api/client';
import type { Robot, RobotDiagnostics } from '../../api/types';
import { Button, Card, cx, ErrorState, Loading, ScrollRegion, Time } from '../../components/ui';
import { formatNumber } from '../../lib/format';

/** How often the counters are read again while the tab is open. */
const REFRESH_MS = 5_000;

const th = 'px-2 py-1 text-left font-medium';
const thRight = 'px-2 py-1 text-right font-medium';
const headRow = 'border-b border-slate-200 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400';

function offset(ms: number | null): string {
  if (ms === null) return '—';
  const abs = Math.abs(ms);
  const text = abs >= 1000 ? `${formatNumber(ms / 1000, 1)} s` : `${Math.round(ms)} ms`;
  return ms > 0 ? `+${text}` : text;
}

/**
 * What arrives from the robot and what was refused (GET /robots/{id}/diagnostics): rates per channel, the
 * protocol, how far its clock is off, and the last rejected messages and broker denials with their reasons
 * — the page to open when a robot's data looks wrong. Counted since the server started.
 */
export function DiagnosticsTab({ robot }: { robot: Robot }) {
  const q = useQuery({
    queryKey: ['robots', 'diagnostics', robot.robot_id],
    queryFn: ({ signal }) =>
      api<RobotDiagnostics>(`/robots/${encodeURIComponent(robot.robot_id)}/diagnostics`, { signal }),
    refetchInterval: REFRESH_MS,
  });
  if (q.isPending) return <Loading label="Loading diagnostics…" />;
  if (q.isError) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  const d = q.data;
  const rejectedReasons = Object.entries(d.rejected.by_reason).sort((a, b) => b[1] - a[1]);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2 text-sm text-slate-600 dark:text-slate-400">
        <p>
          Counted since <Time value={d.counting_since} /> (the server's start) · read{' '}
          <Time value={d.generated_at} />, every {REFRESH_MS / 1000} s
        </p>
        <Button size="sm" onClick={() => void q.refetch()} disabled={q.isFetching}>
          <RefreshCw aria-hidden className={cx('size-4', q.isFetching && 'animate-spin')} /> Refresh
        </Button>
      </div>

      <section aria-label="Summary" className="grid grid-cols-2 gap-2 sm:grid-cols-4">
        <Figure label="Protocol" value={d.protocol ?? '—'} />
        <Figure label="Last message" value={<Time value={d.last_seen} />} />
        <Figure
          label="Rejected (last hour)"
          value={String(d.rejected.last_hour)}
          warn={d.rejected.last_hour > 0}
          testid="rejected-last-hour"
        />
        <Figure
          label="Broker denials"
          value={String(d.acl_denials.total)}
          warn={d.acl_denials.total > 0}
          testid="acl-denials"
        />
      </section>

      <Card className="p-4">
        <h2 className="mb-2 font-medium">Channels (last hour)</h2>
        {d.channels.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            Nothing arrived from this robot in the last hour.
          </p>
        ) : (
          <ScrollRegion label="Channels">
            <table className="w-full min-w-[32rem] text-sm">
              <caption className="sr-only">Messages per channel in the last minute and hour</caption>
              <thead>
                <tr className={headRow}>
                  <th scope="col" className={th}>
                    Channel
                  </th>
                  <th scope="col" className={th}>
                    Protocol
                  </th>
                  <th scope="col" className={thRight}>
                    Last minute
                  </th>
                  <th scope="col" className={thRight}>
                    Last hour
                  </th>
                  <th scope="col" className={thRight}>
                    Last seen
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {d.channels.map((c) => (
                  <tr key={c.channel} data-testid={`channel-${c.channel}`}>
                    <td className="px-2 py-1 font-medium">{c.channel}</td>
                    <td className="px-2 py-1">{c.protocol}</td>
                    <td className="px-2 py-1 text-right tabular-nums">
                      {c.last_minute.messages} · {formatNumber(c.last_minute.per_s, 1)}/s
                    </td>
                    <td className="px-2 py-1 text-right tabular-nums">
                      {c.last_hour.messages} · {formatNumber(c.last_hour.per_s, 2)}/s
                    </td>
                    <td className="px-2 py-1 text-right">
                      <Time value={c.last_seen} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </Card>

      <Card className="p-4">
        <h2 className="mb-2 font-medium">Clock</h2>
        {d.clock.samples === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No timed message in the last hour.</p>
        ) : (
          <dl className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-5">
            <Pair label="Offset now" value={offset(d.clock.offset_ms_last)} />
            <Pair label="Average" value={offset(d.clock.offset_ms_avg)} />
            <Pair label="Min" value={offset(d.clock.offset_ms_min)} />
            <Pair label="Max" value={offset(d.clock.offset_ms_max)} />
            <Pair label="Re-timed (skew)" value={String(d.clock.skew_corrected)} />
          </dl>
        )}
        <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">
          Receive time minus the robot's own time over {d.clock.samples} messages, network delay included: +
          means the robot's clock is behind. A message off by more than the allowed skew is stored at its
          receive time.
        </p>
      </Card>

      <Card className="p-4">
        <h2 className="mb-2 font-medium">Rejected messages</h2>
        {d.rejected.total === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">None since the server started.</p>
        ) : (
          <>
            <p className="mb-2 text-sm">
              {d.rejected.total} since the server started:{' '}
              {rejectedReasons.map(([reason, n], i) => (
                <span key={reason}>
                  {i > 0 && ', '}
                  <code className="text-xs">{reason}</code> {n}
                </span>
              ))}
            </p>
            <ScrollRegion label="Rejected messages">
              <table className="w-full min-w-[40rem] text-sm">
                <caption className="sr-only">The last rejected messages, newest first</caption>
                <thead>
                  <tr className={headRow}>
                    <th scope="col" className={th}>
                      When
                    </th>
                    <th scope="col" className={th}>
                      Reason
                    </th>
                    <th scope="col" className={th}>
                      Topic
                    </th>
                    <th scope="col" className={th}>
                      Payload
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 align-top dark:divide-slate-800">
                  {d.rejected.recent.map((r, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: the list has no ids; it is replaced whole.
                    <tr key={i} data-testid="rejected-row">
                      <td className="px-2 py-1 whitespace-nowrap">
                        <Time value={r.at} />
                      </td>
                      <td className="px-2 py-1">
                        <code className="text-xs">{r.reason}</code>
                        <div className="text-xs text-slate-600 dark:text-slate-400">{r.detail}</div>
                      </td>
                      <td className="px-2 py-1 font-mono text-xs break-all">{r.topic}</td>
                      <td className="px-2 py-1">
                        <code className="font-mono text-xs break-all">{r.payload_excerpt}</code>
                        <div className="text-xs text-slate-600 dark:text-slate-400">
                          {r.payload_bytes} bytes
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollRegion>
          </>
        )}
      </Card>

      <Card className="p-4">
        <h2 className="mb-2 font-medium">Broker denials</h2>
        {d.acl_denials.recent.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            None: the robot only published and subscribed where it may.
          </p>
        ) : (
          <ScrollRegion label="Broker denials">
            <table className="w-full min-w-[28rem] text-sm">
              <caption className="sr-only">
                The last publishes, subscriptions and connections the broker refused
              </caption>
              <thead>
                <tr className={headRow}>
                  <th scope="col" className={th}>
                    When
                  </th>
                  <th scope="col" className={th}>
                    Kind
                  </th>
                  <th scope="col" className={th}>
                    Reason
                  </th>
                  <th scope="col" className={th}>
                    Topic
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {d.acl_denials.recent.map((a, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: the list has no ids; it is replaced whole.
                  <tr key={i} data-testid="denial-row">
                    <td className="px-2 py-1 whitespace-nowrap">
                      <Time value={a.at} />
                    </td>
                    <td className="px-2 py-1">{a.kind}</td>
                    <td className="px-2 py-1">
                      <code className="text-xs">{a.reason}</code>
                    </td>
                    <td className="px-2 py-1 font-mono text-xs break-all">{a.topic ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </Card>
    </div>
  );
}

function Figure({
  label,
  value,
  warn = false,
  testid,
}: {
  label: string;
  value: ReactNode;
  warn?: boolean;
  testid?: string;
}) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div className="text-xs text-slate-600 dark:text-slate-400">{label}</div>
      <div
        data-testid={testid}
        className={cx('mt-1 font-semibold', warn && 'text-amber-700 dark:text-amber-400')}
      >
        {value}
      </div>
    </div>
  );
}

function Pair({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt className="text-xs text-slate-600 dark:text-slate-400">{label}</dt>
      <dd className="font-semibold tabular-nums">{value}</dd>
    </div>
  );
}
