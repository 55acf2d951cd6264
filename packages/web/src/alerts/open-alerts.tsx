import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef } from 'react';
import { api } from '../api/client';
import type { LiveServerEvents } from '../api/types';
import { useToast } from '../components/toasts';
import { useLiveChannels, useLiveFrames } from '../live/live-context';
import { alertSettings, playAlertSound, showBrowserNotification } from './alert-settings';

type AlertView = LiveServerEvents['alert']['alert'];
export const UNRESOLVED_KEY = ['alerts', 'unresolved'] as const;
/** The most unresolved alerts the app keeps in view (the API's page size). */
const MAX = 500;

interface AlertPage {
  items: AlertView[];
  total?: number;
}

/** The unresolved (open or acknowledged) alerts, kept current by the live stream's `alert` frames. */
export function useUnresolvedAlerts() {
  return useQuery({
    queryKey: UNRESOLVED_KEY,
    queryFn: ({ signal }) =>
      api<AlertPage>('/alerts', { query: { state: ['open', 'acknowledged'], limit: MAX }, signal }),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

/**
 * Mounted once in the signed-in app: folds each alert change into the unresolved list (no polling) and
 * tells the user at once, wherever they are, when a critical alert is raised: a toast, and on a device that
 * opted in (Alerts page) a sound and a browser notification.
 */
export function AlertFeed() {
  const client = useQueryClient();
  const toast = useToast();
  const seen = useRef(new Set<string>());
  useLiveChannels('alert');
  useLiveFrames('alert', (frames) => {
    client.setQueryData<AlertPage>(UNRESOLVED_KEY, (page) => {
      if (!page) return page;
      let items = page.items;
      for (const { change, alert } of frames) {
        const rest = items.filter((a) => a.id !== alert.id);
        items = change === 'deleted' || alert.state === 'resolved' ? rest : [alert, ...rest];
      }
      return { ...page, items: items.slice(0, MAX), total: items.length };
    });
    let critical = false;
    for (const { change, alert } of frames) {
      const key = `${alert.id}:${alert.severity}`;
      if (alert.severity !== 'critical' || (change !== 'raised' && change !== 'escalated') || alert.muted)
        continue;
      if (seen.current.has(key)) continue;
      seen.current.add(key);
      critical = true;
      const title = `Critical: ${alert.title}`;
      const description = alert.robot_id ? `${alert.robot_id} — ${alert.message}` : alert.message;
      toast.push({ tone: 'critical', title, description });
      if (alertSettings().notify) showBrowserNotification(title, description, `alert-${alert.id}`);
    }
    // One sound per batch, however many alerts it raised.
    if (critical && alertSettings().sound) playAlertSound();
  });
  return null;
}
