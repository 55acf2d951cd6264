import { HealthResponse } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';

export type Health = z.infer<typeof HealthResponse>;

export const healthRoutes: FastifyPluginAsyncZod<{ health: () => Promise<Health> }> = async (app, opts) => {
  app.get(
    '/health',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['system'],
        summary: "Each component's state and the ingest counters",
        description: 'Answers 503 when a component is down. Permission: public.',
        response: { 200: HealthResponse, 503: HealthResponse },
      },
    },
    async (_req, reply) => {
      const health = await opts.health();
      return reply.status(health.status === 'ok' ? 200 : 503).send(health);
    },
  );
};
