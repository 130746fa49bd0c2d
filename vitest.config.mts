import { defineConfig } from 'vitest/config';

// `npm test`. The fault-injection suite (test/faults, minutes of killing processes) runs separately in
// `npm run test:faults` with vitest.faults.config.mts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', '**/node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 3,
    reporters: ['default'],
  },
});
