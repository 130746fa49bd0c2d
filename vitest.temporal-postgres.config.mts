import { defineConfig } from 'vitest/config';

// The acceptance subset of the run engine and governance tests against a production-style Temporal
// server on PostgreSQL (test/support/temporal-postgres.ts) instead of the dev server. Tests that read
// the dev server's SQLite file (encryption, canary sweep) are not in it.
process.env.AP_TEST_TEMPORAL = 'postgres';

export default defineConfig({
  test: {
    include: [
      'test/integration/temporal-backend.test.ts',
      'test/integration/runs.test.ts',
      'test/integration/approvals.test.ts',
      'test/integration/cancel.test.ts',
      'test/integration/sessions.test.ts',
      'test/integration/idempotency.test.ts',
      'test/integration/actions.test.ts',
      'test/integration/sse.test.ts',
      'test/integration/durability.test.ts',
      // Its restart test brings a dev server of its own (it kills and restarts it); the others use
      // the PostgreSQL-backed server.
      'test/integration/webhooks.test.ts',
    ],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
