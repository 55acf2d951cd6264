import { type QueryClient, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { api } from '../../api/client';
import type { AlertRuleListItem, Robot } from '../../api/types';
import { type ChartThreshold, TimeSeriesChart } from '../../components/chart/time-series-chart';
import { Card, cx, ErrorState, inputClass, Loading } from '../../components/ui';
import { fieldLabel, formatValue } from '../../lib/format';
import {
  PRESETS,
  type TimeWindow,
  telemetryQuery,
  useTelemetrySeries,
  windowFromParams,
} from '../../lib/telemetry';
import { useLive } from '../../live/live-context';

type RuleItem = AlertRuleListItem;

const rulesQuery = (robotId: string) => ({
  queryKey: ['alert-rules', robotId],
  queryFn: ({ signal }: { signal: AbortSignal }) =>
    api<{ items: RuleItem[] }>('/alert-rules', { query: { robot_id: robotId }, signal }),
  staleTime: 60_000,
});

/** The rules that apply to the robot (its own and the global ones it does not override). */
export function useRobotRules(robotId: string) {
  return useQuery(rulesQuery(robotId));
}

export function thresholdsFor(
  rules: RuleItem[] | undefined,
  measurement: string,
  fields: readonly string[],
  label: (field: string) => string = fieldLabel,
): ChartThreshold[] {
  const out: ChartThreshold[] = [];
  for (const r of rules ?? []) {
    if (!r.enabled || r.overridden || r.measurement !== measurement || !fields.includes(r.field)) continue;
    if (Object.keys(r.tag_filter).length > 0) continue;
    const name = label(r.field);
    if (r.warning_level !== null)
      out.push({ value: r.warning_level, label: `${name} warning`, color: '#d97706' });
    if (r.critical_level !== null)
      out.push({ value: r.critical_level, label: `${name} critical`, color: '#dc2626' });
  }
  return out;
}

const PALETTE = ['#0d9488', '#6366f1', '#d946ef', '#f59e0b', '#0ea5e9', '#84cc16'];

/** About one bucket per two pixels of a wide chart. */
const POINTS = 800;

export function MetricChart({
  robot,
  title,
  measurement,
  fields,
  window,
  yRange,
  onZoom,
  rules,
  labels = {},
  servoId,
}: {
  /** One servo's series of `servos`. */
  servoId?: string;
  robot: Robot;
  title: string;
  /** Names for fields whose own name says too little (battery `percent`). */
  labels?: Readonly<Record<string, string>>;
  measurement: string;
  fields: readonly string[];
  window: TimeWindow;
  yRange?: [number, number];
  onZoom: (r: { from: number; to: number }) => void;
  rules?: RuleItem[];
}) {
  const { data, error, isPending, refetch, range } = useTelemetrySeries({
    robotId: robot.robot_id,
    measurement,
    fields,
    window,
    points: POINTS,
    servoId,
  });
  const series = useMemo(
    () =>
      fields.map((f, i) => ({
        label: labels[f] ?? fieldLabel(f),
        values: data?.values[f] ?? [],
        color: PALETTE[i % PALETTE.length]!,
        unit: formatValue(f, 0).replace(/^0\s?/, ''),
      })),
    [data, fields, labels],
  );
  const thresholds = useMemo(
    () => thresholdsFor(rules, measurement, fields, (f) => labels[f] ?? fieldLabel(f)),
    [rules, measurement, fields, labels],
  );
  return (
    <Card className="p-4">
      <div className="mb-2 flex items-baseline justify-between gap-2">
        <h2 className="font-medium">{title}</h2>
        <span className="text-xs text-slate-500 dark:text-slate-400">
          {data?.resolution
            ? `${data.resolution} data${data.bucketMs ? `, ${Math.round(data.bucketMs / 1000)} s buckets` : ''}`
            : ''}
        </span>
      </div>
      {isPending ? (
        <Loading label="Loading history…" />
      ) : error && !data ? (
        <ErrorState error={error} retry={refetch} />
      ) : data && data.times.length === 0 ? (
        <p className="py-10 text-center text-sm text-slate-600 dark:text-slate-400">
          No data in this window.
        </p>
      ) : (
        <TimeSeriesChart
          title={title}
          times={data?.times ?? []}
          series={series}
          thresholds={thresholds}
          range={range}
          yRange={yRange}
          onZoom={onZoom}
        />
      )}
    </Card>
  );
}

export function LiveValue({
  robot,
  measurement,
  field,
  label = fieldLabel(field),
}: {
  robot: Robot;
  measurement: string;
  field: string;
  label?: string;
}) {
  const live = useLive((s) => s.value(robot.robot_id, measurement, field));
  const value = live ?? robot.latest.measurements[measurement]?.fields[field];
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
      <div className="text-xs text-slate-600 dark:text-slate-400">{label}</div>
      <div className="text-xl font-semibold tabular-nums" data-testid={`live-${measurement}-${field}`}>
        {formatValue(field, value)}
      </div>
    </div>
  );
}

/** A window picker whose state is the URL (`range`, or `from` + `to` after a zoom or a custom span). */
export function WindowPicker({ window }: { window: TimeWindow }) {
  const [, setParams] = useSearchParams();
  const set = (mutate: (p: URLSearchParams) => void) =>
    setParams((p) => {
      const next = new URLSearchParams(p);
      mutate(next);
      return next;
    });
  const local = (ms: number) => {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
    return d.toISOString().slice(0, 16);
  };
  return (
    <div className="flex flex-wrap items-end gap-2">
      <fieldset className="flex flex-wrap rounded-md border border-slate-300 dark:border-slate-600">
        <legend className="sr-only">Time window</legend>
        {PRESETS.map((p) => {
          const active = window.kind === 'last' && window.ms === p.ms;
          return (
            <button
              key={p.key}
              type="button"
              aria-pressed={active}
              onClick={() =>
                set((n) => {
                  n.delete('from');
                  n.delete('to');
                  if (p.key === '1h') n.delete('range');
                  else n.set('range', p.key);
                })
              }
              className={cx(
                'px-2.5 py-1.5 text-sm',
                active
                  ? 'bg-teal-700 text-white dark:bg-teal-700'
                  : 'hover:bg-slate-100 dark:hover:bg-slate-800',
              )}
            >
              {p.label}
            </button>
          );
        })}
      </fieldset>
      {/* Wraps on a phone: two date-time fields side by side are wider than its screen. */}
      <div className="flex flex-wrap items-end gap-1">
        <label className="text-xs text-slate-600 dark:text-slate-400">
          From
          <input
            type="datetime-local"
            className={inputClass}
            value={window.kind === 'fixed' ? local(window.from) : ''}
            onChange={(e) => {
              const from = Date.parse(e.target.value);
              if (!Number.isFinite(from)) return;
              set((n) => {
                n.set('from', String(from));
                const to = Number(n.get('to'));
                if (!(to > from)) n.set('to', String(Math.min(Date.now(), from + 3600_000)));
              });
            }}
          />
        </label>
        <label className="text-xs text-slate-600 dark:text-slate-400">
          To
          <input
            type="datetime-local"
            className={inputClass}
            value={window.kind === 'fixed' ? local(window.to) : ''}
            onChange={(e) => {
              const to = Date.parse(e.target.value);
              if (!Number.isFinite(to)) return;
              set((n) => {
                n.set('to', String(to));
                const from = Number(n.get('from'));
                if (!(from < to)) n.set('from', String(to - 3600_000));
              });
            }}
          />
        </label>
      </div>
      {window.kind === 'fixed' && (
        <span className="text-xs text-slate-600 dark:text-slate-400">
          Fixed window: choose a preset to follow live values again.
        </span>
      )}
    </div>
  );
}

/** The Monitoring tab's charts: what it draws, and what the robot page prefetches for it. */
const CHARTS = [
  { measurement: 'system', fields: ['cpu_percent', 'memory_percent', 'disk_percent'] },
  { measurement: 'system', fields: ['cpu_temperature_c'] },
  { measurement: 'battery', fields: ['percent'] },
] as const;

/**
 * Starts the Monitoring tab's history and rule requests before the tab mounts (the robot page calls it while
 * the robot itself is loading): the charts' data no longer waits for the robot's answer and the first render.
 */
export function prefetchMonitoring(client: QueryClient, robotId: string, params: URLSearchParams): void {
  const window = windowFromParams(params);
  for (const c of CHARTS)
    void client.prefetchQuery(
      telemetryQuery({ robotId, measurement: c.measurement, fields: c.fields, window, points: POINTS }),
    );
  void client.prefetchQuery(rulesQuery(robotId));
}

export function MonitoringTab({ robot }: { robot: Robot }) {
  const [params, setParams] = useSearchParams();
  const window = useMemo(() => windowFromParams(params), [params]);
  const rules = useRobotRules(robot.robot_id);
  const zoom = (r: { from: number; to: number }) =>
    setParams((p) => {
      const next = new URLSearchParams(p);
      next.delete('range');
      next.set('from', String(r.from));
      next.set('to', String(r.to));
      return next;
    });
  return (
    <div className="space-y-4">
      <div className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6">
        <LiveValue robot={robot} measurement="system" field="cpu_percent" />
        <LiveValue robot={robot} measurement="system" field="memory_percent" />
        <LiveValue robot={robot} measurement="system" field="disk_percent" />
        <LiveValue robot={robot} measurement="system" field="cpu_temperature_c" />
        <LiveValue robot={robot} measurement="battery" field="percent" label="Battery" />
        <LiveValue robot={robot} measurement="battery" field="voltage_v" label="Battery voltage" />
      </div>
      <WindowPicker window={window} />
      <p className="text-xs text-slate-600 dark:text-slate-400">
        Drag across a chart to zoom into that span.
      </p>
      <div className="grid gap-4 xl:grid-cols-2">
        <MetricChart
          robot={robot}
          title="CPU, memory and disk"
          measurement="system"
          fields={USAGE}
          window={window}
          yRange={[0, 100]}
          onZoom={zoom}
          rules={rules.data?.items}
        />
        <MetricChart
          robot={robot}
          title="CPU temperature"
          measurement="system"
          fields={TEMP}
          window={window}
          onZoom={zoom}
          rules={rules.data?.items}
        />
        <MetricChart
          robot={robot}
          title="Battery"
          measurement="battery"
          fields={BATTERY}
          labels={BATTERY_LABELS}
          window={window}
          yRange={[0, 100]}
          onZoom={zoom}
          rules={rules.data?.items}
        />
      </div>
    </div>
  );
}

const USAGE = CHARTS[0].fields;
const TEMP = CHARTS[1].fields;
const BATTERY = CHARTS[2].fields;
const BATTERY_LABELS = { percent: 'Battery' } as const;
