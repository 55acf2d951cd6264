import {
  ErrorBody,
  RobotIdParams,
  RobotLatest,
  RobotList,
  RobotListQuery,
  Robot as RobotSchema,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RobotsService } from './robots.service';

export const robotsRoutes: FastifyPluginAsyncZod<{ robots: RobotsService }> = async (app, { robots }) => {
  app.get(
    '/robots',
    {
      config: { permission: 'robots:read' },
      schema: {
        tags: ['robots'],
        summary: 'List robots with their status and latest values',
        description: 'Filter by status, search robot_id or name; sort and page. Permission: robots:read.',
        querystring: RobotListQuery,
        response: { 200: RobotList, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (req) => robots.list(req.query),
  );

  app.get(
    '/robots/:robot_id',
    {
      config: { permission: 'robots:read' },
      schema: {
        tags: ['robots'],
        summary: 'One robot',
        description: 'Permission: robots:read.',
        params: RobotIdParams,
        response: { 200: RobotSchema, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => robots.get(req.params.robot_id),
  );

  app.get(
    '/robots/:robot_id/latest',
    {
      config: { permission: 'telemetry:read' },
      schema: {
        tags: ['telemetry'],
        summary: "A robot's newest value of every measurement and servo",
        description: 'Permission: telemetry:read.',
        params: RobotIdParams,
        response: { 200: RobotLatest, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => robots.latest(req.params.robot_id),
  );
};
