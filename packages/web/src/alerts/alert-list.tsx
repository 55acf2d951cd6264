import {
  type InfiniteData,
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { CAMERA_ALERT_IDS_MAX } from '@tonypi/contracts/camera-limits';
import { BellOff, Check, CheckCheck, CircleCheck, Search } from 'lucide-react';
import { useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, errorMessage } from '../api/client';
import type { AlertList, AlertSnapshots, AlertView, CameraSnapshot } from '../api/types';
import { useCan } from '../auth/auth';
import { Dialog } from '../components/dialog';
import { useToast } from '../components/toasts';
import { Button, Card, cx, EmptyState, ErrorState, inputClass, Loading, Time } from '../components/ui';
import { formatNumber } from '../lib/format';
import { useLiveChannels, useLiveFrames } from '../live/live-context';
import {
  ALERT_TYPES,
  type AlertFilters,
  filtersFrom,
  label,
  listQuery,
  matches,
  SEVERITIES,
  SEVERITY_STYLE,
  STATE_STYLE,
  WINDOWS,
} from './alert-meta';
import { SilenceDialog } from './silences';

const PAGE = 50;
type Pages = InfiniteData<AlertList, string | null>;

export function alertListKey(f: AlertFilters) {
  return ['alerts', 'list', f] as const;
}

/** Puts one live alert change into a loaded list: in place when present, at the top when new and matching. */
export function foldAlert(data: Pages, change: string, alert: AlertView, f: AlertFilters): Pages {
  let found = false;
  const pages = data.pages.map((p) => {
    if (!p.items.some((a) => a.id === alert.id)) return p;
    found = true;
    const items =
      change === 'deleted'
        ? p.items.filter((a) => a.id !== alert.id)
        : p.items.map((a) => (a.id === alert.id ? alert : a));
    return { ...p, items };
  });
  if (found || change === 'deleted' || !matches(alert, f)) return found ? { ...data, pages } : data;
  const [first, ...rest] = pages;
  if (!first) return data;
  return {
    ...data,
    pages: [{ ...first, items: [alert, ...first.items], total: first.total + 1 }, ...rest],
  };
}

function Badge({ className, children }: { className: string; children: React.ReactNode }) {
  return (
    <span className={cx('inline-flex rounded-full px-2 py-0.5 text-xs font-medium', className)}>
      {children}
    </span>
  );
}

function Filters({ robotFixed }: { robotFixed: boolean }) {
  const [params, setParams] = useSearchParams();
  const [text, setText] = useState(params.get('q') ?? '');
  const ids = useId();
  const set = (key: string, value: string) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  const select = (key: string, title: string, options: { value: string; label: string }[], all: string) => (
    <div className="flex flex-col gap-1">
      <label htmlFor={`${ids}-${key}`} className="text-xs font-medium text-slate-600 dark:text-slate-400">
        {title}
      </label>
      <select
        id={`${ids}-${key}`}
        className={inputClass}
        value={params.get(key) ?? ''}
        onChange={(e) => set(key, e.target.value)}
      >
        <option value="">{all}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <form
      className="mb-3 grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6"
      onSubmit={(e) => {
        e.preventDefault();
        set('q', text.trim());
      }}
    >
      {select(
        'state',
        'State',
        [
          { value: 'open', label: 'Open' },
          { value: 'acknowledged', label: 'Acknowledged' },
          { value: 'unresolved', label: 'Open or acknowledged' },
          { value: 'resolved', label: 'Resolved' },
        ],
        'Any state',
      )}
      {select(
        'severity',
        'Severity',
        SEVERITIES.map((s) => ({ value: s, label: label(s) })),
        'Any severity',
      )}
      {select(
        'type',
        'Type',
        ALERT_TYPES.map((t) => ({ value: t, label: label(t) })),
        'Any type',
      )}
      {select(
        'window',
        'Raised',
        WINDOWS.map((w) => ({ value: w.value, label: w.label })),
        'Any time',
      )}
      {!robotFixed && (
        <div className="flex flex-col gap-1">
          <label htmlFor={`${ids}-robot`} className="text-xs font-medium text-slate-600 dark:text-slate-400">
            Robot id
          </label>
          <input
            id={`${ids}-robot`}
            className={inputClass}
            placeholder="All robots"
            defaultValue={params.get('robot') ?? ''}
            onBlur={(e) => set('robot', e.target.value.trim())}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                set('robot', e.currentTarget.value.trim());
              }
            }}
          />
        </div>
      )}
      <div className="flex flex-col gap-1">
        <label htmlFor={`${ids}-q`} className="text-xs font-medium text-slate-600 dark:text-slate-400">
          Search title or message
        </label>
        <div className="flex gap-1">
          <input
            id={`${ids}-q`}
            type="search"
            className={inputClass}
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder="e.g. servo 3"
          />
          <Button type="submit" size="sm" aria-label="Search alerts">
            <Search aria-hidden className="size-4" />
          </Button>
        </div>
      </div>
    </form>
  );
}

type NoteAction = { kind: 'acknowledge' | 'resolve'; alert: AlertView };

function NoteDialog({ action, onClose }: { action: NoteAction | null; onClose: () => void }) {
  const client = useQueryClient();
  const toast = useToast();
  const [note, setNote] = useState('');
  const noteId = useId();
  const run = useMutation({
    mutationFn: (a: NoteAction) =>
      api<AlertView>(`/alerts/${a.alert.id}/${a.kind}`, {
        method: 'POST',
        body: note.trim() ? { note: note.trim() } : {},
      }),
    onSuccess: (alert, a) => {
      client.setQueriesData<Pages>({ queryKey: ['alerts', 'list'] }, (d) =>
        d ? foldAlert(d, 'updated', alert, {}) : d,
      );
      // The live stream brings the same change to every other view; this one shows it at once.
      toast.push({
        tone: 'success',
        title: a.kind === 'acknowledge' ? 'Alert acknowledged' : 'Alert resolved',
      });
      setNote('');
      onClose();
    },
  });
  const verb = action?.kind === 'resolve' ? 'Resolve' : 'Acknowledge';
  return (
    <Dialog
      open={action !== null}
      onOpenChange={(o) => {
        if (!o) {
          run.reset();
          onClose();
        }
      }}
      title={`${verb} alert`}
      description={
        action ? `${action.alert.title}${action.alert.robot_id ? ` — ${action.alert.robot_id}` : ''}` : ''
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (action) run.mutate(action);
        }}
        className="flex flex-col gap-3"
      >
        <div className="flex flex-col gap-1">
          <label htmlFor={noteId} className="text-sm font-medium">
            Note (optional)
          </label>
          <textarea
            id={noteId}
            className={inputClass}
            rows={3}
            maxLength={1000}
            value={note}
            onChange={(e) => setNote(e.target.value)}
            placeholder={action?.kind === 'resolve' ? 'What fixed it' : 'Who is on it, what is being done'}
          />
        </div>
        {run.error && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {errorMessage(run.error)}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" tone="primary" busy={run.isPending}>
            {verb}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** Acknowledge every open alert the filters match: by the API's filter when it can say it, else by ids. */
function AcknowledgeAll({ filters, items }: { filters: AlertFilters; items: AlertView[] }) {
  const client = useQueryClient();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState('');
  const noteId = useId();
  const byFilter =
    !filters.q && !filters.window && filters.state !== 'acknowledged' && filters.state !== 'resolved';
  const openIds = items.filter((a) => a.state === 'open').map((a) => a.id);
  const run = useMutation({
    mutationFn: () =>
      api<{ acknowledged: number }>('/alerts/acknowledge', {
        method: 'POST',
        body: {
          ...(byFilter
            ? {
                filter: {
                  ...(filters.robot ? { robot_id: filters.robot } : {}),
                  ...(filters.severity ? { severity: filters.severity } : {}),
                  ...(filters.type ? { alert_type: filters.type } : {}),
                },
              }
            : { ids: openIds.slice(0, 1000) }),
          ...(note.trim() ? { note: note.trim() } : {}),
        },
      }),
    onSuccess: (r) => {
      void client.invalidateQueries({ queryKey: ['alerts'] });
      toast.push({
        tone: 'success',
        title: `${r.acknowledged} alert${r.acknowledged === 1 ? '' : 's'} acknowledged`,
      });
      setOpen(false);
      setNote('');
    },
  });
  if (!byFilter && openIds.length === 0) return null;
  return (
    <>
      <Button size="sm" onClick={() => setOpen(true)}>
        <CheckCheck aria-hidden className="size-4" /> Acknowledge all matching
      </Button>
      <Dialog
        open={open}
        onOpenChange={setOpen}
        title="Acknowledge all matching alerts"
        description={
          byFilter
            ? 'Every open alert matching the robot, severity and type filters is acknowledged, including those not loaded yet.'
            : `The ${openIds.length} open alert${openIds.length === 1 ? '' : 's'} shown (a text search or time window is on) are acknowledged.`
        }
      >
        <form
          className="flex flex-col gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            run.mutate();
          }}
        >
          <div className="flex flex-col gap-1">
            <label htmlFor={noteId} className="text-sm font-medium">
              Note (optional)
            </label>
            <textarea
              id={noteId}
              className={inputClass}
              rows={2}
              maxLength={1000}
              value={note}
              onChange={(e) => setNote(e.target.value)}
            />
          </div>
          {run.error && (
            <p role="alert" className="text-sm text-red-700 dark:text-red-400">
              {errorMessage(run.error)}
            </p>
          )}
          <div className="flex justify-end gap-2">
            <Button onClick={() => setOpen(false)}>Cancel</Button>
            <Button type="submit" tone="primary" busy={run.isPending}>
              Acknowledge all
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}

/** The snapshots kept for the alerts on screen: one request for all of them, refetched as the list grows. */
function useAlertSnapshots(items: readonly AlertView[]): Map<number, CameraSnapshot[]> {
  const ids = items
    .filter((a) => a.robot_id !== null)
    .slice(0, CAMERA_ALERT_IDS_MAX)
    .map((a) => a.id)
    .sort((a, b) => a - b);
  const query = useQuery({
    queryKey: ['camera', 'alert-snapshots', ids],
    queryFn: ({ signal }) =>
      api<AlertSnapshots>('/camera/snapshots', { signal, query: { alert_ids: ids.join(',') } }),
    enabled: ids.length > 0,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const byAlert = new Map<number, CameraSnapshot[]>();
  for (const snap of query.data?.items ?? []) {
    if (snap.alert_id === null) continue;
    const list = byAlert.get(snap.alert_id) ?? [];
    list.push(snap);
    byAlert.set(snap.alert_id, list);
  }
  return byAlert;
}

function AlertSnapshotStrip({ snaps }: { snaps: readonly CameraSnapshot[] }) {
  return (
    <ul aria-label="Camera snapshots of this alert" className="mt-2 flex flex-wrap gap-2">
      {snaps.map((snap) => (
        <li key={snap.id}>
          <a
            href={snap.url}
            target="_blank"
            rel="noreferrer"
            title={`${new Date(snap.taken_at).toLocaleString()}${snap.note ? ` · ${snap.note}` : ''}`}
          >
            <img
              src={snap.url}
              alt={`Snapshot ${snap.id} of ${snap.robot_id}${snap.note ? `: ${snap.note}` : ''}`}
              loading="lazy"
              className="h-16 w-auto rounded border border-slate-200 bg-slate-100 dark:border-slate-800 dark:bg-slate-900"
            />
          </a>
        </li>
      ))}
    </ul>
  );
}

function AlertRow({
  alert,
  showRobot,
  canControl,
  canSilence,
  snapshots,
  onAction,
  onSilence,
}: {
  alert: AlertView;
  showRobot: boolean;
  canControl: boolean;
  canSilence: boolean;
  snapshots: readonly CameraSnapshot[] | undefined;
  onAction: (a: NoteAction) => void;
  onSilence: (a: AlertView) => void;
}) {
  return (
    <li data-testid={`alert-${alert.id}`} className="flex flex-col gap-2 p-3 sm:flex-row sm:items-start">
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-2">
          <Badge className={SEVERITY_STYLE[alert.severity]}>{label(alert.severity)}</Badge>
          <Badge className={STATE_STYLE[alert.state]}>
            <span data-testid="alert-state">{label(alert.state)}</span>
          </Badge>
          {alert.muted && (
            <Badge className="bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100">
              Silenced
            </Badge>
          )}
          <span className="font-medium break-words">{alert.title}</span>
        </div>
        <p className="mt-1 text-sm break-words text-slate-700 dark:text-slate-300">{alert.message}</p>
        <p className="mt-1 flex flex-wrap gap-x-3 text-xs text-slate-600 dark:text-slate-400">
          <span>
            Raised <Time value={alert.created_at} />
          </span>
          {showRobot && alert.robot_id && (
            <Link to={`/robots/${encodeURIComponent(alert.robot_id)}?tab=alerts`} className="underline">
              {alert.robot_id}
            </Link>
          )}
          <span>{label(alert.alert_type)}</span>
          {alert.value !== null && (
            <span>
              value {formatNumber(alert.value, 2)}
              {alert.threshold !== null && ` (level ${formatNumber(alert.threshold, 2)})`}
            </span>
          )}
          {alert.acknowledged_at && (
            <span>
              Acknowledged by {alert.acknowledged_by ?? 'someone'} <Time value={alert.acknowledged_at} />
              {alert.acknowledge_note && `: “${alert.acknowledge_note}”`}
            </span>
          )}
          {alert.resolved_at && (
            <span>
              Resolved {alert.resolved_by ? `by ${alert.resolved_by}` : 'automatically'}{' '}
              <Time value={alert.resolved_at} />
              {alert.resolve_note && `: “${alert.resolve_note}”`}
            </span>
          )}
          {canControl && alert.robot_id && alert.state !== 'resolved' && (
            <Link
              to={`/robots/${encodeURIComponent(alert.robot_id)}?tab=camera&alert=${alert.id}`}
              className="underline"
            >
              Take a camera snapshot
            </Link>
          )}
        </p>
        {snapshots && snapshots.length > 0 && <AlertSnapshotStrip snaps={snapshots} />}
      </div>
      {(canControl || canSilence) && alert.state !== 'resolved' && (
        <div className="flex shrink-0 flex-wrap gap-1.5">
          {canControl && alert.state === 'open' && (
            <Button size="sm" onClick={() => onAction({ kind: 'acknowledge', alert })}>
              <Check aria-hidden className="size-4" /> Acknowledge
            </Button>
          )}
          {canControl && (
            <Button size="sm" onClick={() => onAction({ kind: 'resolve', alert })}>
              <CircleCheck aria-hidden className="size-4" /> Resolve
            </Button>
          )}
          {canSilence && (alert.robot_id || alert.rule_id) && (
            <Button size="sm" tone="ghost" onClick={() => onSilence(alert)}>
              <BellOff aria-hidden className="size-4" /> Silence
            </Button>
          )}
        </div>
      )}
    </li>
  );
}

/**
 * Alerts, newest first, with the filters in the URL, older pages on demand, live changes folded in and the
 * actions the role may take. `robotId` fixes the robot (the robot page's tab).
 */
export function AlertListView({ robotId }: { robotId?: string }) {
  const [params] = useSearchParams();
  const filters = filtersFrom(params, robotId);
  const key = alertListKey(filters);
  const client = useQueryClient();
  const canControl = useCan('robots:control');
  const canSilence = useCan('alerts:configure');
  const [action, setAction] = useState<NoteAction | null>(null);
  const [silence, setSilence] = useState<AlertView | null>(null);
  const query = useInfiniteQuery({
    queryKey: key,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      api<AlertList>('/alerts', { query: { ...listQuery(filters), limit: PAGE, cursor: pageParam }, signal }),
    getNextPageParam: (last) => last.next_cursor,
  });
  useLiveChannels('alert');
  useLiveFrames('alert', (frames) => {
    client.setQueryData<Pages>(key, (d) => {
      if (!d) return d;
      let next = d;
      for (const { change, alert } of frames) next = foldAlert(next, change, alert, filters);
      return next;
    });
  });

  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  const snapshots = useAlertSnapshots(items);
  const first = query.data?.pages[0];
  const filtered = Object.keys(filters).some((k) => k !== 'robot' || !robotId);

  return (
    <div>
      <Filters robotFixed={Boolean(robotId)} />
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="alert-total">
          {first ? `${first.total_capped ? `${first.total}+` : first.total} matching` : ''}
        </p>
        {canControl && query.data && <AcknowledgeAll filters={filters} items={items} />}
      </div>
      <Card>
        {query.isPending ? (
          <Loading label="Loading alerts…" />
        ) : query.isError ? (
          <ErrorState
            error={query.error}
            retry={() => void query.refetch()}
            title="The alerts could not be loaded"
          />
        ) : items.length === 0 ? (
          <EmptyState title={filtered ? 'No alert matches these filters' : 'No alerts'}>
            {filtered
              ? 'Change or clear the filters above. New alerts appear here as they are raised.'
              : 'Nothing has been raised. New alerts appear here as they are raised, without a reload.'}
          </EmptyState>
        ) : (
          <ul aria-label="Alerts" className="divide-y divide-slate-200 dark:divide-slate-800">
            {items.map((a) => (
              <AlertRow
                key={a.id}
                alert={a}
                showRobot={!robotId}
                canControl={canControl}
                canSilence={canSilence}
                snapshots={snapshots.get(a.id)}
                onAction={setAction}
                onSilence={setSilence}
              />
            ))}
          </ul>
        )}
      </Card>
      {query.hasNextPage && (
        <div className="mt-3 flex justify-center">
          <Button onClick={() => void query.fetchNextPage()} busy={query.isFetchingNextPage}>
            Load older
          </Button>
        </div>
      )}
      {query.isFetchNextPageError && (
        <p role="alert" className="mt-2 text-center text-sm text-red-700 dark:text-red-400">
          {errorMessage(query.error)}
        </p>
      )}
      <NoteDialog action={action} onClose={() => setAction(null)} />
      <SilenceDialog alert={silence} onClose={() => setSilence(null)} />
    </div>
  );
}
