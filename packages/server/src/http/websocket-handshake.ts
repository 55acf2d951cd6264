import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';

/** RFC 6455: the key is 16 random bytes in base64. */
const WEBSOCKET_KEY_RE = /^[+/0-9A-Za-z]{22}==$/;

/**
 * A WebSocket route's `onRequest` hook: a plain GET (426) or a malformed handshake (400) is refused before the
 * upgrade, in the API's error envelope (the ws library's own refusals are text/html).
 */
export async function websocketHandshake(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!req.ws) {
    reply.header('upgrade', 'websocket');
    throw new ApiError(426, 'bad_request', 'This is a WebSocket endpoint: connect with a WebSocket client');
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    reply.header('sec-websocket-version', '13, 8');
    throw new ApiError(400, 'bad_request', 'Invalid WebSocket handshake: Sec-WebSocket-Version must be 13');
  }
  if (!WEBSOCKET_KEY_RE.test(req.headers['sec-websocket-key'] ?? '')) {
    throw new ApiError(
      400,
      'bad_request',
      'Invalid WebSocket handshake: Sec-WebSocket-Key is not 16 bytes in base64',
    );
  }
}
