import { useQuery } from '@tanstack/react-query';
import { grafanaDashboardUrl } from '@tonypi/contracts/grafana';
import { Battery, Cpu, Search, Thermometer } from 'lucide-react';
import { memo, useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useUnresolvedAlerts } from '../alerts/open-alerts';
import { api } from '../api/client';
import type { Robot, RobotList, RobotStatus } from '../api/types';
import { useTheme } from '../app/theme';
import { useGrafana } from '../app/ui-config';
import { useCan } from '../auth/auth';
import { FleetStopControls } from '../components/emergency-stop';
import { GrafanaLink } from '../components/grafana-link';
import {
  Card,
  cx,
  EmptyState,
  ErrorState,
  inputClass,
  Loading,
  PageHeader,
  StatusBadge,
} from '../components/ui';
import { useSecond } from '../lib/clock';
import { formatAgo, formatValue } from '../lib/format';
import { useLive, useLiveTelemetry } from '../live/live-context';
import type { LiveStore } from '../live/live-store';

export const FLEET_KEY = ['robots', 'fleet'] as const;
/** The API's page limit: a fleet beyond it shows the first 500 with a note. */
const FLEET_PAGE = 500;
/** A job reading older than this is not "current". */
const JOB_FRESH_MS = 30_000;
/**
 * What the cards show, and how often: the stream sends the overview these three measurements at 2 Hz per
 * robot (about 600 frames/s for 100 robots, instead of every measurement at 10–20 Hz).
 */
const OVERVIEW_TELEMETRY = { measurements: ['battery', 'system', 'job'], hz: 2 } as const;

export function useFleet() {
  return useQuery({
    queryKey: FLEET_KEY,
    queryFn: ({ signal }) =>
      api<RobotList>('/robots', { query: { limit: FLEET_PAGE, sort: 'robot_id' }, signal }),
    staleTime: 30_000,
  });
}

/** The live status if the stream brought one, else the list's. */
export function liveStatus(store: LiveStore, robot: Robot): RobotStatus {
  // Status frames come on every change after the list was read: the newest one is the truth.
  return store.get(robot.robot_id)?.status?.status ?? robot.status;
}

/** The newest value of a field: live if the stream has one, else the list's `latest`. */
function fieldOf(s: LiveStore, robot: Robot, measurement: string, field: string): number | undefined {
  return s.value(robot.robot_id, measurement, field) ?? robot.latest.measurements[measurement]?.fields[field];
}

const STATUS_FILTERS = [
  'online',
  'offline',
  'emergency_stopped',
  'error',
  'maintenance',
  'alerting',
] as const;
type StatusFilter = (typeof STATUS_FILTERS)[number];
const SORTS = { robot_id: 'ID', name: 'Name', status: 'Status', battery: 'Battery (lowest first)' } as const;
type Sort = keyof typeof SORTS;
const STATUS_ORDER: Record<RobotStatus, number> = {
  emergency_stopped: 0,
  error: 1,
  offline: 2,
  maintenance: 3,
  online: 4,
};

export function FleetOverviewPage() {
  const fleet = useFleet();
  const alerts = useUnresolvedAlerts();
  const canControl = useCan('robots:control');
  const grafana = useGrafana();
  const { dark } = useTheme();
  const [params, setParams] = useSearchParams();
  useLiveTelemetry(OVERVIEW_TELEMETRY, 'status', 'job');

  const robots = fleet.data?.items ?? [];
  // One string of every robot's live status: the page re-renders when a status changes, not per frame.
  const statusKey = useLive((s) => robots.map((r) => liveStatus(s, r)).join(','));
  const statuses = useMemo(
    () => new Map(robots.map((r, i) => [r.robot_id, statusKey.split(',')[i] as RobotStatus])),
    [robots, statusKey],
  );
  const batteryKey = useLive((s) =>
    params.get('sort') === 'battery'
      ? robots
          .map((r) =>
            Math.round(
              (s.value(r.robot_id, 'battery', 'percent') ??
                r.latest.measurements.battery?.fields.percent ??
                101) / 5,
            ),
          )
          .join(',')
      : '',
  );

  const alertsByRobot = useMemo(() => {
    const m = new Map<string, { open: number; critical: boolean }>();
    for (const a of alerts.data?.items ?? []) {
      if (!a.robot_id || a.state !== 'open') continue;
      const e = m.get(a.robot_id) ?? { open: 0, critical: false };
      e.open++;
      e.critical ||= a.severity === 'critical';
      m.set(a.robot_id, e);
    }
    return m;
  }, [alerts.data]);

  const status = params.get('status') as StatusFilter | null;
  const tag = params.get('tag') ?? '';
  const q = (params.get('q') ?? '').trim().toLowerCase();
  const sort: Sort = (params.get('sort') as Sort | null) ?? 'robot_id';

  const counts = useMemo(() => {
    const c = {
      total: robots.length,
      online: 0,
      offline: 0,
      emergency_stopped: 0,
      alerting: alertsByRobot.size,
    };
    for (const s of statuses.values()) {
      if (s === 'online') c.online++;
      else if (s === 'offline') c.offline++;
      else if (s === 'emergency_stopped') c.emergency_stopped++;
    }
    return c;
  }, [robots.length, statuses, alertsByRobot]);

  const tags = useMemo(() => [...new Set(robots.flatMap((r) => r.tags))].sort(), [robots]);

  const shown = useMemo(() => {
    const battery = batteryKey ? batteryKey.split(',').map(Number) : [];
    const index = new Map(robots.map((r, i) => [r.robot_id, i]));
    const list = robots.filter((r) => {
      if (
        status === 'alerting' ? !alertsByRobot.has(r.robot_id) : status && statuses.get(r.robot_id) !== status
      )
        return false;
      if (tag && !r.tags.includes(tag)) return false;
      if (q && !r.robot_id.toLowerCase().includes(q) && !(r.name ?? '').toLowerCase().includes(q))
        return false;
      return true;
    });
    const byId = (a: Robot, b: Robot) => a.robot_id.localeCompare(b.robot_id);
    const compare: Record<Sort, (a: Robot, b: Robot) => number> = {
      robot_id: byId,
      name: (a, b) => (a.name ?? a.robot_id).localeCompare(b.name ?? b.robot_id) || byId(a, b),
      status: (a, b) =>
        STATUS_ORDER[statuses.get(a.robot_id) ?? 'offline'] -
          STATUS_ORDER[statuses.get(b.robot_id) ?? 'offline'] || byId(a, b),
      battery: (a, b) =>
        (battery[index.get(a.robot_id) ?? 0] ?? 0) - (battery[index.get(b.robot_id) ?? 0] ?? 0) || byId(a, b),
    };
    return list.sort(compare[sort] ?? byId);
  }, [robots, statuses, alertsByRobot, status, tag, q, sort, batteryKey]);

  function setParam(key: string, value: string | null) {
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  }

  return (
    <div>
      <PageHeader title="Fleet">
        {grafana && (
          <GrafanaLink
            href={grafanaDashboardUrl(grafana.url, grafana.dashboards.fleet, {
              theme: dark ? 'dark' : 'light',
            })}
          >
            Fleet dashboard in Grafana
          </GrafanaLink>
        )}
        {canControl && <FleetStopControls stopped={counts.emergency_stopped} />}
      </PageHeader>

      <section aria-label="Fleet counts" className="mb-4 grid grid-cols-2 gap-2 sm:grid-cols-5">
        {(
          [
            ['Robots', counts.total, null, 'text-slate-900 dark:text-slate-100'],
            ['Online', counts.online, 'online', 'text-emerald-700 dark:text-emerald-400'],
            ['Offline', counts.offline, 'offline', 'text-slate-600 dark:text-slate-400'],
            ['Stopped', counts.emergency_stopped, 'emergency_stopped', 'text-red-700 dark:text-red-400'],
            ['Alerting', counts.alerting, 'alerting', 'text-amber-700 dark:text-amber-400'],
          ] as const
        ).map(([label, value, filter, color]) => (
          <button
            key={label}
            type="button"
            aria-pressed={status === filter}
            onClick={() => setParam('status', status === filter ? null : filter)}
            className={cx(
              'rounded-lg border bg-white p-3 text-left shadow-sm dark:bg-slate-900',
              status === filter && filter
                ? 'border-teal-600 ring-1 ring-teal-600'
                : 'border-slate-200 dark:border-slate-800',
            )}
          >
            <div className="text-xs text-slate-600 dark:text-slate-400">{label}</div>
            <div
              className={cx('text-2xl font-semibold tabular-nums', color)}
              data-testid={`count-${filter ?? 'total'}`}
            >
              {value}
            </div>
          </button>
        ))}
      </section>

      <div className="mb-4 flex flex-wrap items-end gap-2">
        <div className="relative min-w-48 flex-1">
          <label htmlFor="fleet-search" className="sr-only">
            Search robots
          </label>
          <Search
            aria-hidden
            className="pointer-events-none absolute top-2.5 left-2.5 size-4 text-slate-500"
          />
          <input
            id="fleet-search"
            type="search"
            placeholder="Search by ID or name"
            value={params.get('q') ?? ''}
            onChange={(e) => setParam('q', e.target.value)}
            className={cx(inputClass, 'pl-8')}
          />
        </div>
        <div>
          <label htmlFor="fleet-status" className="block text-xs text-slate-600 dark:text-slate-400">
            Status
          </label>
          <select
            id="fleet-status"
            value={status ?? ''}
            onChange={(e) => setParam('status', e.target.value || null)}
            className={inputClass}
          >
            <option value="">All</option>
            {STATUS_FILTERS.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
        {tags.length > 0 && (
          <div>
            <label htmlFor="fleet-tag" className="block text-xs text-slate-600 dark:text-slate-400">
              Tag
            </label>
            <select
              id="fleet-tag"
              value={tag}
              onChange={(e) => setParam('tag', e.target.value || null)}
              className={inputClass}
            >
              <option value="">All</option>
              {tags.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
        )}
        <div>
          <label htmlFor="fleet-sort" className="block text-xs text-slate-600 dark:text-slate-400">
            Sort
          </label>
          <select
            id="fleet-sort"
            value={sort}
            onChange={(e) => setParam('sort', e.target.value === 'robot_id' ? null : e.target.value)}
            className={inputClass}
          >
            {Object.entries(SORTS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>

      {fleet.isPending ? (
        <Loading label="Loading the fleet…" />
      ) : fleet.isError ? (
        <ErrorState
          error={fleet.error}
          retry={() => void fleet.refetch()}
          title="The fleet could not be loaded"
        />
      ) : robots.length === 0 ? (
        <Card>
          <EmptyState title="No robots yet">
            A robot appears here once it connects to the broker, or when an administrator registers it (Robots
            page, or <code>POST /api/v1/robots</code>). <code>npm start</code> runs a simulated fleet.
          </EmptyState>
        </Card>
      ) : shown.length === 0 ? (
        <Card>
          <EmptyState title="No robot matches these filters">
            <button
              type="button"
              className="underline"
              onClick={() => setParams(new URLSearchParams(), { replace: true })}
            >
              Clear the filters
            </button>
          </EmptyState>
        </Card>
      ) : (
        <>
          {(fleet.data?.total ?? 0) > robots.length && (
            <p className="mb-2 text-sm text-slate-600 dark:text-slate-400">
              Showing the first {robots.length} of {fleet.data?.total} robots.
            </p>
          )}
          <ul
            aria-label="Robots"
            className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-3 2xl:grid-cols-4"
          >
            {shown.map((r) => (
              <RobotCard
                key={r.robot_id}
                robot={r}
                status={statuses.get(r.robot_id) ?? r.status}
                alerts={alertsByRobot.get(r.robot_id)}
              />
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

const RobotCard = memo(function RobotCard({
  robot,
  status,
  alerts,
}: {
  robot: Robot;
  status: RobotStatus;
  alerts: { open: number; critical: boolean } | undefined;
}) {
  const stopped = status === 'emergency_stopped';

  return (
    // Off-screen cards are neither laid out nor painted (content-visibility): with a hundred robots live, the
    // browser's work follows the cards on screen, not the fleet. The intrinsic size keeps the scrollbar true.
    <li className="[contain-intrinsic-size:auto_11rem] [content-visibility:auto]">
      <Link
        to={`/robots/${encodeURIComponent(robot.robot_id)}`}
        data-testid={`robot-card-${robot.robot_id}`}
        className={cx(
          'block rounded-lg border bg-white p-4 shadow-sm transition-colors hover:border-teal-600 dark:bg-slate-900',
          stopped ? 'border-red-600' : 'border-slate-200 dark:border-slate-800',
        )}
      >
        <div className="flex items-start justify-between gap-2">
          <div className="min-w-0">
            <div className="truncate font-medium">{robot.name ?? robot.robot_id}</div>
            {robot.name && (
              <div className="truncate text-xs text-slate-500 dark:text-slate-400">{robot.robot_id}</div>
            )}
          </div>
          <StatusBadge status={status} />
        </div>
        <dl className="mt-3 grid grid-cols-3 gap-2 text-sm">
          <Metric
            robot={robot}
            icon={Battery}
            label="Battery"
            testid="battery"
            measurement="battery"
            field="percent"
            warnIf={(v) => v < 20}
            extra={(s) => (fieldOf(s, robot, 'battery', 'charging') ? ' ⚡' : '')}
          />
          <Metric
            robot={robot}
            icon={Cpu}
            label="CPU"
            testid="cpu"
            measurement="system"
            field="cpu_percent"
            warnIf={(v) => v >= 90}
          />
          <Metric
            robot={robot}
            icon={Thermometer}
            label="Temp."
            testid="temp"
            measurement="system"
            field="cpu_temperature_c"
            warnIf={(v) => v >= 80}
          />
        </dl>
        <JobProgress robotId={robot.robot_id} />
        <div className="mt-3 flex items-center justify-between text-xs text-slate-600 dark:text-slate-400">
          <LastSeen robot={robot} />
          {alerts && alerts.open > 0 && (
            <span
              className={cx(
                'rounded-full px-2 py-0.5 font-medium',
                alerts.critical
                  ? 'bg-red-100 text-red-800 dark:bg-red-900/50 dark:text-red-200'
                  : 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-200',
              )}
            >
              {alerts.open} open alert{alerts.open === 1 ? '' : 's'}
            </span>
          )}
        </div>
      </Link>
    </li>
  );
});

/**
 * One live value of a card. It selects the text it shows, so it re-renders when that text changes (a
 * CPU at 41.2 then 41.4 % is "41%" both times), and the card around it does not re-render at all.
 */
const Metric = memo(function Metric({
  robot,
  icon: Icon,
  label,
  measurement,
  field,
  warnIf,
  extra,
  testid,
}: {
  robot: Robot;
  icon: typeof Cpu;
  label: string;
  measurement: string;
  field: string;
  warnIf: (value: number) => boolean;
  extra?: (s: LiveStore) => string;
  testid: string;
}) {
  const text = useLive((s) => {
    const v = fieldOf(s, robot, measurement, field);
    return `${v !== undefined && warnIf(v) ? '!' : ' '}${formatValue(field, v)}${extra?.(s) ?? ''}`;
  });
  const warn = text.startsWith('!');
  return (
    <div>
      <dt className="flex items-center gap-1 text-xs text-slate-600 dark:text-slate-400">
        <Icon aria-hidden className="size-3.5" />
        {label}
      </dt>
      <dd
        data-testid={testid}
        className={cx('font-semibold tabular-nums', warn && 'text-red-700 dark:text-red-400')}
      >
        {text.slice(1)}
      </dd>
    </div>
  );
});

/** The robot's current job and its progress, while the stream has a fresh job reading. */
function JobProgress({ robotId }: { robotId: string }) {
  const key = useLive((s) => {
    const v = s.get(robotId)?.series.get('job');
    if (!v || Date.now() - v.ts >= JOB_FRESH_MS) return '';
    const { items_done, items_total, percent } = v.fields;
    return JSON.stringify([items_done ?? 0, items_total ?? 0, Math.round(percent ?? 0)]);
  });
  if (!key) return null;
  const [done, total, percent] = JSON.parse(key) as [number, number, number];
  return (
    <div className="mt-3">
      <div className="flex justify-between text-xs text-slate-600 dark:text-slate-400">
        <span>Job</span>
        <span>
          {total ? `${done}/${total} items · ` : ''}
          {formatValue('percent', percent)}
        </span>
      </div>
      <div
        role="progressbar"
        aria-label="Job progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="mt-1 h-1.5 rounded bg-slate-200 dark:bg-slate-700"
      >
        <div
          className="h-full rounded bg-teal-600"
          style={{ width: `${Math.min(100, Math.max(0, percent))}%` }}
        />
      </div>
    </div>
  );
}

/** "Seen 5 seconds ago": the newest frame's second, re-rendered once a second at most. */
function LastSeen({ robot }: { robot: Robot }) {
  const liveSecond = useLive((s) => {
    const ts = s.get(robot.robot_id)?.lastTs;
    return ts ? Math.floor(ts / 1000) : undefined;
  });
  const now = useSecond();
  const lastSeen =
    liveSecond !== undefined ? liveSecond * 1000 : robot.last_seen ? Date.parse(robot.last_seen) : undefined;
  return (
    <span>{lastSeen ? `Seen ${formatAgo(lastSeen, Math.max(now * 1000, lastSeen))}` : 'Never seen'}</span>
  );
}
