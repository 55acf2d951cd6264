import type { ErrorCode, Permission } from '@tonypi/contracts';

/**
 * An error a route or a service means to return: status, code from the shared enum, a sentence for
 * people. It lives below the services (they throw it) and above nothing: `http/api-error.ts` turns
 * it into the envelope `{ error: { code, message, details? } }`.
 */
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

export const notFound = (code: ErrorCode, message: string) => new ApiError(404, code, message);
export const conflict = (message: string, details?: unknown) =>
  new ApiError(409, 'conflict', message, details);
export const badRequest = (message: string, details?: unknown) =>
  new ApiError(400, 'bad_request', message, details);
/** 400 validation_error for checks a schema cannot make; `fields` as the schema errors list them. */
export const validationError = (fields: Array<{ field: string; message: string }>) =>
  new ApiError(
    400,
    'validation_error',
    `Invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
    { fields },
  );
export const forbidden = (message: string, permission?: Permission) =>
  new ApiError(403, 'forbidden', message, permission ? { permission } : undefined);

export const robotNotFound = (robot_id: string) =>
  notFound('robot_not_found', `No robot with id ${robot_id}`);
export const userNotFound = (id: string) => notFound('user_not_found', `No user with id ${id}`);
