// The defaults a run falls back to where its agent sets nothing (API.md 2). Here, apart from the agent's
// zod schemas, because workflows use them: the sandbox evaluates a workflow's modules anew for every
// execution, and building the schemas cost each run ~11 ms of worker CPU (issue 18;
// test/unit/workflow-bundle.test.ts keeps zod out of the bundle).
export const DEFAULT_LIMITS = { max_steps: 16, max_tool_calls: 32, timeout_seconds: 3600 } as const;
export const DEFAULT_APPROVAL = { timeout_seconds: 86_400, on_timeout: 'deny' } as const;
