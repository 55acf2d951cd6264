import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/**
 * `npm test`: three projects in one run.
 * - server: unit and integration tests of the server, agent and contracts (real embedded engines).
 * - web: the web app's components and live data source in jsdom, against fakes.
 * - e2e: Debian's Chromium driven by playwright-core against the real server with simulated robots
 *   (e2e/global-setup.ts builds the app and checks for the browser first).
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers (PGlite, DuckDB, Aedes); two cores do not run many at once.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'server',
          sequence: { groupOrder: 0 },
          // pdftotext for the report PDF tests (installed from Debian's packages when missing).
          globalSetup: ['packages/server/test/global-setup.ts'],
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          // Suites against real PostgreSQL/Mosquitto/InfluxDB run with `npm run test:services`.
          exclude: ['**/node_modules/**', '**/*.services.test.ts', 'packages/web/**'],
        },
      },
      {
        extends: true,
        plugins: [react()],
        test: {
          name: 'web',
          sequence: { groupOrder: 0 },
          include: ['packages/web/src/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
          setupFiles: ['packages/web/src/test/setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 60_000,
          // After the other projects, one file at a time: each file runs a server, simulated robots and
          // Chromium, and on two cores they starve each other (and the integration tests) when run together.
          sequence: { groupOrder: 1 },
          maxWorkers: 1,
        },
      },
    ],
  },
});
