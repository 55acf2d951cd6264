import { defineModule } from '../core/module';
import { usersRoutes } from './users.routes';
import { UsersService } from './users.service';

declare module '../core/module' {
  interface Services {
    /** User management (admin): create, edit, disable, reset passwords, delete. */
    users: UsersService;
  }
}

export const usersModule = defineModule({
  name: 'users',
  create(ctx) {
    const audit = ctx.get('audit');
    const users = new UsersService({
      db: ctx.get('db'),
      audit,
      // Looked up at each change: the auth module may come later in the list than this one.
      sessions: () => ctx.find('authSessions'),
      logger: ctx.logger,
    });
    return { provides: { users }, routes: usersRoutes(users, audit) };
  },
});
