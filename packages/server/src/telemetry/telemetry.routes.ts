import {
  ErrorBody,
  RobotIdParams,
  TelemetryFieldsResponse,
  TelemetryQuery,
  TelemetryResponse,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { TelemetryService } from './telemetry.service';

export const telemetryRoutes: FastifyPluginAsyncZod<{ telemetry: TelemetryService }> = async (
  app,
  { telemetry },
) => {
  app.get(
    '/robots/:robot_id/telemetry',
    {
      config: { permission: 'telemetry:read' },
      schema: {
        tags: ['telemetry'],
        summary: "A robot's history, reduced to about `points` buckets",
        description:
          'Every bucket has avg, min, max, last and count. The store answers from raw points or from ' +
          'minute/hour roll-ups, whichever is the coarsest that still gives `points` buckets. ' +
          'Permission: telemetry:read.',
        params: RobotIdParams,
        querystring: TelemetryQuery,
        response: { 200: TelemetryResponse, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => telemetry.range(req.params.robot_id, req.query),
  );

  app.get(
    '/robots/:robot_id/telemetry/fields',
    {
      config: { permission: 'telemetry:read' },
      schema: {
        tags: ['telemetry'],
        summary: 'Which measurements and fields hold data for a robot (last 7 days)',
        description: 'Includes extra fields a robot sent beyond the known ones. Permission: telemetry:read.',
        params: RobotIdParams,
        response: { 200: TelemetryFieldsResponse, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => telemetry.fields(req.params.robot_id),
  );
};
