import { GRAFANA_DASHBOARDS, UiConfig } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Config } from '../config';

/** What the web app is told of the server's settings: only what draws the page, never a secret. */
export function uiConfigOf(config: Pick<Config, 'grafana'>): z.infer<typeof UiConfig> {
  return {
    grafana: config.grafana ? { url: config.grafana.url, dashboards: GRAFANA_DASHBOARDS } : null,
  };
}

export const uiConfigRoutes: FastifyPluginAsyncZod<{ config: Pick<Config, 'grafana'> }> = async (
  app,
  opts,
) => {
  const body = uiConfigOf(opts.config);
  app.get(
    '/ui-config',
    {
      config: { permission: 'robots:read' },
      schema: {
        tags: ['system'],
        summary: 'The settings the web app draws itself with (Grafana panels and links)',
        description:
          '`grafana` is the Grafana the browser reaches (GRAFANA_URL) and the provisioned dashboards the app embeds ' +
          'on the robot page and links to; null when GRAFANA_URL is unset.',
        response: { 200: UiConfig },
      },
    },
    async () => body,
  );
};
