import type { FastifyReply } from 'fastify';
import { ApiError } from '../errors';
import { StoreBusyError } from '../telemetry/store-busy-error';
import { TelemetryStoreUnavailableError } from '../telemetry/telemetry-store';

/** Seconds a reader is asked to wait while the store is down (it reopens itself with a backoff). */
export const STORE_DOWN_RETRY_AFTER_S = 5;

/**
 * A read the store refused becomes 503 with Retry-After, and the reader tries later: the store is too busy
 * (StoreBusyError), or it cannot work now and is recovering by itself (TelemetryStoreUnavailableError, e.g.
 * a full disk) — not a 500 with an error line per request.
 */
export async function unlessBusy<T>(reply: FastifyReply, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof StoreBusyError) {
      reply.header('retry-after', String(err.retryAfterS));
      throw new ApiError(503, 'service_unavailable', err.message);
    }
    if (err instanceof TelemetryStoreUnavailableError) {
      reply.header('retry-after', String(STORE_DOWN_RETRY_AFTER_S));
      throw new ApiError(
        503,
        'service_unavailable',
        'The telemetry store is unavailable and recovering (see /api/v1/health); try again shortly',
      );
    }
    throw err;
  }
}
