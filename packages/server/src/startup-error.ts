/**
 * A start-up failure the server understands (a port in use, an unusable DATA_DIR, a database it cannot
 * reach or open, a bad setting): its message names the cause and says what to do, so `npm start` reports it
 * as one line, without a stack trace. Anything else that stops a start is a bug and keeps its stack.
 */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartupError';
  }
}
