import { simulatedScanCodes } from '@tonypi/agent';
import { defineModule } from '../core/module';
import { ItemsRepository } from './items.repository';
import { itemsRoutes } from './items.routes';
import { ItemsService } from './items.service';
import { ScanAnswerer } from './scan-answerer';

declare module '../core/module' {
  interface Services {
    /** The item catalogue scans are looked up in (issue #7 §4). */
    items: ItemsService;
  }
}

/**
 * The item catalogue: CRUD, CSV import and export, and the answer to every robot's scan on its items topic.
 * After `broker` (it publishes to robots) and `jobs` (whose recorder records the scans it resolves).
 */
export const itemsModule = defineModule({
  name: 'items',
  create(ctx) {
    const { config } = ctx;
    const db = ctx.get('db');
    const repo = new ItemsRepository(db);
    const items = new ItemsService(db, repo, ctx.get('audit'));
    const answerer = new ScanAnswerer((code) => repo.findByCode(code), ctx.get('bus'), ctx.logger);
    ctx.get('jobRecorder').setScanResolver(answerer);
    // Only the embedded, simulated installation of `npm start` gets a demo catalogue: never one with a
    // production database (DATABASE_URL) or without simulated robots.
    const seedDemo = config.simulator.robots > 0 && config.databaseUrl === undefined;
    return {
      provides: { items },
      routes: itemsRoutes(items),
      start: async () => {
        if (!seedDemo) return;
        const n = await items.seedDemo(simulatedScanCodes());
        if (n > 0) ctx.logger.info({ items: n }, 'items: demo catalogue of the simulated fleet added');
      },
      status: {
        metrics: [
          {
            name: 'tonypi_scans_answered_total',
            help: "Scans answered on the robots' items topics, by whether the catalogue knew the code",
            type: 'counter',
            labelNames: ['found'],
            read: () => [
              { labels: { found: 'true' }, value: answerer.counters.found },
              { labels: { found: 'false' }, value: answerer.counters.answered - answerer.counters.found },
            ],
          },
        ],
      },
    };
  },
});
