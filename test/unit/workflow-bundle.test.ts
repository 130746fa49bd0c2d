// The workflow bundle holds no zod (issue 18): the sandbox evaluates a workflow's modules anew for every
// execution, and the domain's zod schemas, imported with a constant, cost each run ~11 ms of worker CPU.
// Workflows import the zod-free modules (src/domain/defaults.ts, usage.ts, approval-decision.ts, skill-tool.ts).
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../../src/temporal/connection';

describe('workflow bundle', () => {
  it('includes no zod module', async () => {
    const { code } = await workflowBundle();
    const modules = new Set([...code.matchAll(/"(\.\/(?:src|workflows|node_modules)\/[^"]+\.(?:ts|js|mjs|cjs))"/g)].map((m) => m[1]!));
    expect([...modules].filter((m) => m.startsWith('./workflows/'))).toContain('./workflows/run.ts');
    expect([...modules].filter((m) => m.includes('node_modules/zod/'))).toEqual([]);
  }, 120_000);
});
