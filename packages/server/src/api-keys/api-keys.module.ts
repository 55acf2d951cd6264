import { defineModule } from '../core/module';
import { ApiKeysRepository } from './api-keys.repository';
import { apiKeysRoutes } from './api-keys.routes';
import { ApiKeysService } from './api-keys.service';

declare module '../core/module' {
  interface Services {
    /** API keys for automation: create, list, revoke, and the `tpk_…` bearer check. */
    apiKeys: ApiKeysService;
  }
}

export const apiKeysModule = defineModule({
  name: 'api-keys',
  create(ctx) {
    const db = ctx.get('db');
    const auth = ctx.get('auth');
    const keys = new ApiKeysService({
      db,
      repo: new ApiKeysRepository(db),
      audit: ctx.get('audit'),
      logger: ctx.logger,
      secret: ctx.get('jwtSecret'),
    });
    return {
      provides: { apiKeys: keys },
      routes: async (app) => {
        // `tpk_…` bearer tokens are sessions of their key, on REST and the live stream alike.
        app.sessions.addTokenVerifier(keys.authenticate);
        app.sessions.addCheck(keys.check);
        keys.onRevoked(() => app.sessions.recheckAll());
        // A creator disabled, deleted or given a new role: their keys are read afresh, sockets rechecked.
        auth.onSessionsEnded(({ userId }) => {
          if (!userId) return;
          keys.forgetCreator(userId);
          app.sessions.recheckAll();
        });
        await app.register(apiKeysRoutes, { keys });
      },
      start: () => keys.start(),
      stop: () => keys.stop(),
    };
  },
});
