import type { ErrorCode } from '@tonypi/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import type { Logger } from '../logger';

/** An error a route means to return: status, code from the shared enum, a sentence for people. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const robotNotFound = (robot_id: string) =>
  new ApiError(404, 'robot_not_found', `No robot with id ${robot_id}`);

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'bad_request',
  429: 'rate_limited',
  503: 'service_unavailable',
};

export function errorHandler(logger: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) {
      return reply
        .status(err.statusCode)
        .send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const fields = err.validation.map((v) => ({
        field: [err.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'invalid',
      }));
      return reply.status(400).send({
        error: {
          code: 'validation_error',
          message: `Invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
          details: { fields },
        },
      });
    }
    if (isResponseSerializationError(err)) {
      logger.error({ err, url: req.url }, 'response does not match its schema');
      return reply.status(500).send({ error: { code: 'internal_error', message: 'Internal server error' } });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ err, url: req.url, method: req.method }, 'request failed');
      return reply
        .status(status)
        .send({ error: { code: 'internal_error', message: 'Internal server error' } });
    }
    const code = STATUS_CODES[status] ?? 'bad_request';
    return reply.status(status).send({ error: { code, message: err.message } });
  };
}
