import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
// The browser session cookie (set by the auth routes): the only credential a browser sends by itself.
import { SESSION_COOKIE } from '../auth/session-cookie';
import { ApiError } from '../errors';

/**
 * What a browser needs from a server on the open web: security headers on every answer and CORS closed
 * unless CORS_ORIGINS opens it (`webSecurity`, registered before every other plugin, so the headers are on
 * refusals — 401, 404, 413, 503 — too), and a CSRF check for requests authenticated by the session cookie
 * (`csrfGuard`).
 */

/**
 * Request bodies are JSON commands and settings of a few hundred bytes: a small limit keeps a client from
 * making the server buffer and parse megabytes. A route that takes more says so with its own `bodyLimit`.
 */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** HSTS for a year, for this host only: the server cannot speak for its sibling subdomains. */
const HSTS = 'max-age=31536000';

export interface WebSecurityOptions {
  /** Origins other than the server's own that may call the API from a browser, with credentials. */
  corsOrigins: readonly string[];
  /** Fastify's `trustProxy`: whose X-Forwarded-For/-Proto/-Host to believe. */
  trustProxy: boolean | readonly string[];
  /** Origins the web app's pages may frame (GRAFANA_URL's, for its panels); none = frames of this origin only. */
  frameOrigins?: readonly string[];
}

/** The server options that depend on where the server stands (behind a proxy) and what it takes in. */
export function httpServerOptions(web: WebSecurityOptions): {
  trustProxy: boolean | string[];
  bodyLimit: number;
} {
  const trustProxy = typeof web.trustProxy === 'object' ? [...web.trustProxy] : web.trustProxy;
  return { trustProxy, bodyLimit: DEFAULT_BODY_LIMIT };
}

/**
 * For answers written before any route or hook runs (the HTTP parser's refusals, a URL the router cannot
 * read): the headers of a JSON answer that nothing may render, frame or sniff.
 */
export const BASELINE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

/** The live-stream sources of a page (its own host, by the scheme the browser used), set per request. */
const liveSources = new WeakMap<IncomingMessage, string>();
/** Each web-app page's style nonce (see `styleNonce`), per response. */
const styleNonces = new WeakMap<ServerResponse, string>();

/**
 * The nonce a web-app page's own `<style>` elements carry: the dialog and menu primitives lock page
 * scrolling with a style element they add at run time, which `style-src 'self'` alone would refuse. A fresh
 * one per page load (set for every GET outside the API), named in the policy and handed to the page.
 */
export function styleNonce(res: ServerResponse): string | undefined {
  return styleNonces.get(res);
}

/** A Host header fit to go into a header value (anything else is left out of the policy, not echoed). */
const SAFE_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The policy of the web app served from this origin (React + Tailwind + uPlot): its own scripts and style
 * sheets only (Tailwind is a built file; uPlot and React set styles through the CSSOM, which style-src does
 * not govern), images also from data: and blob: URLs (charts exported, camera snapshots), fetches and the
 * live stream to this host. Nothing may frame it, post forms elsewhere, or load plugins.
 */
const APP_DIRECTIVES = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': [
    "'self'",
    (_req: IncomingMessage, res: ServerResponse) => {
      const nonce = styleNonces.get(res);
      return nonce ? `'nonce-${nonce}'` : '';
    },
  ],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'", (req: IncomingMessage) => liveSources.get(req) ?? ''],
  'worker-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'self'"],
};

/**
 * Swagger UI at /docs: its scripts are files (no inline script), but it applies inline styles and draws its
 * icons as data: SVGs. The rest is the app's policy. Nothing user-supplied is rendered there.
 */
const DOCS_DIRECTIVES = {
  ...APP_DIRECTIVES,
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
};

/**
 * The app's policy with the origins its pages may frame: `frame-src` is only written when there are some
 * (Grafana's panels), so without GRAFANA_URL frames fall under `default-src 'self'` as before.
 */
function appDirectives(frameOrigins: readonly string[] = []) {
  return frameOrigins.length > 0
    ? { ...APP_DIRECTIVES, 'frame-src': ["'self'", ...frameOrigins] }
    : APP_DIRECTIVES;
}

const helmetOptions = (frameOrigins?: readonly string[]): FastifyHelmetOptions => ({
  contentSecurityPolicy: { useDefaults: false, directives: appDirectives(frameOrigins) },
  // `same-origin`, not `no-referrer`: under no-referrer browsers send `Origin: null` with the app's own
  // POSTs, and the CSRF check reads that header. Other hosts (robot cameras) get no referrer either way.
  referrerPolicy: { policy: 'same-origin' },
  xFrameOptions: { action: 'deny' },
  // Set below, and only when the request came over HTTPS: on plain HTTP it is meaningless, and a browser
  // that saw it on localhost would refuse plain HTTP from every port of that host for a year.
  strictTransportSecurity: false,
});

/** Methods that change something: they carry the CSRF check. */
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What the CSRF check reads of a request. */
export interface CsrfRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** As Fastify sees them (X-Forwarded-Proto/-Host under TRUST_PROXY). */
  protocol: string;
  host: string;
}

/**
 * Cross-site request forgery, for browsers' session cookie (SameSite=Strict already keeps it off requests
 * from other sites; this also covers other origins of the same site, e.g. another subdomain, and browsers
 * that ignore SameSite). A request that changes something (or opens the live stream), carries the session
 * cookie and no Authorization header must show it comes from the web app:
 * - an `Origin` of this server or a CORS_ORIGINS entry (browsers send it on every such request: it is the
 *   strongest evidence there is, so a foreign or `null` one is refused whatever else the request carries);
 * - lacking an Origin, a `Referer` of one of those origins;
 * - lacking both (a script using the cookie, a privacy tool that strips them), an `X-Requested-With` header
 *   (any value): a page on another origin cannot add it without a CORS preflight, which only CORS_ORIGINS
 *   pass.
 * Requests with an Authorization header (bearer tokens, API keys) are not checked: no browser adds one by
 * itself. Returns why the request is refused, or undefined.
 */
export function csrfRefusal(req: CsrfRequest, allowedOrigins: ReadonlySet<string>): string | undefined {
  const websocket = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  if (!MUTATING.has(req.method) && !websocket) return undefined;
  if (req.headers.authorization !== undefined) return undefined;
  if (!hasCookie(req.headers.cookie, SESSION_COOKIE)) return undefined;
  const own = originOf(`${req.protocol}://${req.host}`);
  const trusted = (origin: string | undefined) =>
    origin !== undefined && (origin === own || allowedOrigins.has(origin));
  const seen = `this server answers as ${own ?? 'an unknown origin'} (behind a reverse proxy, set TRUST_PROXY)`;
  const origin = header(req.headers.origin);
  if (origin !== undefined) {
    if (trusted(originOf(origin))) return undefined;
    return `Refused: the request carries the session cookie but comes from ${origin}, which is neither this server nor in CORS_ORIGINS; ${seen}`;
  }
  const referer = header(req.headers.referer);
  if (referer !== undefined) {
    if (trusted(originOf(referer))) return undefined;
    return `Refused: the request carries the session cookie but its Referer is not a page of this server nor of a CORS_ORIGINS entry; ${seen}`;
  }
  if (header(req.headers['x-requested-with']) !== undefined) return undefined;
  return 'Refused: a request that changes something with the session cookie must come from the web app: send an X-Requested-With header (any value), or use Authorization: Bearer';
}

export const webSecurity = fp<WebSecurityOptions>(
  async (app: FastifyInstance, opts) => {
    const allowedOrigins = new Set(opts.corsOrigins);

    // Swagger UI's routes get its own policy (the routes are added after this hook, by @fastify/swagger-ui).
    app.addHook('onRoute', (route: RouteOptions) => {
      if (route.url === '/docs' || route.url.startsWith('/docs/')) {
        route.config = {
          ...route.config,
          helmet: { contentSecurityPolicy: { useDefaults: false, directives: DOCS_DIRECTIVES } },
        } as RouteOptions['config'];
      }
    });
    // Before helmet's hook: its connect-src reads what this puts down.
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (SAFE_HOST.test(req.host)) {
        liveSources.set(req.raw, `${req.protocol === 'https' ? 'wss' : 'ws'}://${req.host}`);
      }
      if (req.method === 'GET' && !req.url.startsWith('/api/')) {
        styleNonces.set(reply.raw, randomBytes(16).toString('base64'));
      }
    });
    await app.register(helmet, helmetOptions(opts.frameOrigins));
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (req.protocol === 'https') reply.header('strict-transport-security', HSTS);
    });

    // Closed by default: no Access-Control-Allow-Origin for anyone, preflights get 405 like any OPTIONS.
    if (allowedOrigins.size > 0) {
      await app.register(cors, {
        // Other origins get no CORS headers at all (and their preflight the 405 of a closed server).
        origin: (origin, cb) => cb(null, origin !== undefined && allowedOrigins.has(origin)),
        credentials: true,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        exposedHeaders: ['retry-after', 'allow'],
        maxAge: 600,
      });
    }
  },
  { name: 'web-security' },
);

/**
 * The CSRF check (`csrfRefusal`) as a hook. Registered after @fastify/websocket, whose own hook must have run
 * for a refused upgrade's socket to be closed, and before the auth guard: a forged request is refused as
 * such, whether or not its cookie is valid.
 */
export const csrfGuard = fp<Pick<WebSecurityOptions, 'corsOrigins'>>(
  async (app: FastifyInstance, opts) => {
    const allowedOrigins = new Set(opts.corsOrigins);
    app.addHook('onRequest', async (req: FastifyRequest) => {
      const refusal = csrfRefusal(req, allowedOrigins);
      if (refusal) throw new ApiError(403, 'csrf_failed', refusal);
    });
  },
  { name: 'csrf-guard' },
);

/** Adds the baseline headers to an answer Fastify makes before any hook ran (frameworkErrors). */
export function withBaselineHeaders<E, Req extends FastifyRequest, Rep extends FastifyReply>(
  handler: (err: E, req: Req, reply: Rep) => unknown,
) {
  return (err: E, req: Req, reply: Rep) => {
    reply.headers(BASELINE_HEADERS);
    return handler(err, req, reply);
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.origin === 'null' ? undefined : parsed.origin;
  } catch {
    return undefined;
  }
}

function hasCookie(cookieHeader: string | string[] | undefined, name: string): boolean {
  const value = header(cookieHeader);
  if (!value) return false;
  return value.split(';').some((pair) => pair.trim().split('=', 1)[0] === name);
}

/** The CSRF rule as the OpenAPI description states it. */
export const CSRF_DOC =
  'A browser signed in through the session cookie (httpOnly, SameSite=Strict) must also prove that a request ' +
  'which changes something (POST, PUT, PATCH, DELETE; and the live-stream upgrade) comes from the web app: an ' +
  '`Origin` of this server or of a `CORS_ORIGINS` entry (or, without Origin, such a `Referer`), or, with neither ' +
  'header, `X-Requested-With` (any value). A foreign Origin is refused whatever else is sent: 403 `csrf_failed`. ' +
  'Requests with an `Authorization` header (bearer token, API key) are not checked.';
