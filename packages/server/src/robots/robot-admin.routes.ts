import {
  ErrorBody,
  RegisterRobotRequest,
  RobotIdParams,
  Robot as RobotSchema,
  RobotStats,
  RobotStatsQuery,
  RobotWithCredentials,
  UpdateRobotRequest,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requestAuditor } from '../audit/audit-trail';
import type { RobotAdminService } from './robot-admin.service';

const SHOWN_ONCE =
  "The answer holds the robot's MQTT secret: shown only here (the server keeps a keyed hash), so store it " +
  'now. The robot connects with username = client id = its robot_id and this password.';

/** With MQTT_DYNSEC, the broker's accounts change in the same transaction as the robot (docs/mqtt-auth.md). */
const BROKER_503 =
  'The external broker (MQTT_DYNSEC) did not take the change: nothing was changed, try again';

export function robotAdminRoutes(admin: RobotAdminService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/robots',
      {
        config: { permission: 'robots:manage' },
        schema: {
          tags: ['robots'],
          summary: 'Register a robot, or claim one that registered itself, and get its MQTT credentials',
          description:
            `201: a new robot, registered. 200: a robot that registered itself on first contact (pending), or ` +
            `one known without credentials, claimed: it becomes active and from now on connects with ` +
            `credentials only (its anonymous session is closed). 409: the robot has credentials already ` +
            `(rotate them), or is deleted (restore it). ${SHOWN_ONCE} Audited as robot.register / robot.claim.`,
          body: RegisterRobotRequest,
          response: {
            200: RobotWithCredentials.describe('Claimed: a robot the server knew, now with credentials'),
            201: RobotWithCredentials.describe('Registered'),
            400: ErrorBody,
            409: ErrorBody,
            503: ErrorBody.describe(BROKER_503),
          },
        },
      },
      async (req, reply) => {
        const { created, body } = await admin.register(req.body, requestAuditor(req));
        return reply
          .status(created ? 201 : 200)
          .header('cache-control', 'no-store')
          .send(body);
      },
    );

    app.patch(
      '/robots/:robot_id',
      {
        config: { permission: 'robots:manage' },
        schema: {
          tags: ['robots'],
          summary: "Change a robot's name, description, location, addresses, thresholds, settings or tags",
          description:
            'Only the fields given change; null clears one. 409 for a deleted robot. Audited as robot.update.',
          params: RobotIdParams,
          body: UpdateRobotRequest,
          response: {
            200: RobotSchema,
            400: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
          },
        },
      },
      async (req) => admin.update(req.params.robot_id, req.body, requestAuditor(req)),
    );

    app.delete(
      '/robots/:robot_id',
      {
        config: { permission: 'robots:manage' },
        schema: {
          tags: ['robots'],
          summary: 'Delete a robot (soft: its history is kept; restore undoes it)',
          description:
            'The robot is disabled (`deleted_at`, `is_active: false`), its MQTT session closed, and its ' +
            'connections and messages refused from now on (`robot_deleted`). 409 when deleted already. ' +
            'Audited as robot.delete.',
          params: RobotIdParams,
          response: { 200: RobotSchema, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody.describe(BROKER_503) },
        },
      },
      async (req) => admin.remove(req.params.robot_id, requestAuditor(req)),
    );

    app.post(
      '/robots/:robot_id/restore',
      {
        config: { permission: 'robots:manage' },
        schema: {
          tags: ['robots'],
          summary: 'Restore a deleted robot',
          description:
            'Its credentials (if it has any) work again. 409 when it is not deleted. Audited as robot.restore.',
          params: RobotIdParams,
          response: { 200: RobotSchema, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody.describe(BROKER_503) },
        },
      },
      async (req) => admin.restore(req.params.robot_id, requestAuditor(req)),
    );

    app.post(
      '/robots/:robot_id/credentials/rotate',
      {
        config: { permission: 'robots:manage' },
        schema: {
          tags: ['robots'],
          summary:
            "Give a robot a new MQTT secret: the old one stops working and the robot's session is closed",
          description:
            `409 for a robot without credentials (claim it with POST /robots) or a deleted one. ${SHOWN_ONCE} ` +
            'Audited as robot.credentials.rotate.',
          params: RobotIdParams,
          response: {
            200: RobotWithCredentials,
            404: ErrorBody,
            409: ErrorBody,
            503: ErrorBody.describe(BROKER_503),
          },
        },
      },
      async (req, reply) => {
        const body = await admin.rotate(req.params.robot_id, requestAuditor(req));
        return reply.header('cache-control', 'no-store').send(body);
      },
    );

    app.get(
      '/robots/:robot_id/stats',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['robots'],
          summary: "A robot's uptime share, messages and last message per channel over a period",
          description:
            'Counted by the hour: `from` and `to` (default: the last 24 hours) widen to whole hours, `to` no ' +
            'later than now; the answer names the period it covers. Online time is counted every 10 s.',
          params: RobotIdParams,
          querystring: RobotStatsQuery,
          response: { 200: RobotStats, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => admin.stats(req.params.robot_id, req.query),
    );
  };
}
