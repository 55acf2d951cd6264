import {
  ErrorBody,
  RobotIdParams,
  RobotLatest,
  RobotList,
  RobotListQuery,
  Robot as RobotSchema,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sendSharedJson } from '../http/plain-json';
import { unlessBusy } from '../http/unless-busy';
import type { RobotsService } from './robots.service';

export const robotsRoutes: FastifyPluginAsyncZod<{ robots: RobotsService }> = async (app, { robots }) => {
  app.get(
    '/robots',
    {
      config: { permission: 'robots:read', shedUnderPressure: true },
      schema: {
        tags: ['robots'],
        summary: 'List robots with their status and latest values',
        description:
          'Filter by status, search robot_id or name; sort and page. Answers are shared for up to ' +
          'ROBOT_LIST_MAX_AGE_MS (default 1 s): status and latest values are at most that old — the live ' +
          'stream has them as they arrive.',
        querystring: RobotListQuery,
        response: {
          200: RobotList,
          400: ErrorBody,
          503: ErrorBody.describe(
            'The server is busy taking in telemetry: try again after Retry-After seconds',
          ),
        },
      },
    },
    async (req, reply) => sendSharedJson(req, reply, await robots.listJson(req.query)),
  );

  app.get(
    '/robots/:robot_id',
    {
      config: { permission: 'robots:read' },
      schema: {
        tags: ['robots'],
        summary: 'One robot',
        params: RobotIdParams,
        response: { 200: RobotSchema, 404: ErrorBody },
      },
    },
    async (req) => robots.get(req.params.robot_id),
  );

  app.get(
    '/robots/:robot_id/latest',
    {
      config: { permission: 'telemetry:read', shedUnderPressure: true },
      schema: {
        tags: ['telemetry'],
        summary: "A robot's newest value of every measurement and servo",
        params: RobotIdParams,
        response: {
          200: RobotLatest,
          404: ErrorBody,
          503: ErrorBody.describe(
            'Busy (queries waiting, or telemetry coming in): try again after Retry-After seconds',
          ),
        },
      },
    },
    async (req, reply) => unlessBusy(reply, () => robots.latest(req.params.robot_id)),
  );
};
