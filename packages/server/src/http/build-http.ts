import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { PROTOCOL_VERSION } from '@tonypi/contracts';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import {
  type FastifyPluginAsyncZod,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { authPlugin } from '../auth/auth';
import { ApiError } from '../errors';
import type { Logger } from '../logger';
import { clientErrorHandler, errorHandler, type ServerErrorListener, UnmatchedRoutes } from './api-error';
import { type IngestPressure, PRESSURE_RETRY_AFTER_S } from './ingest-pressure';
import { documentPermission } from './route-permissions';
import {
  CSRF_DOC,
  csrfGuard,
  httpServerOptions,
  type WebSecurityOptions,
  webSecurity,
  withBaselineHeaders,
} from './web-security';

export interface HttpDeps {
  logger: Logger;
  version: string;
  jwtSecret: string;
  sessionTtlS: number;
  /** Heavy reads back off while the ingest is under pressure (routes with `shedUnderPressure`). */
  pressure?: IngestPressure;
  /** The domain modules' routes, registered under /api/v1 in module order. */
  moduleRoutes?: readonly FastifyPluginAsyncZod[];
  /** The domain modules' routes outside /api/v1 (e.g. /metrics). */
  rootRoutes?: readonly FastifyPluginAsyncZod[];
  /** CORS origins and the proxies to trust. */
  web: WebSecurityOptions;
  /** Told of every request that fails with a server error (the server's log records it). */
  onServerError?: ServerErrorListener;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs `drain` at shutdown before the server's WebSockets are closed (their owners' last words). */
    beforeSocketsClose(drain: () => Promise<void>): void;
  }
}

/** Plugins in layers: external (docs, websocket, rate limit) → app (auth, errors) → routes. */
export async function buildHttp(deps: HttpDeps) {
  const onError = errorHandler(deps.logger, deps.onServerError);
  const app = Fastify({
    loggerInstance: deps.logger,
    // Every answer, including those Fastify and Node give before a route runs, is in the error envelope.
    clientErrorHandler: clientErrorHandler(deps.logger),
    frameworkErrors: withBaselineHeaders(onError),
    return503OnClosing: false,
    // One line per request drowns the ingest's own logs; requests that fail are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ...httpServerOptions(deps.web),
    requestTimeout: 30_000,
    // Browsers' repeated query parameters (?field=a&field=b) become arrays.
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(onError);
  // Every body the API takes is JSON: a text/plain one is refused as 415, not read as a string.
  app.removeContentTypeParser('text/plain');
  const unmatched = new UnmatchedRoutes();
  app.addHook('onRoute', unmatched.onRoute);
  app.addHook('onRoute', documentPermission);
  app.setNotFoundHandler(unmatched.handler);
  // Instead of Fastify's own 503 body while closing (return503OnClosing), the envelope.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing)
      throw new ApiError(503, 'service_unavailable', 'The server is shutting down: try again shortly');
  });

  // Before swagger-ui (its routes get the docs' CSP) and the auth guard (CORS's OPTIONS route has no permission).
  await app.register(webSecurity, deps.web);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'TonyPi Fleet Monitor API',
        version: deps.version,
        description:
          `REST API of the TonyPi Fleet Monitor (robot protocol ${PROTOCOL_VERSION}). Sign in with ` +
          '`POST /api/v1/auth/login`, then send `Authorization: Bearer <token>` (browsers: the `tonypi_session` cookie it ' +
          'sets), or an API key as `Authorization: Bearer tpk_…`. Each operation names its permission. ' +
          'Live updates: WebSocket `/api/v1/stream` — authenticate (Authorization header on the upgrade, or a first ' +
          'message `{"type":"auth","token":"…"}`), then `{"type":"subscribe","robots":["*"],"channels":["telemetry","status"]}`; ' +
          `see docs/protocol.md for the event types. ${CSRF_DOC}`,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // At shutdown, the owners of open sockets say goodbye first (a terminal's last frame and its session record),
  // then every WebSocket is closed, as the plugin's own preClose would.
  const socketDrains: Array<() => Promise<void>> = [];
  app.decorate('beforeSocketsClose', (drain: () => Promise<void>) => {
    socketDrains.push(drain);
  });
  await app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    preClose: async function (this: FastifyInstance) {
      await Promise.allSettled(socketDrains.map((drain) => drain()));
      for (const client of this.websocketServer.clients) client.close();
      await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
    },
  });
  // After websocket (a refused upgrade's socket is then closed), before auth (a forgery is refused as one).
  await app.register(csrfGuard, deps.web);
  await app.register(authPlugin, { secret: deps.jwtSecret, sessionTtlS: deps.sessionTtlS });

  const pressure = deps.pressure;
  if (pressure) {
    // Readers wait, telemetry does not: a heavy read is refused while the ingest is under pressure.
    app.addHook('onRequest', async (req, reply) => {
      if (!req.routeOptions.config?.shedUnderPressure) return;
      const refuse = (message: string) => {
        pressure.counters.readers_refused++;
        return reply
          .status(503)
          .header('retry-after', String(PRESSURE_RETRY_AFTER_S))
          .send({ error: { code: 'service_unavailable', message } });
      };
      const reason = pressure.reason();
      if (reason) {
        return refuse(
          `The server is busy taking in telemetry (${reason}); try again in ${PRESSURE_RETRY_AFTER_S} s`,
        );
      }
      if (!req.routeOptions.config.paced) return;
      // One of a few slots, held until the answer has gone (or the reader has).
      const turn = pressure.turn();
      if (!turn) {
        const { waiting } = pressure.paced();
        return refuse(
          `The server is busy answering other history queries (${waiting} waiting); try again in ${PRESSURE_RETRY_AFTER_S} s`,
        );
      }
      reply.raw.once('close', turn.done);
      // A reader that left while in line is not answered (its socket is gone).
      if (!(await turn.ready)) return reply.hijack();
    });
  }

  await app.register(
    async (api) => {
      for (const routes of deps.moduleRoutes ?? []) await api.register(routes);
    },
    { prefix: '/api/v1' },
  );
  for (const routes of deps.rootRoutes ?? []) await app.register(routes);
  return app;
}

export type HttpApp = Awaited<ReturnType<typeof buildHttp>>;
