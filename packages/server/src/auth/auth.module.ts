import { defineModule } from '../core/module';
import { authRoutes } from './auth.routes';
import { AuthService } from './auth.service';
import { SessionStore } from './session-store';

declare module '../core/module' {
  interface Services {
    /** Sign-in, sign-out, password changes and the session check of people's sessions. */
    auth: AuthService;
  }
}

/** Rows of long-expired sessions are deleted this often (and at start). */
const PRUNE_EVERY_MS = 3_600_000;

export const authModule = defineModule({
  name: 'auth',
  async create(ctx) {
    const db = ctx.get('db');
    const users = ctx.get('userRepository');
    const secret = ctx.get('jwtSecret');
    const sessionTtlS = ctx.config.auth.sessionTtlS;
    const store = new SessionStore({ db, logger: ctx.logger });
    const auth = await AuthService.create({
      db,
      users,
      store,
      audit: ctx.get('audit'),
      logger: ctx.logger,
      sessionTtlS,
    });
    let pruneTimer: NodeJS.Timeout | undefined;
    const prune = () =>
      store
        .prune()
        .then((deleted) => {
          if (deleted > 0) ctx.logger.info({ deleted }, 'auth: expired sessions deleted');
        })
        .catch((err: unknown) => ctx.logger.error({ err }, 'auth: expired sessions not deleted'));
    return {
      provides: { auth, authSessions: auth },
      routes: async (app) => {
        await app.register(authRoutes, { service: auth, users, sessionTtlS, secret });
      },
      start: async () => {
        store.start();
        await prune();
        pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
        pruneTimer.unref();
      },
      stop: async () => {
        clearInterval(pruneTimer);
        await store.stop();
      },
    };
  },
});
