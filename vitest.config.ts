import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Suites against real PostgreSQL/Mosquitto/InfluxDB run with `npm run test:services`.
    exclude: ['**/node_modules/**', '**/*.services.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers (PGlite, DuckDB, Aedes); two cores do not run many at once.
    maxWorkers: 2,
  },
});
