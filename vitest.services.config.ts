import { defineConfig } from 'vitest/config';

/** Contract suites against real services; `.ci/run` installs and starts them. */
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.services.test.ts', 'packages/*/test/**/*.services.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
