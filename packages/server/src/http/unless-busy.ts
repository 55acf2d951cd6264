import type { FastifyReply } from 'fastify';
import { StoreBusyError } from '../telemetry/store-busy-error';
import { ApiError } from './api-error';

/** A read the store refused for being too busy becomes 503 with Retry-After: the reader tries later. */
export async function unlessBusy<T>(reply: FastifyReply, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof StoreBusyError)) throw err;
    reply.header('retry-after', String(err.retryAfterS));
    throw new ApiError(503, 'service_unavailable', err.message);
  }
}
