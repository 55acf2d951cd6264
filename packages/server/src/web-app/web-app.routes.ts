import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { styleNonce } from '../http/web-security';

/**
 * The paths the web app's router owns (packages/web/src/app/router.tsx): each answers the app's page, so a
 * refresh or a shared link opens the same page. Anything else outside the API stays a JSON 404.
 */
export const WEB_APP_PATHS = [
  '/',
  '/sign-in',
  '/robots/:robot_id',
  '/robots/:robot_id/terminal',
  '/system',
  '/account/password',
  '/alerts',
  '/alerts/rules',
  '/alerts/channels',
  '/robots',
  '/users',
  '/api-keys',
  '/audit',
  '/logs',
  '/jobs',
  '/items',
  '/reports',
  '/reports/:report_id',
] as const;

export interface WebAppOptions {
  /** The built app: `index.html` and `assets/`. */
  dir: string;
}

/** Files under assets/ carry a content hash in their name: cached for a year, never revalidated. */
const ASSET_MAX_AGE_MS = 365 * 86_400_000;

function readIndex(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, 'index.html'), 'utf8');
  } catch {
    return undefined;
  }
}

const NOT_BUILT = (dir: string) =>
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>TonyPi Fleet Monitor</title>` +
  `<body style="font-family:sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">` +
  `<h1>The web app is not built</h1><p>The server found no <code>index.html</code> in <code>${dir.replace(/[<>&]/g, '')}</code>. ` +
  `Run <code>npm install</code> (it builds the app) or <code>npm run build:web</code>, then reload. ` +
  `The API answers at <a href="/docs">/docs</a>.</p></body></html>`;

/**
 * Serves the web app: its pages (index.html with a fresh style nonce each time, never cached, so a new
 * release is picked up at the next load) and its hashed assets (cached for good).
 */
export const webAppRoutes: FastifyPluginAsyncZod<WebAppOptions> = async (app, opts) => {
  const assets = join(opts.dir, 'assets');
  await app.register(fastifyStatic, { root: opts.dir, serve: false });
  let index = readIndex(opts.dir);
  let indexMtime = mtime(join(opts.dir, 'index.html'));

  function page(reply: FastifyReply) {
    // Read again when the file changed (a rebuild while the server runs).
    const now = mtime(join(opts.dir, 'index.html'));
    if (now !== indexMtime) {
      index = readIndex(opts.dir);
      indexMtime = now;
    }
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    if (index === undefined) return reply.status(503).send(NOT_BUILT(opts.dir));
    const nonce = styleNonce(reply.raw) ?? '';
    return reply.send(index.replace('<head>', `<head>\n    <meta name="csp-nonce" content="${nonce}" />`));
  }

  const config = { permission: 'public' as const };
  const schema = { hide: true };
  for (const path of WEB_APP_PATHS) app.get(path, { config, schema }, async (_req, reply) => page(reply));
  app.get('/assets/*', { config, schema }, async (req, reply) => {
    const file = (req.params as { '*': string })['*'];
    return reply.sendFile(file, assets, { immutable: true, maxAge: ASSET_MAX_AGE_MS });
  });
  app.get('/favicon.svg', { config, schema }, async (_req, reply) =>
    reply.sendFile('favicon.svg', opts.dir, { maxAge: 86_400_000 }),
  );
};

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
