import {
  ErrorBody,
  RobotIdParams,
  TelemetryFieldsResponse,
  TelemetryQuery,
  TelemetryResponse,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sendJsonPieces } from '../http/plain-json';
import { unlessBusy } from '../http/unless-busy';
import type { TelemetryService } from './telemetry.service';

export const telemetryRoutes: FastifyPluginAsyncZod<{ telemetry: TelemetryService }> = async (
  app,
  { telemetry },
) => {
  app.get(
    '/robots/:robot_id/telemetry',
    {
      config: { permission: 'telemetry:read', shedUnderPressure: true, paced: true },
      schema: {
        tags: ['telemetry'],
        summary: "A robot's history, reduced to about `points` buckets",
        description:
          'Every bucket has avg, min, max, last and count. The store answers from raw points or from ' +
          'minute/hour roll-ups, whichever is the coarsest that still gives `points` buckets.',
        params: RobotIdParams,
        querystring: TelemetryQuery,
        response: {
          200: TelemetryResponse,
          400: ErrorBody,
          404: ErrorBody,
          503: ErrorBody.describe(
            'Busy (queries waiting, or telemetry coming in): try again after Retry-After seconds',
          ),
        },
      },
    },
    // Up to ~1.2 MB per answer, sent as the pieces of text the service prepares (no zod pass, no per-poll
    // serialising or copying of the closed buckets; see plain-json.ts).
    async (req, reply) =>
      sendJsonPieces(
        reply,
        await unlessBusy(reply, () => telemetry.rangeJson(req.params.robot_id, req.query)),
      ),
  );

  app.get(
    '/robots/:robot_id/telemetry/fields',
    {
      config: { permission: 'telemetry:read', shedUnderPressure: true },
      schema: {
        tags: ['telemetry'],
        summary: 'Which measurements and fields hold data for a robot (last 7 days)',
        description: 'Includes extra fields a robot sent beyond the known ones.',
        params: RobotIdParams,
        response: {
          200: TelemetryFieldsResponse,
          404: ErrorBody,
          503: ErrorBody.describe(
            'Busy (queries waiting, or telemetry coming in): try again after Retry-After seconds',
          ),
        },
      },
    },
    async (req, reply) => unlessBusy(reply, () => telemetry.fields(req.params.robot_id)),
  );
};
