// Evaluations (API.md 10): golden sets of cases with expectations, and the pure judging of a finished
// run against them, the summary metrics of an eval and the comparison of two evals.
import { z } from 'zod';
import { cursorSchema, nameSchema, regexSchema } from './common';
import { regexTest } from './regex';
import { canonicalJson } from './policy';
import { RUN_STATUSES, runInputSchema } from './run';

export const TOOL_MODES = ['dry_run', 'live'] as const;
export type ToolMode = (typeof TOOL_MODES)[number];

export const expectSchema = z.strictObject({
  /** Default `completed`: a case whose run failed does not pass by saying nothing about the status. */
  status: z.enum(RUN_STATUSES).optional(),
  output_contains: z.array(z.string().min(1).max(10_000)).max(50).optional(),
  output_matches: regexSchema.min(1).optional(),
  tool_calls: z.array(z.strictObject({ name: z.string().min(1).max(64), arguments: z.record(z.string(), z.unknown()).optional() })).max(50).optional(),
  max_tool_calls: z.number().int().min(0).max(10_000).optional(),
  max_cost_usd: z.number().min(0).max(1_000_000).optional(),
  max_latency_ms: z.number().int().min(0).max(30 * 86_400_000).optional(),
});
export type Expect = z.infer<typeof expectSchema>;

export const evalCaseSchema = z.strictObject({
  id: nameSchema,
  input: runInputSchema,
  expect: expectSchema.default({}),
});
export type EvalCase = z.infer<typeof evalCaseSchema>;

const casesSchema = z
  .array(evalCaseSchema)
  .min(1)
  .max(1000)
  .superRefine((cases, ctx) => {
    const seen = new Set<string>();
    cases.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', message: `case id ${c.id} is used twice`, path: [i, 'id'] });
      seen.add(c.id);
    });
  });

export const evalSetCreateSchema = z.strictObject({ name: nameSchema, cases: casesSchema });
/** A PATCH that changes the cases makes a new version; earlier evals keep the version they ran. */
export const evalSetUpdateSchema = z
  .strictObject({ name: nameSchema.optional(), cases: casesSchema.optional() })
  .refine((b) => b.name !== undefined || b.cases !== undefined, 'name or cases is required');
export type EvalSetCreate = z.infer<typeof evalSetCreateSchema>;
export type EvalSetUpdate = z.infer<typeof evalSetUpdateSchema>;

export const evalCreateSchema = z.strictObject({
  eval_set: z.string().min(1).max(100),
  agent: z.string().min(1).max(100),
  agent_version: z.number().int().min(1).optional(),
  eval_set_version: z.number().int().min(1).optional(),
  concurrency: z.number().int().min(1).max(32).default(4),
  tool_mode: z.enum(TOOL_MODES).default('dry_run'),
});
export type EvalCreate = z.infer<typeof evalCreateSchema>;

// ---------- judging

/** What a finished run showed, as the judge needs it. */
export interface Observed {
  status: string;
  output_text: string | null;
  /** `tool_call.requested`, in order. */
  tool_calls: { name: string; arguments: Record<string, unknown> }[];
  cost_usd: number;
  latency_ms: number | null;
}

export interface Failure {
  expectation: keyof Expect;
  message: string;
}

export interface Verdict {
  passed: boolean;
  failures: Failure[];
  /** Expected tool calls found in order, out of `expected_tool_calls`. */
  matched_tool_calls: number;
  expected_tool_calls: number;
}

/** `expected` holds within `actual`: objects by their keys (recursively), everything else equal. */
export function isSubset(expected: unknown, actual: unknown): boolean {
  if (expected && typeof expected === 'object' && !Array.isArray(expected)) {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected as Record<string, unknown>).every(([k, v]) => k in (actual as object) && isSubset(v, (actual as Record<string, unknown>)[k]));
  }
  return canonicalJson(expected) === canonicalJson(actual);
}

const clip = (s: string, n = 200): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Runs an `output_matches` pattern: RE2 (regex.ts), linear in the output, so no pattern can stall the worker. */
export type Matcher = (pattern: string, text: string) => boolean;

export function judge(expect: Expect, o: Observed, matches: Matcher = regexTest): Verdict {
  const failures: Failure[] = [];
  const wantStatus = expect.status ?? 'completed';
  if (o.status !== wantStatus) failures.push({ expectation: 'status', message: `expected status ${wantStatus}, the run ended ${o.status}` });
  const text = o.output_text ?? '';
  for (const s of expect.output_contains ?? []) {
    if (!text.includes(s)) failures.push({ expectation: 'output_contains', message: `the output does not contain ${JSON.stringify(s)}` });
  }
  if (expect.output_matches !== undefined) {
    let matched: boolean | Error;
    try {
      matched = matches(expect.output_matches, text);
    } catch (err) {
      matched = err instanceof Error ? err : new Error(String(err));
    }
    if (matched instanceof Error) failures.push({ expectation: 'output_matches', message: `/${expect.output_matches}/ could not be evaluated: ${matched.message}` });
    else if (!matched) failures.push({ expectation: 'output_matches', message: `the output does not match /${expect.output_matches}/: ${JSON.stringify(clip(text))}` });
  }
  // Expected calls are a subsequence of the actual ones: each is looked for after the previous match.
  const expected = expect.tool_calls ?? [];
  let matched = 0;
  let from = 0;
  for (const want of expected) {
    const at = o.tool_calls.findIndex((c, i) => i >= from && c.name === want.name && (want.arguments === undefined || isSubset(want.arguments, c.arguments)));
    if (at < 0) {
      const seen = o.tool_calls.slice(from).map((c) => `${c.name}(${clip(JSON.stringify(c.arguments), 80)})`).join(', ') || 'none';
      failures.push({ expectation: 'tool_calls', message: `expected a call of ${want.name}${want.arguments ? ` with ${clip(JSON.stringify(want.arguments), 120)}` : ''} (#${matched + 1} in order); calls after the previous match: ${seen}` });
      continue;
    }
    matched++;
    from = at + 1;
  }
  if (expect.max_tool_calls !== undefined && o.tool_calls.length > expect.max_tool_calls) {
    failures.push({ expectation: 'max_tool_calls', message: `${o.tool_calls.length} tool calls, at most ${expect.max_tool_calls} expected` });
  }
  if (expect.max_cost_usd !== undefined && o.cost_usd > expect.max_cost_usd) {
    failures.push({ expectation: 'max_cost_usd', message: `cost ${o.cost_usd} USD, at most ${expect.max_cost_usd} expected` });
  }
  if (expect.max_latency_ms !== undefined && (o.latency_ms === null || o.latency_ms > expect.max_latency_ms)) {
    failures.push({ expectation: 'max_latency_ms', message: `latency ${o.latency_ms ?? 'unknown'} ms, at most ${expect.max_latency_ms} expected` });
  }
  return { passed: failures.length === 0, failures, matched_tool_calls: matched, expected_tool_calls: expected.length };
}

// ---------- summary and comparison

export interface CaseResult {
  case_id: string;
  status: 'pending' | 'running' | 'passed' | 'failed' | 'canceled';
  cost_usd: number | null;
  latency_ms: number | null;
  matched_tool_calls: number | null;
  expected_tool_calls: number | null;
}

export interface EvalSummary {
  cases: number;
  passed: number;
  failed: number;
  success_rate: number;
  /** Expected calls matched / expected calls over all cases; null when no case expects a call. */
  tool_call_accuracy: number | null;
  cost_usd: { total: number; per_case: number };
  latency_ms: { p50: number | null; p95: number | null };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (n: number, digits = 6): number => Number(n.toFixed(digits));

export function summarize(results: CaseResult[]): EvalSummary {
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  const expectedCalls = results.reduce((n, r) => n + (r.expected_tool_calls ?? 0), 0);
  const matchedCalls = results.reduce((n, r) => n + (r.matched_tool_calls ?? 0), 0);
  const cost = results.reduce((n, r) => n + (r.cost_usd ?? 0), 0);
  const latencies = results.map((r) => r.latency_ms).filter((l): l is number => l !== null).sort((a, b) => a - b);
  return {
    cases: results.length,
    passed,
    failed,
    success_rate: results.length ? round(passed / results.length, 4) : 0,
    tool_call_accuracy: expectedCalls ? round(matchedCalls / expectedCalls, 4) : null,
    cost_usd: { total: round(cost), per_case: results.length ? round(cost / results.length) : 0 },
    latency_ms: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
  };
}

const delta = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : round(a - b));

/** Regressions: cases that passed in `other` and fail in `current`; deltas are current − other. */
export function compare(current: { results: CaseResult[]; summary: EvalSummary }, other: { results: CaseResult[]; summary: EvalSummary }) {
  const before = new Map(other.results.map((r) => [r.case_id, r.status]));
  const regressions = current.results.filter((r) => r.status === 'failed' && before.get(r.case_id) === 'passed').map((r) => r.case_id);
  const improvements = current.results.filter((r) => r.status === 'passed' && before.get(r.case_id) === 'failed').map((r) => r.case_id);
  const a = current.summary;
  const b = other.summary;
  return {
    regressions,
    improvements,
    metric_deltas: {
      success_rate: delta(a.success_rate, b.success_rate),
      tool_call_accuracy: delta(a.tool_call_accuracy, b.tool_call_accuracy),
      cost_usd_total: delta(a.cost_usd.total, b.cost_usd.total),
      cost_usd_per_case: delta(a.cost_usd.per_case, b.cost_usd.per_case),
      latency_ms_p50: delta(a.latency_ms.p50, b.latency_ms.p50),
      latency_ms_p95: delta(a.latency_ms.p95, b.latency_ms.p95),
    },
  };
}

export const evalSetGetQuerySchema = z.object({ version: z.coerce.number().int().min(1).max(1_000_000).optional() });
export const evalListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
  eval_set: z.string().min(1).max(100).optional(),
});
