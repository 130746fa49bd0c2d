// Judging a finished run against a case's expectations, the summary metrics and the comparison of two evals.
import { describe, expect, it } from 'vitest';
import { compare, isSubset, judge, summarize, type CaseResult, type Observed } from '../../src/domain/eval';

const run = (o: Partial<Observed> = {}): Observed => ({ status: 'completed', output_text: 'Order 7 has shipped.', tool_calls: [], cost_usd: 0.01, latency_ms: 900, ...o });

describe('judge', () => {
  it('expects a completed run unless the case says otherwise', () => {
    expect(judge({}, run({ status: 'failed' })).failures).toEqual([{ expectation: 'status', message: 'expected status completed, the run ended failed' }]);
    expect(judge({ status: 'failed' }, run({ status: 'failed' })).passed).toBe(true);
  });

  it('matches expected tool calls as an ordered subsequence, arguments as a subset', () => {
    const calls = [
      { name: 'lookup', arguments: { order: '7', verbose: true } },
      { name: 'notify', arguments: { to: { email: 'a@x', name: 'A' } } },
      { name: 'lookup', arguments: { order: '8' } },
    ];
    const v = judge({ tool_calls: [{ name: 'lookup', arguments: { order: '7' } }, { name: 'notify', arguments: { to: { email: 'a@x' } } }, { name: 'lookup' }] }, run({ tool_calls: calls }));
    expect(v).toMatchObject({ passed: true, matched_tool_calls: 3, expected_tool_calls: 3 });
    // Out of order: notify before the first lookup is not found after it.
    const wrong = judge({ tool_calls: [{ name: 'notify' }, { name: 'lookup', arguments: { order: '7' } }] }, run({ tool_calls: calls }));
    expect(wrong).toMatchObject({ passed: false, matched_tool_calls: 1, expected_tool_calls: 2 });
    expect(wrong.failures[0]!.message).toContain('expected a call of lookup with {"order":"7"} (#2 in order)');
  });

  it('reports every failed expectation with its reason', () => {
    const v = judge({ output_contains: ['shipped', 'refunded'], output_matches: '^Refund', max_tool_calls: 0, max_cost_usd: 0.001, max_latency_ms: 500 }, run({ tool_calls: [{ name: 'x', arguments: {} }] }));
    expect(v.failures.map((f) => f.expectation)).toEqual(['output_contains', 'output_matches', 'max_tool_calls', 'max_cost_usd', 'max_latency_ms']);
  });

  it('a pattern the matcher cannot finish fails the case with that reason instead of hanging', () => {
    const v = judge({ output_matches: '^(a+)+$' }, run(), () => {
      throw new Error('it ran longer than 1000 ms');
    });
    expect(v.failures).toEqual([{ expectation: 'output_matches', message: '/^(a+)+$/ could not be evaluated: it ran longer than 1000 ms' }]);
  });

  it('subset: objects by keys, recursively; anything else equal', () => {
    expect(isSubset({ a: { b: 1 } }, { a: { b: 1, c: 2 }, d: 3 })).toBe(true);
    expect(isSubset({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(isSubset({ a: 1 }, { a: '1' })).toBe(false);
  });
});

describe('summary and comparison', () => {
  const result = (case_id: string, status: CaseResult['status'], latency_ms: number, cost_usd = 0.01, expected = 0, matched = 0): CaseResult => ({ case_id, status, latency_ms, cost_usd, expected_tool_calls: expected, matched_tool_calls: matched });

  it('summarizes pass rate, tool-call accuracy, cost and nearest-rank latency percentiles', () => {
    const results = [result('a', 'passed', 100, 0.01, 2, 2), result('b', 'failed', 300, 0.03, 2, 1), result('c', 'passed', 200), result('d', 'passed', 400)];
    expect(summarize(results)).toEqual({ cases: 4, passed: 3, failed: 1, success_rate: 0.75, tool_call_accuracy: 0.75, cost_usd: { total: 0.06, per_case: 0.015 }, latency_ms: { p50: 200, p95: 400 } });
    expect(summarize([result('a', 'passed', 100)]).tool_call_accuracy).toBeNull();
  });

  it('regressions are cases that passed in the baseline and fail now', () => {
    const before = [result('a', 'passed', 100), result('b', 'passed', 100), result('c', 'failed', 100), result('d', 'failed', 100)];
    const after = [result('a', 'passed', 100), result('b', 'failed', 100), result('c', 'passed', 100), result('d', 'failed', 100), result('e', 'failed', 100)];
    const diff = compare({ results: after, summary: summarize(after) }, { results: before, summary: summarize(before) });
    expect(diff.regressions).toEqual(['b']);
    expect(diff.improvements).toEqual(['c']);
    expect(diff.metric_deltas.success_rate).toBe(-0.1);
  });
});
