import type { AlertSeverity, AlertState, AlertView } from '../api/types';

/** The API's values (contracts/alerts.ts uses zod at run time, so they are repeated here). */
export const SEVERITIES: readonly AlertSeverity[] = ['critical', 'warning', 'info'];
export const STATES: readonly AlertState[] = ['open', 'acknowledged', 'resolved'];
/** The alert types the server raises (a robot may bring others: the type filter also takes free text). */
export const ALERT_TYPES = [
  'threshold',
  'robot_offline',
  'emergency_stop',
  'robot_error',
  'job_failed',
  'manual',
];
/** The time windows the list offers (the API's time_range). */
export const WINDOWS = [
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
] as const;
const WINDOW_MS: Record<string, number> = {
  '1h': 3600_000,
  '6h': 6 * 3600_000,
  '24h': 24 * 3600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

export const SEVERITY_STYLE: Record<AlertSeverity, string> = {
  critical: 'bg-red-700 text-white dark:bg-red-600',
  warning: 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100',
  info: 'bg-sky-100 text-sky-900 dark:bg-sky-900/50 dark:text-sky-100',
};
export const STATE_STYLE: Record<AlertState, string> = {
  open: 'bg-red-100 text-red-900 dark:bg-red-900/50 dark:text-red-100',
  acknowledged: 'bg-amber-100 text-amber-900 dark:bg-amber-900/50 dark:text-amber-100',
  resolved: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/50 dark:text-emerald-100',
};

/** The list's filters as they stand in the URL. */
export interface AlertFilters {
  severity?: string;
  type?: string;
  robot?: string;
  /** open, acknowledged, resolved, or `unresolved` (open and acknowledged). */
  state?: string;
  window?: string;
  q?: string;
}

export const FILTER_KEYS = ['severity', 'type', 'robot', 'state', 'window', 'q'] as const;

export function filtersFrom(params: URLSearchParams, robotId?: string): AlertFilters {
  const f: AlertFilters = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k)?.trim();
    if (v) f[k] = v;
  }
  if (robotId) f.robot = robotId;
  return f;
}

export function stateList(state: string | undefined): AlertState[] | undefined {
  if (!state) return undefined;
  if (state === 'unresolved') return ['open', 'acknowledged'];
  return STATES.includes(state as AlertState) ? [state as AlertState] : undefined;
}

/** The list call's query for these filters. */
export function listQuery(f: AlertFilters) {
  return {
    severity: f.severity,
    alert_type: f.type,
    robot_id: f.robot,
    state: stateList(f.state),
    time_range: f.window,
    search: f.q,
  };
}

/** Whether a live alert belongs in the list these filters show (the server's filters, applied here). */
export function matches(a: AlertView, f: AlertFilters, now = Date.now()): boolean {
  if (f.severity && a.severity !== f.severity) return false;
  if (f.type && a.alert_type !== f.type) return false;
  if (f.robot && a.robot_id !== f.robot) return false;
  const states = stateList(f.state);
  if (states && !states.includes(a.state)) return false;
  if (f.window && WINDOW_MS[f.window] && Date.parse(a.created_at) < now - (WINDOW_MS[f.window] as number))
    return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!a.title.toLowerCase().includes(q) && !a.message.toLowerCase().includes(q)) return false;
  }
  return true;
}

export function label(value: string): string {
  const s = value.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
