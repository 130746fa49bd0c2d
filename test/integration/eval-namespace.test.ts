// Issue 17 item 14: an eval's case runs have idempotency keys of the server's own namespace. A developer
// who sends POST /v1/runs with the key an eval case would use plants nothing: the eval judges its own run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupAgent, waitFor, type AgentSetup } from '../support/api';

type Json = Record<string, any>;

describe('eval case runs and user idempotency keys', () => {
  let a: AgentSetup;
  beforeAll(async () => {
    a = await setupAgent();
    // "#slow" holds the first case for 3 s, time enough to plant a run for the second before it starts.
    a.llm.respond((body) => {
      const user = JSON.stringify((body.messages as { role: string }[]).filter((m) => m.role === 'user').at(-1));
      return user.includes('#slow') ? { text: `Echo: ${user}`, delay_ms: 3_000 } : { text: `Echo: ${user}` };
    });
  });
  afterAll(async () => {
    await a?.llm.close();
  });

  it('a run planted under the key of a case is not the one the eval judges', async () => {
    const cases = [
      { id: 'first', input: 'wait #slow', expect: { output_contains: ['Echo'] } },
      // Passes only with the planted run's output.
      { id: 'target', input: 'genuine', expect: { output_contains: ['planted answer'] } },
    ];
    expect((await a.api.post('/v1/eval_sets', { name: 'namespace', cases })).status).toBe(201);
    const ev = (await a.api.post('/v1/evals', { eval_set: 'namespace', agent: 'assistant', concurrency: 1 })).body;
    expect(ev.id).toMatch(/^evl_/);
    // The key the eval's case run had before this fix (services/evals.ts startCaseRun).
    const planted = await a.api.post('/v1/runs', { agent: 'assistant', input: 'planted answer', wait: true }, { 'Idempotency-Key': `eval:${ev.id}:target` });
    expect(planted.body.status).toBe('completed');

    const done = await waitFor(async () => {
      const r = (await a.api.get(`/v1/evals/${ev.id}`)).body as Json;
      return r.status === 'completed' || r.status === 'failed' ? r : undefined;
    }, 'the eval to finish', 90_000);
    const target = (done.results as Json[]).find((r) => r.case_id === 'target')!;
    expect(target.run_id).not.toBe(planted.body.id);
    expect(target.status).toBe('failed');
    const judged = (await a.api.get(`/v1/runs/${target.run_id}`)).body;
    expect(judged.metadata).toMatchObject({ eval_id: ev.id, eval_case_id: 'target' });
    expect(judged.output_text).toContain('genuine');
  });
});
