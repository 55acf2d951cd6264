import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import type { GrafanaUiConfig, UiConfig } from '../api/types';

export const UI_CONFIG_KEY = ['ui-config'] as const;

/** The server's settings the app draws itself with: asked once per session, they change only with a restart. */
export function useUiConfig() {
  return useQuery({
    queryKey: UI_CONFIG_KEY,
    queryFn: ({ signal }) => api<UiConfig>('/ui-config', { signal }),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

/** The Grafana to embed and link to; undefined when GRAFANA_URL is unset (or not known yet, or unreadable). */
export function useGrafana(): GrafanaUiConfig | undefined {
  return useUiConfig().data?.grafana ?? undefined;
}
