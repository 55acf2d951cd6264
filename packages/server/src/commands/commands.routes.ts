import {
  CommandAccepted,
  CommandIdParams,
  CommandList,
  CommandListQuery,
  CommandRequest,
  CommandView,
  EmergencyStopAccepted,
  EmergencyStopRequest,
  EmergencyStopView,
  ErrorBody,
  ResumeRequest,
  RobotIdParams,
  StopIdParams,
} from '@tonypi/contracts';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requestAuditor } from '../audit/audit-trail';
import { type CommandService, RateLimitedError, type Requester } from './commands.service';

const requester = (req: FastifyRequest): Requester => ({ ...requestAuditor(req), role: req.user.role });

export function commandsRoutes(commands: CommandService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/robots/:robot_id/commands',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['commands'],
          summary: 'Send a command to a robot',
          description:
            'The command is checked against the vocabulary (each command its parameters and limits: 400 ' +
            'validation_error naming each field), stored (`pending`) and published at QoS 1 in the protocol the ' +
            'robot speaks; follow it with GET /commands/{command_id} or the live `command` channel: `sent` → ' +
            '`acknowledged` → `succeeded` | `failed`, or `timed_out` after `timeout_s`. A robot that is offline ' +
            'gets 409 robot_offline unless `queue_ttl_s` asks to queue the command until it comes back. An ' +
            '`Idempotency-Key` header makes a retry safe: the same key from the same user within 24 h answers ' +
            'the first command again (409 idempotency_key_reused for a different body). 429 with Retry-After ' +
            'when a user sends faster than COMMANDS_PER_USER_PER_S. `shutdown` and `reboot` need robots:power ' +
            '(admin). Audited as command.send.',
          params: RobotIdParams,
          body: CommandRequest,
          response: {
            202: CommandAccepted,
            400: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
            429: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        const key = req.headers['idempotency-key'];
        try {
          const accepted = await commands.issue(
            req.params.robot_id,
            req.body,
            requester(req),
            typeof key === 'string' ? key : undefined,
          );
          return reply.status(202).send(accepted);
        } catch (err) {
          if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterS));
          throw err;
        }
      },
    );

    app.get(
      '/robots/:robot_id/commands',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['commands'],
          summary: "A robot's commands, newest first",
          description:
            'Filter by `status` and `command`; page with `limit` and the previous page’s `next_cursor`.',
          params: RobotIdParams,
          querystring: CommandListQuery,
          response: { 200: CommandList, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req) => commands.history(req.params.robot_id, req.query),
    );

    app.get(
      '/commands/:command_id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['commands'],
          summary: 'One command and its state',
          params: CommandIdParams,
          response: { 200: CommandView, 404: ErrorBody },
        },
      },
      async (req) => commands.get(req.params.command_id),
    );

    app.post(
      '/robots/:robot_id/emergency-stop',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['commands'],
          summary: 'Emergency-stop one robot',
          description:
            'Sent before anything else (never rate limited or queued) at QoS 1: the canonical command topic, or ' +
            '`tonypi/emergency_stop/{id}` for a robot of the original client. The robot shows ' +
            '`emergency_stopped` from now until POST /robots/{id}/resume, whatever its own status messages say; ' +
            'a robot that is offline is held stopped and gets the stop again when it reconnects. Its ' +
            'acknowledgement: GET /emergency-stops/{stop_id}. Audited as robot.emergency_stop.',
          params: RobotIdParams,
          body: EmergencyStopRequest,
          response: { 202: EmergencyStopAccepted, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) =>
        reply
          .status(202)
          .send(await commands.emergencyStop(req.params.robot_id, req.body.reason, requester(req))),
    );

    app.post(
      '/fleet/emergency-stop',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['commands'],
          summary: 'Emergency-stop every robot',
          description:
            'Both broadcasts (`tonypi/system/broadcast`, `tonypi/emergency_stop/broadcast`) reach every ' +
            'connected robot, then each known robot gets its own stop (one command row each, under `stop_id`) ' +
            'so its acknowledgement is recorded: GET /emergency-stops/{stop_id}. Every robot shows ' +
            '`emergency_stopped` until resumed. Audited as fleet.emergency_stop.',
          body: EmergencyStopRequest,
          response: { 202: EmergencyStopAccepted, 400: ErrorBody },
        },
      },
      async (req, reply) =>
        reply.status(202).send(await commands.fleetEmergencyStop(req.body.reason, requester(req))),
    );

    app.post(
      '/robots/:robot_id/resume',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['commands'],
          summary: 'Resume a robot after an emergency stop',
          description:
            'Releases the stop (the robot’s own status counts again) and sends `resume`. Audited as robot.resume.',
          params: RobotIdParams,
          body: ResumeRequest,
          response: { 202: EmergencyStopAccepted, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (req, reply) =>
        reply.status(202).send(await commands.resume(req.params.robot_id, req.body.reason, requester(req))),
    );

    app.post(
      '/fleet/resume',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['commands'],
          summary: 'Resume every emergency-stopped robot',
          description:
            'Every robot held or reporting `emergency_stopped` gets `resume` (one row each, under `stop_id`), ' +
            'and the broadcasts go out. Audited as fleet.resume.',
          body: ResumeRequest,
          response: { 202: EmergencyStopAccepted, 400: ErrorBody },
        },
      },
      async (req, reply) =>
        reply.status(202).send(await commands.fleetResume(req.body.reason, requester(req))),
    );

    app.get(
      '/emergency-stops/:stop_id',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['commands'],
          summary: 'An emergency stop (or resume): which robots acknowledged it',
          params: StopIdParams,
          response: { 200: EmergencyStopView, 404: ErrorBody },
        },
      },
      async (req) => commands.getStop(req.params.stop_id),
    );
  };
}
