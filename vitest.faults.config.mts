import { defineConfig } from 'vitest/config';

// `npm run test:faults`: tests that kill and restart Temporal, PostgreSQL, API and worker processes for
// minutes. One file at a time, so that one test's outage never lands in another's.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 900_000,
    hookTimeout: 180_000,
    teardownTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
