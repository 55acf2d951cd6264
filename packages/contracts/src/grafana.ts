/**
 * The provisioned Grafana dashboards the web app embeds and links to (deploy/grafana/build-dashboards.ts
 * makes them; packages/server/test/grafana-embed.test.ts checks these uids, slugs and panel ids against the
 * generated JSON). Plain values and string functions, no zod: the web app imports this file.
 */

export interface GrafanaDashboardRef {
  uid: string;
  /** The URL slug Grafana derives from the title; any slug opens the dashboard, this one avoids a redirect. */
  slug: string;
}

export const GRAFANA_DASHBOARDS = {
  robot: { uid: 'tonypi-robot', slug: 'tonypi-robot' },
  fleet: { uid: 'tonypi-fleet', slug: 'tonypi-fleet' },
} as const satisfies Record<string, GrafanaDashboardRef>;

/** A panel of the robot dashboard shown in the web app: its id and title in the dashboard, and its size. */
export interface GrafanaPanelRef {
  id: number;
  title: string;
  /** `stat`: a small number tile; `graph`: a chart that takes a column. */
  size: 'stat' | 'graph';
}

/**
 * What the robot page embeds: the "Now" tiles and the charts the app's own tabs draw differently or not at
 * all (servos per servo, IMU). Tables (alerts, jobs, log) are left to the app's own tabs.
 */
export const GRAFANA_ROBOT_PANELS: readonly GrafanaPanelRef[] = [
  { id: 2, title: 'Battery', size: 'stat' },
  { id: 3, title: 'Battery voltage', size: 'stat' },
  { id: 4, title: 'CPU temperature', size: 'stat' },
  { id: 5, title: 'CPU', size: 'stat' },
  { id: 8, title: 'Battery', size: 'graph' },
  { id: 11, title: 'CPU, memory and disk', size: 'graph' },
  { id: 12, title: 'Temperatures', size: 'graph' },
  { id: 14, title: 'Servo temperature', size: 'graph' },
  { id: 17, title: 'Servo load', size: 'graph' },
  { id: 19, title: 'Acceleration', size: 'graph' },
  { id: 22, title: 'Ultrasonic distance', size: 'graph' },
  { id: 23, title: 'Light level', size: 'graph' },
];

/** A time range as Grafana's URL takes it: relative (`now-1h`) or epoch ms. */
export interface GrafanaRange {
  from: string;
  to: string;
}

export type GrafanaTheme = 'light' | 'dark';

/** `https://grafana.example.com/grafana/` → `https://grafana.example.com/grafana` (Grafana under a sub-path too). */
function base(grafanaUrl: string): string {
  return grafanaUrl.replace(/\/+$/, '');
}

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** One panel alone (`/d-solo/…`), for an iframe: the robot, the theme and the range in the URL, no chrome. */
export function grafanaPanelUrl(
  grafanaUrl: string,
  dashboard: GrafanaDashboardRef,
  opts: { panelId: number; robotId?: string; range: GrafanaRange; theme: GrafanaTheme },
): string {
  const params: Record<string, string> = { orgId: '1' };
  if (opts.robotId !== undefined) params['var-robot_id'] = opts.robotId;
  Object.assign(params, {
    panelId: String(opts.panelId),
    from: opts.range.from,
    to: opts.range.to,
    theme: opts.theme,
  });
  // `kiosk` is a bare flag: Grafana hides its chrome when the parameter is present.
  return `${base(grafanaUrl)}/d-solo/${dashboard.uid}/${dashboard.slug}?${query(params)}&kiosk`;
}

/** The whole dashboard (`/d/…`), to open in Grafana itself. */
export function grafanaDashboardUrl(
  grafanaUrl: string,
  dashboard: GrafanaDashboardRef,
  opts: { robotId?: string; range?: GrafanaRange; theme?: GrafanaTheme } = {},
): string {
  const params: Record<string, string> = { orgId: '1' };
  if (opts.robotId !== undefined) params['var-robot_id'] = opts.robotId;
  if (opts.range) Object.assign(params, { from: opts.range.from, to: opts.range.to });
  if (opts.theme) params.theme = opts.theme;
  return `${base(grafanaUrl)}/d/${dashboard.uid}/${dashboard.slug}?${query(params)}`;
}
