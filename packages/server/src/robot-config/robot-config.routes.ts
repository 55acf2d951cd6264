import {
  ErrorBody,
  PutRobotConfigRequest,
  RobotConfigHistory,
  RobotConfigVersion,
  RobotIdParams,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import { validationError } from '../errors';
import type { RobotConfigService } from './robot-config.service';

/** `If-Match: "3"` (also W/"3" or 3): the version a change is based on; undefined when absent. */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!m) {
    throw validationError([
      { field: 'headers.if-match', message: 'must be a version as ETag returned it, e.g. "3"' },
    ]);
  }
  return Number(m[1]);
}

const etag = (version: number) => `"${version}"`;

export function robotConfigRoutes(configs: RobotConfigService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/robots/:robot_id/config',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['robots'],
          summary: "A robot's current configuration and its version (ETag)",
          description:
            'Version 0 with an empty config: none set yet. What the robot gets on `tonypi/{id}/config`.',
          params: RobotIdParams,
          response: { 200: RobotConfigVersion, 404: ErrorBody },
        },
      },
      async (req, reply) => {
        const current = await configs.current(req.params.robot_id);
        reply.header('etag', etag(current.version));
        return current;
      },
    );

    app.get(
      '/robots/:robot_id/config/history',
      {
        config: { permission: 'robots:read' },
        schema: {
          tags: ['robots'],
          summary: "A robot's configuration versions, newest first (at most 100): who changed what, when",
          params: RobotIdParams,
          response: { 200: RobotConfigHistory, 404: ErrorBody },
        },
      },
      async (req) => ({ items: await configs.history(req.params.robot_id) }),
    );

    app.put(
      '/robots/:robot_id/config',
      {
        config: { permission: 'robots:control' },
        schema: {
          tags: ['robots'],
          summary: "Sets a robot's configuration: a new version, sent to the robot retained (QoS 1)",
          description:
            'The whole configuration (what is left out is the robot’s default). Unknown keys and values out of ' +
            'range are refused (400, each field named). Name the version the change is based on — `version` ' +
            'in the body or `If-Match: "N"` — to be refused (409, `details.current_version`) when someone ' +
            'changed it since; without either, the change applies on top of whatever is current. Audited as ' +
            '`robot.config.update`.',
          params: RobotIdParams,
          headers: z.object({ 'if-match': z.string().max(40).optional() }),
          body: PutRobotConfigRequest,
          response: {
            200: RobotConfigVersion,
            400: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
            503: ErrorBody.describe(
              'Saved, but the broker could not take it: the robot gets it at the next start',
            ),
          },
        },
      },
      async (req, reply) => {
        const fromHeader = ifMatchVersion(req.headers['if-match']);
        const fromBody = req.body.version;
        if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
          throw validationError([
            { field: 'body.version', message: `differs from If-Match (${fromHeader})` },
          ]);
        }
        const saved = await configs.put(
          req.params.robot_id,
          { config: req.body.config, expectedVersion: fromBody ?? fromHeader },
          requestAuditor(req),
        );
        reply.header('etag', etag(saved.version));
        return saved;
      },
    );
  };
}
