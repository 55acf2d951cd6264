import { STATUS_CODES as HTTP_STATUS_TEXT, maxHeaderSize } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiErrorBody, ErrorCode } from '@tonypi/contracts';
import type { FastifyError, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { ApiError } from '../errors';
import type { Logger } from '../logger';
import { BASELINE_HEADERS } from './web-security';

/** The code of an error that carries only an HTTP status (Fastify's own, a plugin's). */
const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  426: 'bad_request',
  429: 'rate_limited',
  431: 'headers_too_large',
  503: 'service_unavailable',
};

/** Sentences for Fastify's own errors that say what to do rather than what went wrong inside. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Send the body as application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body is too large',
  FST_ERR_BAD_URL: 'The URL is not valid (bad percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment of the URL is too long',
};

const envelope = (code: ErrorCode, message: string, details?: unknown): ApiErrorBody => ({
  error: details === undefined ? { code, message } : { code, message, details },
});

/** A request that failed with a server error, as the error handler reports it beside its log line. */
export type ServerErrorListener = (e: {
  method: string;
  url: string;
  status: number;
  message: string;
}) => void;

export function errorHandler(logger: Logger, onServerError?: ServerErrorListener) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    // The envelope is sent as it is: a route's response schema for this status (health declares
    // 503 as a health report) must not turn a refusal into a serialisation failure.
    reply.serializer(JSON.stringify).type('application/json; charset=utf-8');
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
      onServerError?.({
        method: req.method,
        url: req.url,
        status: 500,
        message: 'response does not match its schema',
      });
      return reply.status(500).send({ error: { code: 'internal_error', message: 'Internal server error' } });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ err, url: req.url, method: req.method }, 'request failed');
      onServerError?.({ method: req.method, url: req.url, status, message: err.message });
      return reply
        .status(status)
        .send({ error: { code: 'internal_error', message: 'Internal server error' } });
    }
    const code = STATUS_CODES[status] ?? 'bad_request';
    return reply.status(status).send(envelope(code, FASTIFY_MESSAGES[err.code] ?? err.message));
  };
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refuses before Fastify sees them
 * (headers or URL over the header limit: 431; a request that is not HTTP: 400; too slow: 408).
 * Written to the socket by hand, as Node does, in the API's envelope.
 */
export function clientErrorHandler(logger: Logger) {
  return (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or already closed connection has nobody to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let message = 'The request is not valid HTTP';
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      message = `The request line and headers are too large (at most ${Math.round(maxHeaderSize / 1024)} KiB together): shorten the URL or headers`;
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      message = 'The request took too long to arrive';
    }
    logger.debug({ code: err.code, status }, 'client error');
    if (socket.writable) {
      const body = JSON.stringify(envelope(STATUS_CODES[status] ?? 'bad_request', message));
      socket.write(
        `HTTP/1.1 ${status} ${HTTP_STATUS_TEXT[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          Object.entries(BASELINE_HEADERS)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join('') +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

/**
 * Answers requests no route takes: 405 method_not_allowed with an `Allow` header when the path
 * exists for other methods, else 404 not_found. Feed it every route (an `onRoute` hook).
 */
export class UnmatchedRoutes {
  private readonly routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  private readonly byUrl = new Map<string, Set<string>>();

  readonly onRoute = (route: RouteOptions): void => {
    // CORS's catch-all OPTIONS route answers only preflights of CORS_ORIGINS; to everything else it is not there.
    if (route.url === '*') return;
    let methods = this.byUrl.get(route.url);
    if (!methods) {
      methods = new Set();
      this.byUrl.set(route.url, methods);
      this.routes.push({ pattern: patternOf(route.url), methods });
    }
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) methods.add(m);
  };

  readonly handler = (req: FastifyRequest, reply: FastifyReply) => {
    const pathname = req.url.split('?')[0] ?? '/';
    const allowed = new Set<string>();
    for (const r of this.routes) if (r.pattern.test(pathname)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ');
      return reply
        .status(405)
        .header('allow', allow)
        .send(envelope('method_not_allowed', `${req.method} is not allowed on ${pathname}; use ${allow}`));
    }
    return reply.status(404).send(envelope('not_found', `No route ${req.method} ${pathname}`));
  };
}

/** `/robots/:robot_id/telemetry` → a RegExp for concrete paths (a trailing slash is ignored, as the router does). */
function patternOf(url: string): RegExp {
  const body = url
    .replace(/\/+$/, '')
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${body}/?$`);
}
