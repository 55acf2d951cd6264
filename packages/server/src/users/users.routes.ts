import {
  CreateUserRequest,
  ErrorBody,
  ResetPasswordRequest,
  UpdateUserRequest,
  UserAccount,
  UserIdParams,
  UserList,
  UserListQuery,
  UserWithTemporaryPassword,
} from '@tonypi/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditDenials } from '../audit/audit-denials';
import { type AuditTrail, requestAuditor } from '../audit/audit-trail';
import type { UsersService } from './users.service';

const refusals = { 400: ErrorBody, 403: ErrorBody };
const ENDS_SESSIONS = "The user's sessions end at once.";

export function usersRoutes(users: UsersService, audit: AuditTrail): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onError', auditDenials(audit));

    app.get(
      '/users',
      {
        config: { permission: 'users:manage' },
        schema: {
          tags: ['users'],
          summary: 'List users',
          description: 'Filter by role and active, search username or e-mail (any case); sort and page.',
          querystring: UserListQuery,
          response: { 200: UserList, ...refusals },
        },
      },
      async (req) => users.list(req.query),
    );

    app.post(
      '/users',
      {
        config: { permission: 'users:manage', auditAction: 'user.create' },
        schema: {
          tags: ['users'],
          summary: 'Create a user',
          description:
            'Without a password a temporary one is generated and returned once (temporary_password); the user ' +
            'must then set their own at first sign-in. 409 conflict names a taken username or e-mail address.',
          body: CreateUserRequest,
          response: { 201: UserWithTemporaryPassword, ...refusals, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const created = await users.create(req.body, requestAuditor(req));
        return reply.status(201).send(created);
      },
    );

    app.get(
      '/users/:id',
      {
        config: { permission: 'users:manage' },
        schema: {
          tags: ['users'],
          summary: 'One user',
          params: UserIdParams,
          response: { 200: UserAccount, ...refusals, 404: ErrorBody },
        },
      },
      async (req) => users.get(req.params.id),
    );

    app.patch(
      '/users/:id',
      {
        config: { permission: 'users:manage', auditAction: 'user.update', auditTarget: 'user' },
        schema: {
          tags: ['users'],
          summary: "Change a user's e-mail address or role, disable or enable them",
          description:
            `Disabling or changing the role ends the user's sessions at once. Nobody may disable themself, and ` +
            'the last active admin may not be disabled or demoted (409 conflict).',
          params: UserIdParams,
          body: UpdateUserRequest,
          response: { 200: UserAccount, ...refusals, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req) => users.update(req.params.id, req.body, requestAuditor(req)),
    );

    app.post(
      '/users/:id/reset-password',
      {
        config: { permission: 'users:manage', auditAction: 'user.password.reset', auditTarget: 'user' },
        schema: {
          tags: ['users'],
          summary: "Set a user's password, or have a temporary one generated",
          description:
            'With a password, that one; without, a temporary one returned once, which the user must change at ' +
            `next sign-in. ${ENDS_SESSIONS}`,
          params: UserIdParams,
          body: ResetPasswordRequest.nullish().describe(
            'Optional: without a body a temporary password is generated',
          ),
          response: { 200: UserWithTemporaryPassword, ...refusals, 404: ErrorBody },
        },
      },
      async (req) => users.resetPassword(req.params.id, req.body ?? {}, requestAuditor(req)),
    );

    app.delete(
      '/users/:id',
      {
        config: { permission: 'users:manage', auditAction: 'user.delete', auditTarget: 'user' },
        schema: {
          tags: ['users'],
          summary: 'Delete a user',
          description: `${ENDS_SESSIONS} Nobody may delete themself, nor the last active admin (409 conflict).`,
          params: UserIdParams,
          response: {
            204: z.null().describe('Deleted: no content'),
            ...refusals,
            404: ErrorBody,
            409: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        await users.delete(req.params.id, requestAuditor(req));
        return reply.status(204).send(null);
      },
    );
  };
}
