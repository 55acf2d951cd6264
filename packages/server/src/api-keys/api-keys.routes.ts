import { ApiKeyCreated, ApiKeyCreateRequest, ApiKeyIdParams, ApiKeyList, ErrorBody } from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requestAuditor } from '../audit/audit-trail';
import type { ApiKeysService } from './api-keys.service';

export const apiKeysRoutes: FastifyPluginAsyncZod<{ keys: ApiKeysService }> = async (app, { keys }) => {
  app.post(
    '/api-keys',
    {
      config: { permission: 'api_keys:manage' },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key',
        description:
          'For automation: send it as `Authorization: Bearer tpk_…` on any route its role allows, and on the ' +
          'live stream. The key is in this answer only: it is stored as a keyed hash and never shown again. ' +
          "Its role may be no higher than yours (else 403 forbidden); it acts with at most its creator's " +
          'current role and stops working when its creator is disabled or deleted. Optional expiry: ' +
          '`expires_at` (ISO-8601, in the future) or `expires_in_days` (1-3650), not both.',
        body: ApiKeyCreateRequest,
        response: { 201: ApiKeyCreated, 400: ErrorBody, 403: ErrorBody },
      },
    },
    async (req, reply) => reply.status(201).send(await keys.create(req.user, req.body, requestAuditor(req))),
  );

  app.get(
    '/api-keys',
    {
      config: { permission: 'api_keys:manage' },
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys',
        description:
          'Every key, newest first, revoked ones included (with revoked_at); never the key or its hash. ' +
          'last_used_at is written at most once a minute.',
        response: { 200: ApiKeyList, 403: ErrorBody },
      },
    },
    async () => ({ items: await keys.list() }),
  );

  app.delete(
    '/api-keys/:id',
    {
      config: { permission: 'api_keys:manage' },
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key',
        description:
          'The key is refused from now on (401), and live-stream sockets it opened are closed (4401). Revoking ' +
          'a revoked key again changes nothing (204). Unknown id: 404 api_key_not_found.',
        params: ApiKeyIdParams,
        response: { 204: z.null(), 404: ErrorBody },
      },
    },
    async (req, reply) => {
      await keys.revoke(req.params.id, req.user, requestAuditor(req));
      return reply.status(204).send(null);
    },
  );
};
