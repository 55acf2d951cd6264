import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ArrowLeft } from 'lucide-react';
import { Tabs } from 'radix-ui';
import { useEffect, useRef } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { ApiError, api } from '../../api/client';
import type { Permission, Robot } from '../../api/types';
import { useUiConfig } from '../../app/ui-config';
import { useCan } from '../../auth/auth';
import { RobotStopControls } from '../../components/emergency-stop';
import { EmptyState, ErrorState, Loading, StatusBadge, Time } from '../../components/ui';
import { formatAgo } from '../../lib/format';
import { useLive, useLiveTelemetry } from '../../live/live-context';
import { AlertsTab } from './alerts-tab';
import { CameraTab } from './camera-tab';
import { CommandsTab } from './commands-tab';
import { DiagnosticsTab } from './diagnostics-tab';
import { GrafanaTab } from './grafana-tab';
import { JobsTab } from './jobs-tab';
import { LogsTab } from './logs-tab';
import { MonitoringTab, prefetchMonitoring } from './monitoring-tab';
import { SensorsTab } from './sensors-tab';
import { ServosTab } from './servos-tab';
import { SettingsTab } from './settings-tab';
import { TerminalTab } from './terminal-tab';

/**
 * The robot page's tabs, by the `tab` URL parameter (Monitoring when absent). Grafana is a tab of its own, not a
 * part of Monitoring: its frames load Grafana only when asked for, and Monitoring keeps its own fast charts.
 */
const TABS = [
  { key: 'monitoring', label: 'Monitoring', Panel: MonitoringTab },
  { key: 'alerts', label: 'Alerts', Panel: AlertsTab },
  { key: 'commands', label: 'Commands', Panel: CommandsTab },
  { key: 'jobs', label: 'Jobs', Panel: JobsTab },
  { key: 'logs', label: 'Logs', Panel: LogsTab },
  { key: 'sensors', label: 'Sensors', Panel: SensorsTab },
  { key: 'camera', label: 'Camera', Panel: CameraTab },
  { key: 'servos', label: 'Servos', Panel: ServosTab },
  { key: 'diagnostics', label: 'Diagnostics', Panel: DiagnosticsTab },
  { key: 'grafana', label: 'Grafana', Panel: GrafanaTab, needs: 'grafana' },
  { key: 'terminal', label: 'Terminal', Panel: TerminalTab, permission: 'robots:terminal' },
  { key: 'settings', label: 'Settings', Panel: SettingsTab },
] as const satisfies readonly {
  key: string;
  label: string;
  Panel: unknown;
  permission?: Permission;
  /** A setting of the server without which the tab is left out (GRAFANA_URL). */
  needs?: 'grafana';
}[];

export function useRobot(robotId: string) {
  return useQuery({
    queryKey: ['robots', 'one', robotId],
    queryFn: ({ signal }) => api<Robot>(`/robots/${encodeURIComponent(robotId)}`, { signal }),
    staleTime: 30_000,
    retry: (n, err) => n < 2 && !(err instanceof ApiError && err.status === 404),
  });
}

export default function RobotPage() {
  const { robotId = '' } = useParams();
  const robot = useRobot(robotId);
  const [params, setParams] = useSearchParams();
  const canControl = useCan('robots:control');
  const canTerminal = useCan('robots:terminal');
  const uiConfig = useUiConfig();
  // A link to the Grafana tab keeps it while the server's settings are on their way (not Monitoring's fetches).
  const hasGrafana = uiConfig.isPending ? params.get('tab') === 'grafana' : Boolean(uiConfig.data?.grafana);
  const tabs = TABS.filter((t) => (!('permission' in t) || canTerminal) && (!('needs' in t) || hasGrafana));
  useLiveTelemetry({ robots: [robotId] }, 'status');
  const liveStatus = useLive((s) => s.get(robotId)?.status?.status);
  const lastTs = useLive((s) => s.get(robotId)?.lastTs);
  const client = useQueryClient();
  // The charts' history and rules are asked for with the robot, not after it: the tab mounts once it is here.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per robot; the tab reads the window itself after
  useEffect(() => {
    if (!params.get('tab') || params.get('tab') === 'monitoring') prefetchMonitoring(client, robotId, params);
  }, [robotId, client]);

  // A phone shows a few tabs at a time: the one the URL opened is scrolled into the strip's view.
  const tabList = useRef<HTMLDivElement>(null);
  const tabParam = params.get('tab');
  // biome-ignore lint/correctness/useExhaustiveDependencies: again when the tab, the loaded page or the tabs (Grafana's comes later) change
  useEffect(() => {
    tabList.current
      ?.querySelector<HTMLElement>('[data-state=active]')
      ?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  }, [tabParam, robot.isSuccess, tabs.length]);

  if (robot.isPending) return <Loading label={`Loading ${robotId}…`} />;
  if (robot.isError) {
    if (robot.error instanceof ApiError && robot.error.status === 404)
      return (
        <EmptyState title={`There is no robot ${robotId}`}>
          <Link to="/" className="underline">
            Back to the fleet
          </Link>
        </EmptyState>
      );
    return <ErrorState error={robot.error} retry={() => void robot.refetch()} />;
  }
  const r = robot.data;
  const status = liveStatus ?? r.status;
  const tab = tabs.find((t) => t.key === params.get('tab'))?.key ?? 'monitoring';
  const lastSeen = lastTs ?? (r.last_seen ? Date.parse(r.last_seen) : null);

  return (
    <div>
      <Link
        to="/"
        className="mb-2 inline-flex items-center gap-1 text-sm text-slate-600 hover:underline dark:text-slate-400"
      >
        <ArrowLeft aria-hidden className="size-4" /> Fleet
      </Link>
      <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h1 className="flex flex-wrap items-center gap-2 text-xl font-semibold">
            <span className="truncate">{r.name ?? r.robot_id}</span>
            <StatusBadge status={status} />
          </h1>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
            {r.robot_id}
            {r.ip_address ? ` · ${r.ip_address}` : ''} · {r.protocol} protocol · seen{' '}
            <span title={lastSeen ? new Date(lastSeen).toISOString() : undefined}>{formatAgo(lastSeen)}</span>
            {r.first_seen && (
              <>
                {' '}
                · first seen <Time value={r.first_seen} />
              </>
            )}
          </p>
          {r.status_reason && status !== 'online' && (
            <p className="mt-1 text-sm text-slate-700 dark:text-slate-300">{r.status_reason}</p>
          )}
        </div>
        {canControl && <RobotStopControls robotId={r.robot_id} stopped={status === 'emergency_stopped'} />}
      </div>
      <Tabs.Root
        value={tab}
        onValueChange={(v) =>
          setParams((p) => {
            const next = new URLSearchParams(p);
            if (v === 'monitoring') next.delete('tab');
            else next.set('tab', v);
            return next;
          })
        }
      >
        <Tabs.List
          ref={tabList}
          aria-label="Robot sections"
          className="mb-4 flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800"
        >
          {tabs.map((t) => (
            <Tabs.Trigger
              key={t.key}
              value={t.key}
              className="border-b-2 border-transparent px-3 py-2 text-sm font-medium whitespace-nowrap text-slate-600 hover:text-slate-900 data-[state=active]:border-teal-600 data-[state=active]:text-teal-800 dark:text-slate-400 dark:hover:text-slate-100 dark:data-[state=active]:text-teal-300"
            >
              {t.label}
            </Tabs.Trigger>
          ))}
        </Tabs.List>
        {tabs.map(({ key, Panel }) => (
          <Tabs.Content key={key} value={key}>
            {key === tab && <Panel robot={r} />}
          </Tabs.Content>
        ))}
      </Tabs.Root>
    </div>
  );
}
