import { HealthResponse } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Health } from '../http/server-status';

export const healthRoutes: FastifyPluginAsyncZod<{ health: () => Promise<Health> }> = async (app, opts) => {
  app.get(
    '/health',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['system'],
        summary: "Each component's state and the ingest counters",
        description: 'Answers 503 when a component is down.',
        response: { 200: HealthResponse, 503: HealthResponse },
      },
    },
    async (_req, reply) => {
      const health = await opts.health();
      return reply.status(health.status === 'ok' ? 200 : 503).send(health);
    },
  );
};

export const metricsRoutes: FastifyPluginAsyncZod<{
  metrics: () => { contentType: string; metrics(): Promise<string> };
}> = async (app, opts) => {
  app.get(
    '/metrics',
    {
      config: { permission: 'public' },
      schema: { tags: ['system'], summary: 'Prometheus metrics', hide: false },
    },
    async (_req, reply) => {
      const registry = opts.metrics();
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
};
