import {
  GRAFANA_ROBOT_PANELS,
  type GrafanaRange,
  type GrafanaTheme,
  grafanaDashboardUrl,
  grafanaPanelUrl,
} from '@tonypi/contracts/grafana';
import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { GrafanaUiConfig, Robot } from '../../api/types';
import { useTheme } from '../../app/theme';
import { useUiConfig } from '../../app/ui-config';
import { GrafanaLink } from '../../components/grafana-link';
import { cx, Loading } from '../../components/ui';
import { PRESETS, type TimeWindow, windowFromParams } from '../../lib/telemetry';
import { WindowPicker } from './monitoring-tab';

/** The app's time window as Grafana's URL takes it: `now-6h` … `now`, or a fixed span in epoch ms. */
export function grafanaRange(window: TimeWindow): GrafanaRange {
  if (window.kind === 'fixed') return { from: String(window.from), to: String(window.to) };
  // The presets' keys (5m … 30d) are Grafana's own units; any other span in seconds.
  const preset = PRESETS.find((p) => p.ms === window.ms);
  return { from: `now-${preset ? preset.key : `${Math.round(window.ms / 1000)}s`}`, to: 'now' };
}

/**
 * The robot dashboard's panels, each a Grafana iframe (`/d-solo/…`) for this robot in the app's theme and time
 * window (the Monitoring tab's picker: the window is the URL's, shared by both tabs). A new theme or window is
 * a new URL, so Grafana redraws the panel in it. Frames load when scrolled near (`loading="lazy"`). Their
 * sandbox allows what Grafana needs — scripts, its own origin (its cookies), forms (its login), pop-ups (its
 * links) — and not navigating the app's page.
 */
export function GrafanaTab({ robot }: { robot: Robot }) {
  const uiConfig = useUiConfig();
  const grafana = uiConfig.data?.grafana;
  const [params] = useSearchParams();
  const window = useMemo(() => windowFromParams(params), [params]);
  const { dark } = useTheme();
  if (uiConfig.isPending) return <Loading label="Loading the Grafana settings…" />;
  // The robot page shows this tab only with Grafana set.
  if (!grafana) return null;
  return <GrafanaPanels grafana={grafana} robot={robot} window={window} theme={dark ? 'dark' : 'light'} />;
}

function GrafanaPanels({
  grafana,
  robot,
  window,
  theme,
}: {
  grafana: GrafanaUiConfig;
  robot: Robot;
  window: TimeWindow;
  theme: GrafanaTheme;
}) {
  const range = grafanaRange(window);
  const dashboard = grafana.dashboards.robot;
  const robotId = robot.robot_id;
  const frame = (panel: (typeof GRAFANA_ROBOT_PANELS)[number]) => (
    <iframe
      key={panel.id}
      title={`Grafana: ${panel.title} of ${robotId}`}
      src={grafanaPanelUrl(grafana.url, dashboard, { panelId: panel.id, robotId, range, theme })}
      loading="lazy"
      sandbox="allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox"
      className={cx(
        'w-full rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900',
        panel.size === 'stat' ? 'h-32' : 'h-72',
      )}
    />
  );
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <WindowPicker window={window} />
        <GrafanaLink href={grafanaDashboardUrl(grafana.url, dashboard, { robotId, range, theme })}>
          Open in Grafana
        </GrafanaLink>
      </div>
      <p className="text-xs text-slate-600 dark:text-slate-400">
        Panels of the Grafana dashboard “TonyPi robot” for {robotId}. A panel that asks for a login or stays
        blank means Grafana does not allow embedding yet (see the README, “Grafana panels in the web app”).
      </p>
      <section aria-label="Grafana: now" className="grid grid-cols-2 gap-2 lg:grid-cols-4">
        {GRAFANA_ROBOT_PANELS.filter((p) => p.size === 'stat').map(frame)}
      </section>
      <section aria-label="Grafana: history" className="grid gap-4 xl:grid-cols-2">
        {GRAFANA_ROBOT_PANELS.filter((p) => p.size === 'graph').map(frame)}
      </section>
    </div>
  );
}
