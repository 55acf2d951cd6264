import { z } from 'zod';

/** `GET /api/v1/ui-config`: the server's settings the web app needs to draw itself (issue #9 §5). */

const DashboardRef = z.object({
  uid: z.string(),
  slug: z.string(),
});

export const UiConfig = z
  .object({
    grafana: z
      .object({
        url: z
          .string()
          .describe('GRAFANA_URL as the browser reaches it, without a trailing slash (may have a sub-path)'),
        dashboards: z.object({ robot: DashboardRef, fleet: DashboardRef }),
      })
      .nullable()
      .describe('null when GRAFANA_URL is unset: the web app then shows nothing of Grafana'),
  })
  .meta({
    id: 'UiConfig',
    example: {
      grafana: {
        url: 'https://grafana.example.com',
        dashboards: {
          robot: { uid: 'tonypi-robot', slug: 'tonypi-robot' },
          fleet: { uid: 'tonypi-fleet', slug: 'tonypi-fleet' },
        },
      },
    },
  });
