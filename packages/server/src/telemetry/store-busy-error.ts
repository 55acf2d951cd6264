/**
 * A read refused because the store's readers are all busy and enough reads already wait for them:
 * readers get a "try again" rather than an ever longer wait (the HTTP layer answers 503 with
 * Retry-After). Writes are never refused this way.
 */
export class StoreBusyError extends Error {
  constructor(
    readonly waiting: number,
    readonly retryAfterS = 1,
  ) {
    super(`The telemetry store is busy with other queries (${waiting} waiting); try again shortly`);
    this.name = 'StoreBusyError';
  }
}
