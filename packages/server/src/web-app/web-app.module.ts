import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineModule } from '../core/module';
import { uiConfigRoutes } from './ui-config.routes';
import { webAppRoutes } from './web-app.routes';

/** packages/web/dist of this checkout (the server runs from its sources). */
export const DEFAULT_WEB_APP_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * The operator's console in the browser, served at `/` on the API's port (same origin: cookie and stream), and
 * `GET /api/v1/ui-config`, the settings it draws itself with.
 */
export const webAppModule = defineModule({
  name: 'webApp',
  create(ctx) {
    const dir = ctx.config.web.appDir ?? DEFAULT_WEB_APP_DIR;
    const built = existsSync(`${dir}/index.html`);
    if (!built) ctx.logger.warn({ dir }, 'web app: not built (npm run build:web); / explains how');
    return {
      routes: async (app) => app.register(uiConfigRoutes, { config: ctx.config }),
      rootRoutes: async (app) => app.register(webAppRoutes, { dir }),
    };
  },
});
