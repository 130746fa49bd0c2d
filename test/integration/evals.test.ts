// Evaluations (API.md 10): an eval set of 8 cases against a scripted model; an agent change that breaks
// two of them is named by `compare` as exactly those two regressions; `tool_mode: "dry_run"` never sends
// a write tool a real request nor asks anyone for approval; and an eval whose worker is SIGKILLed midway
// completes without running a finished case again. Hostile eval sets are refused and store nothing.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { allEvents, Api, env, expectError, newWorkspace, setupAgent, waitFor, type AgentSetup } from '../support/api';
import { startToolServer, type ToolRequest, type ToolServer } from '../fixtures/tool-server';
import { startPair } from '../support/pair';
import { spawnAp, type ApProcess } from '../support/processes';

type Json = Record<string, any>;

/** Polls the eval until it is completed (or failed), with a deadline. */
async function finished(api: Api, id: string, timeoutMs = 90_000): Promise<Json> {
  return waitFor(async () => {
    const r = await api.get(`/v1/evals/${id}`);
    return r.status === 200 && (r.body.status === 'completed' || r.body.status === 'failed') ? r.body : undefined;
  }, `eval ${id} to finish`, timeoutMs);
}

/** The text of the last user message of a Chat Completions request (a string or text parts). */
const lastUser = (body: Json): string => {
  const content = (body.messages as { role: string; content: unknown }[]).filter((m) => m.role === 'user').at(-1)?.content;
  return typeof content === 'string' ? content : ((content ?? []) as { text?: string }[]).map((p) => p.text ?? '').join('');
};

let db: pg.Pool;
beforeAll(() => {
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
});

describe('evals', () => {
  let a: AgentSetup;
  let tools: ToolServer;
  beforeAll(async () => {
    tools = await startToolServer();
    a = await setupAgent();
    tools.route('/orders', { body: (req: ToolRequest) => ({ order: (req.body as Json).order, state: 'shipped' }) });
    expect((await a.api.post('/v1/tools', { name: 'lookup_order', effect: 'read', input_schema: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] }, executor: { type: 'http', url: `${tools.url}/orders` } })).status).toBe(201);
    expect((await a.api.patch('/v1/agents/assistant', { tools: ['lookup_order'], instructions: 'Policy v1: answer every question.' })).status).toBe(200);
    // The scripted model: "lookup N" calls the read tool, then reports; anything else is echoed, except
    // that under instructions v2 a question marked #fragile gets a refusal (the agent change under test).
    a.llm.respond((body) => {
      const all = JSON.stringify(body.messages);
      const last = (body.messages as { role: string }[]).at(-1)!;
      const user = lastUser(body);
      if (last.role === 'tool') return { text: `Order ${/"order\\?":\\?"(\d+)/.exec(all)?.[1] ?? '?'} has shipped.` };
      const order = /lookup (\d+)/.exec(user)?.[1];
      if (order) return { tool_calls: [{ name: 'lookup_order', arguments: { order } }] };
      if (all.includes('Policy v2') && user.includes('#fragile')) return { text: 'I cannot help with that.' };
      if (user.includes('#slow')) return { text: `Echo: ${user}`, delay_ms: 3_000 };
      return { text: `Echo: ${user}` };
    });
  });
  afterAll(async () => {
    await a?.llm.close();
    await tools?.close();
  });

  const CASES = [
    { id: 'echo-1', input: 'alpha', expect: { output_contains: ['Echo: alpha'] } },
    { id: 'echo-2', input: 'bravo #fragile', expect: { output_contains: ['Echo: bravo'] } },
    { id: 'echo-3', input: 'charlie', expect: { output_matches: '^Echo: char' } },
    { id: 'echo-4', input: 'delta', expect: { output_contains: ['delta'], max_tool_calls: 0 } },
    { id: 'echo-5', input: [{ role: 'user', content: [{ type: 'input_text', text: 'echo #fragile' }] }], expect: { output_contains: ['Echo: echo'], status: 'completed' } },
    { id: 'always-fails', input: 'foxtrot', expect: { output_contains: ['never said'] } },
    { id: 'lookup-7', input: 'lookup 7', expect: { tool_calls: [{ name: 'lookup_order', arguments: { order: '7' } }], output_contains: ['Order 7 has shipped'] } },
    { id: 'lookup-8', input: 'lookup 8', expect: { tool_calls: [{ name: 'lookup_order' }], max_tool_calls: 1, max_cost_usd: 1 } },
  ];

  it('compare names exactly the 2 cases that an agent change broke; verdicts give the reason of every failed expectation', async () => {
    const set = await a.api.post('/v1/eval_sets', { name: 'support-golden', cases: CASES });
    expect(set.status).toBe(201);
    expect(set.body).toMatchObject({ object: 'eval_set', name: 'support-golden', version: 1 });
    expect(set.body.id).toMatch(/^evs_/);

    const first = await a.api.post('/v1/evals', { eval_set: 'support-golden', agent: 'assistant', concurrency: 3 });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ object: 'eval', status: 'queued', tool_mode: 'dry_run', concurrency: 3, eval_set_version: 1, agent_version: 2 });
    expect(first.body.id).toMatch(/^evl_/);
    const before = await finished(a.api, first.body.id);
    expect(before.status).toBe('completed');
    expect(before.summary).toMatchObject({ cases: 8, passed: 7, failed: 1, success_rate: 0.875, tool_call_accuracy: 1 });
    expect(before.summary.latency_ms.p50).toBeGreaterThan(0);
    expect(before.summary.latency_ms.p95).toBeGreaterThanOrEqual(before.summary.latency_ms.p50);
    const failedBefore = before.results.filter((r: Json) => r.status === 'failed');
    expect(failedBefore.map((r: Json) => r.case_id)).toEqual(['always-fails']);
    expect(failedBefore[0].failures).toEqual([{ expectation: 'output_contains', message: 'the output does not contain "never said"' }]);
    // Every case ran as an ordinary run of its own, in a session of its own, marked as the eval's.
    const runIds = before.results.map((r: Json) => r.run_id);
    expect(new Set(runIds).size).toBe(8);
    const run = await a.api.get(`/v1/runs/${before.results.find((r: Json) => r.case_id === 'lookup-7').run_id}`);
    expect(run.body).toMatchObject({ status: 'completed', tool_mode: 'dry_run', metadata: { eval_id: first.body.id, eval_case_id: 'lookup-7' }, output_text: 'Order 7 has shipped.' });
    const sessions = new Set(await Promise.all(runIds.map(async (id: string) => (await a.api.get(`/v1/runs/${id}`)).body.session_id)));
    expect(sessions.size).toBe(8);

    // The agent change: a new version of the instructions. The eval set is unchanged.
    expect((await a.api.patch('/v1/agents/assistant', { instructions: 'Policy v2: refuse questions marked #fragile.' })).status).toBe(200);
    const second = await a.api.post('/v1/evals', { eval_set: set.body.id, agent: 'assistant' });
    expect(second.body.agent_version).toBe(3);
    const after = await finished(a.api, second.body.id);
    expect(after.summary).toMatchObject({ cases: 8, passed: 5, failed: 3, success_rate: 0.625 });

    const cmp = await a.api.get(`/v1/evals/${second.body.id}/compare/${first.body.id}`);
    expect(cmp.status).toBe(200);
    expect(cmp.body).toMatchObject({ object: 'eval.comparison', eval_id: second.body.id, other_id: first.body.id, improvements: [] });
    expect(cmp.body.regressions.map((r: Json) => r.case_id)).toEqual(['echo-2', 'echo-5']);
    expect(cmp.body.regressions[0].failures).toEqual([{ expectation: 'output_contains', message: 'the output does not contain "Echo: bravo"' }]);
    expect(cmp.body.metric_deltas.success_rate).toBe(-0.25);
    // The other way round, the two are improvements and nothing regressed.
    const back = await a.api.get(`/v1/evals/${first.body.id}/compare/${second.body.id}`);
    expect(back.body.regressions).toEqual([]);
    expect(back.body.improvements.map((r: Json) => r.case_id)).toEqual(['echo-2', 'echo-5']);

    // An earlier eval can be rerun against the earlier agent version.
    const pinned = await a.api.post('/v1/evals', { eval_set: 'support-golden', agent: 'assistant', agent_version: 2 });
    expect((await finished(a.api, pinned.body.id)).summary.passed).toBe(7);

    const list = await a.api.get('/v1/evals?eval_set=support-golden');
    expect(list.body.data.map((e: Json) => e.id)).toEqual([pinned.body.id, second.body.id, first.body.id]);
    expect(list.body.data[0].results).toBeUndefined();
  });

  it('new cases make a new eval-set version; earlier evals keep theirs; comparisons across sets or of unfinished evals are refused', async () => {
    const set = await a.api.post('/v1/eval_sets', { name: 'versioned', cases: CASES.slice(0, 2) });
    const patched = await a.api.patch('/v1/eval_sets/versioned', { cases: CASES.slice(0, 3) });
    expect(patched.body).toMatchObject({ id: set.body.id, version: 2 });
    expect(patched.body.cases).toHaveLength(3);
    expect((await a.api.get('/v1/eval_sets/versioned?version=1')).body.cases).toHaveLength(2);
    const renamed = await a.api.patch(`/v1/eval_sets/${set.body.id}`, { name: 'versioned-2' });
    expect(renamed.body).toMatchObject({ name: 'versioned-2', version: 2 });
    const v1 = await a.api.post('/v1/evals', { eval_set: 'versioned-2', eval_set_version: 1, agent: 'assistant' });
    const done = await finished(a.api, v1.body.id);
    expect(done.results.map((r: Json) => r.case_id)).toEqual(['echo-1', 'echo-2']);

    // A pattern that backtracks for ever in JavaScript is judged in linear time (RE2): the case fails at once, the eval goes on.
    const redos = await a.api.post('/v1/eval_sets', { name: 'redos', cases: [{ id: 'slow-pattern', input: `${'a'.repeat(32)}!`, expect: { output_matches: '^(Echo: )?(a+)+$' } }, CASES[0]] });
    const redosEval = await finished(a.api, (await a.api.post('/v1/evals', { eval_set: redos.body.id, agent: 'assistant' })).body.id);
    expect(redosEval.results.map((r: Json) => [r.case_id, r.status])).toEqual([['slow-pattern', 'failed'], ['echo-1', 'passed']]);
    expect(redosEval.results[0].failures).toEqual([{ expectation: 'output_matches', message: expect.stringMatching(/^the output does not match \/\^\(Echo: \)\?\(a\+\)\+\$\/: /) }]);

    const other = await a.api.post('/v1/eval_sets', { name: 'other', cases: CASES.slice(0, 1) });
    const otherEval = await a.api.post('/v1/evals', { eval_set: other.body.id, agent: 'assistant' });
    await finished(a.api, otherEval.body.id);
    expectError(await a.api.get(`/v1/evals/${v1.body.id}/compare/${otherEval.body.id}`), 400, 'invalid_request_error', 'eval_set_mismatch');
    expectError(await a.api.get(`/v1/evals/${v1.body.id}/compare/evl_00000000000000000000000000000000`), 404, 'not_found_error', 'not_found');
  });

  it('delete: an eval set is 409 eval_set_in_use while it has evals, an eval 409 eval_active until it has ended; then they go, the case runs stay', async () => {
    const set = (await a.api.post('/v1/eval_sets', { name: 'deletable', cases: [CASES[0], { id: 'slow', input: 'take your time #slow', expect: { output_contains: ['Echo'] } }] })).body;
    const first = (await a.api.post('/v1/evals', { eval_set: 'deletable', agent: 'assistant' })).body;
    // Queued or running (its slow case takes 3 s): not yet.
    expectError(await a.api.delete(`/v1/evals/${first.id}`), 409, 'conflict_error', 'eval_active');
    const done = await finished(a.api, first.id);
    expect(done.status).toBe('completed');
    const caseRuns = (done.results as Json[]).map((r) => r.run_id as string);

    const setInUse = await a.api.delete('/v1/eval_sets/deletable');
    expectError(setInUse, 409, 'conflict_error', 'eval_set_in_use');
    expect(setInUse.body.error.message).toContain('1 eval');
    expect((await a.api.get(`/v1/eval_sets/${set.id}`)).status).toBe(200);
    const stranger = await newWorkspace('evals-delete-stranger');
    expectError(await stranger.delete(`/v1/evals/${first.id}`), 404, 'not_found_error', 'not_found');
    expectError(await stranger.delete(`/v1/eval_sets/${set.id}`), 404, 'not_found_error', 'not_found');
    const auditor = new Api((await a.api.post('/v1/api_keys', { name: 'eval-delete-auditor', roles: ['auditor'] })).body.key);
    expectError(await auditor.delete(`/v1/evals/${first.id}`), 403, 'permission_error', 'permission_denied');
    expect((await a.api.get(`/v1/evals/${first.id}`)).body.results).toHaveLength(2);

    expect((await a.api.delete(`/v1/evals/${first.id}`)).body).toEqual({ id: first.id, object: 'eval', deleted: true });
    expectError(await a.api.get(`/v1/evals/${first.id}`), 404, 'not_found_error', 'not_found');
    expectError(await a.api.delete(`/v1/evals/${first.id}`), 404, 'not_found_error', 'not_found');
    expect((await a.api.get('/v1/evals?eval_set=deletable')).body.data).toEqual([]);
    for (const id of caseRuns) expect((await a.api.get(`/v1/runs/${id}`)).body.status).toBe('completed');
    const rows = await db.query('SELECT count(*)::int AS n FROM eval_results WHERE eval_id = $1', [first.id]);
    expect(rows.rows[0].n).toBe(0);

    expect((await a.api.delete('/v1/eval_sets/deletable')).body).toEqual({ id: set.id, object: 'eval_set', deleted: true });
    expectError(await a.api.get(`/v1/eval_sets/${set.id}`), 404, 'not_found_error', 'not_found');
    expectError(await a.api.post('/v1/evals', { eval_set: set.id, agent: 'assistant' }), 404, 'not_found_error', 'not_found');
    expect((await db.query('SELECT count(*)::int AS n FROM eval_set_versions WHERE eval_set_id = $1', [set.id])).rows[0].n).toBe(0);
    // The name is free again.
    expect((await a.api.post('/v1/eval_sets', { name: 'deletable', cases: [CASES[0]] })).status).toBe(201);
    expect((await a.api.get(`/v1/audit_log?type=eval.delete&target=${first.id}`)).body.data).toHaveLength(1);
    expect((await a.api.get(`/v1/audit_log?type=eval_set.delete&target=${set.id}`)).body.data).toHaveLength(1);
  });

  it('refuses hostile eval sets and evals, and stores nothing for them', async () => {
    const api = a.api;
    const count = async () => ((await api.get('/v1/eval_sets?limit=100')).body.data as Json[]).filter((x) => x.name.startsWith('hostile')).length;
    const bad: Json[] = [
      { name: 'hostile-1', cases: [] },
      { name: 'hostile-2', cases: [CASES[0], CASES[0]] },
      { name: 'hostile-3', cases: [{ id: 'x', input: 'a', expect: { output_matches: '([' } }] },
      { name: 'hostile-4', cases: [{ id: 'x', input: 'a', expect: { unknown: true } }] },
      { name: 'hostile-5', cases: [{ id: 'x', input: 'a', expect: { status: 'exploded' } }] },
      { name: 'hostile-6', cases: [{ id: 'x', input: '' }] },
      { name: 'hostile-7', cases: [{ id: '../x', input: 'a' }] },
      { name: 'hostile-8', cases: [{ id: 'x', input: 'a', expect: { max_tool_calls: -1 } }] },
      { name: 'hostile-9', cases: 'all of them' },
      { name: 'hostile 10', cases: [CASES[0]] },
      { name: 'hostile-11', cases: [{ id: 'x', input: 'a', expect: { output_matches: 'a'.repeat(1001) } }] },
    ];
    for (const b of bad) expectError(await api.post('/v1/eval_sets', b), 400, 'invalid_request_error', 'validation_failed');
    expect(await count()).toBe(0);

    await api.post('/v1/eval_sets', { name: 'hostile-ok', cases: [CASES[0]] });
    expectError(await api.post('/v1/eval_sets', { name: 'hostile-ok', cases: [CASES[1]] }), 409, 'conflict_error', 'already_exists');
    expect((await api.get('/v1/eval_sets/hostile-ok')).body.cases).toEqual([{ ...CASES[0] }]);
    expectError(await api.patch('/v1/eval_sets/hostile-ok', {}), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.patch('/v1/eval_sets/hostile-ok', { cases: [{ id: 'x' }] }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.get('/v1/eval_sets/hostile-ok')).body.version).toBe(1);

    const evalsBefore = (await db.query('SELECT count(*)::int AS n FROM evals')).rows[0].n;
    expectError(await api.post('/v1/evals', { eval_set: 'nope', agent: 'assistant' }), 404, 'not_found_error', 'not_found');
    expectError(await api.post('/v1/evals', { eval_set: 'hostile-ok', agent: 'nobody' }), 404, 'not_found_error', 'not_found');
    expectError(await api.post('/v1/evals', { eval_set: 'hostile-ok', agent: 'assistant', agent_version: 99 }), 404, 'not_found_error', 'not_found');
    expectError(await api.post('/v1/evals', { eval_set: 'hostile-ok', agent: 'assistant', eval_set_version: 2 }), 404, 'not_found_error', 'not_found');
    for (const b of [{ eval_set: 'hostile-ok', agent: 'assistant', concurrency: 0 }, { eval_set: 'hostile-ok', agent: 'assistant', concurrency: 1000 }, { eval_set: 'hostile-ok', agent: 'assistant', tool_mode: 'yolo' }, { eval_set: 'hostile-ok' }]) {
      expectError(await api.post('/v1/evals', b), 400, 'invalid_request_error', 'validation_failed');
    }
    // A live eval executes write tools: a developer may not start one.
    const dev = new Api((await api.post('/v1/api_keys', { name: 'dev', roles: ['developer'] })).body.key);
    expectError(await dev.post('/v1/evals', { eval_set: 'hostile-ok', agent: 'assistant', tool_mode: 'live' }), 403, 'permission_error', 'permission_denied');
    const approver = new Api((await api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key);
    expectError(await approver.post('/v1/eval_sets', { name: 'hostile-approver', cases: [CASES[0]] }), 403, 'permission_error', 'permission_denied');
    expect((await db.query('SELECT count(*)::int AS n FROM evals')).rows[0].n).toBe(evalsBefore);

    // Another workspace sees none of it.
    const stranger = await newWorkspace('evals-stranger');
    expectError(await stranger.get('/v1/eval_sets/hostile-ok'), 404, 'not_found_error', 'not_found');
    expect((await stranger.get('/v1/eval_sets')).body.data).toEqual([]);
  });
});

describe('evals in dry_run mode', () => {
  it('a write tool gets only dry-run requests, a write tool without a dry run gets none, and nobody is asked for approval', async () => {
    const tools = await startToolServer();
    const s = await setupAgent();
    try {
      tools.route('/refund', { body: (req: ToolRequest) => (req.headers['x-dry-run'] === 'true' ? { would_refund: (req.body as Json).order } : { refunded: (req.body as Json).order }) });
      tools.route('/notify', { body: { sent: true } });
      const schema = { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] };
      await s.api.post('/v1/tools', { name: 'refund', effect: 'write', supports_dry_run: true, input_schema: schema, executor: { type: 'http', url: `${tools.url}/refund` } });
      await s.api.post('/v1/tools', { name: 'notify', effect: 'write', input_schema: schema, executor: { type: 'http', url: `${tools.url}/notify` } });
      await s.api.patch('/v1/agents/assistant', { tools: ['refund', 'notify'] });
      s.llm.respond((body) => {
        const last = (body.messages as { role: string; content: unknown }[]).at(-1)!;
        const user = lastUser(body);
        if (last.role === 'tool') return { text: `Tool said ${JSON.stringify(last.content)}` };
        const tool = user.includes('refund') ? 'refund' : 'notify';
        return { tool_calls: [{ name: tool, arguments: { order: /\d+/.exec(user)?.[0] ?? '0' } }] };
      });
      const set = await s.api.post('/v1/eval_sets', {
        name: 'writes',
        cases: [
          { id: 'refund-1', input: 'refund 41', expect: { tool_calls: [{ name: 'refund', arguments: { order: '41' } }], output_contains: ['would_refund'] } },
          { id: 'refund-2', input: 'refund 42', expect: { tool_calls: [{ name: 'refund' }] } },
          { id: 'notify-1', input: 'notify 43', expect: { tool_calls: [{ name: 'notify', arguments: { order: '43' } }], output_contains: ['not_executed'] } },
        ],
      });
      expect(set.status).toBe(201);
      const started = await s.api.post('/v1/evals', { eval_set: 'writes', agent: 'assistant' });
      const done = await finished(s.api, started.body.id);
      expect(done.summary).toMatchObject({ cases: 3, passed: 3, tool_call_accuracy: 1 });

      // Zero requests that are not dry runs: the write tools never took effect.
      expect(tools.requests.filter((r) => r.headers['x-dry-run'] !== 'true')).toEqual([]);
      expect(tools.requests.map((r) => r.path).sort()).toEqual(['/refund', '/refund']);
      expect((await s.api.get('/v1/approvals')).body.data).toEqual([]);
      for (const r of done.results as Json[]) {
        const events = await allEvents(s.api, r.run_id);
        expect(events.map((e) => e.type)).not.toContain('approval.requested');
        const completed = events.find((e) => e.type === 'tool_call.completed')!;
        expect(completed.data.dry_run).toBe(true);
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      }
      // Outside an eval the same agent still asks for approval before a write.
      const live = await s.api.post('/v1/runs', { agent: 'assistant', input: 'refund 44', wait: true });
      expect(live.body.status).toBe('waiting_approval');
      expect(live.body.tool_mode).toBe('live');
      await s.api.post(`/v1/runs/${live.body.id}/cancel`, {});
    } finally {
      await s.llm.close();
      await tools.close();
    }
  });
});

describe('evals across a worker restart', () => {
  const procs: ApProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill('SIGKILL');
  });

  it('an eval of 50 cases whose worker is SIGKILLed midway completes, and no finished case runs again', async () => {
    const pair = await startPair('evals-restart');
    procs.push(pair.api, pair.worker);
    const s = await setupAgent();
    const client = new Api(s.api.key, `http://127.0.0.1:${pair.port}`);
    s.llm.respond((body) => ({ text: `Answer to ${/case-\d+/.exec(lastUser(body))?.[0]}`, delay_ms: 150 }));
    const cases = Array.from({ length: 50 }, (_, i) => ({ id: `case-${i}`, input: `question case-${i}`, expect: { output_contains: [`Answer to case-${i}`] } }));
    expect((await client.post('/v1/eval_sets', { name: 'fifty', cases })).status).toBe(201);
    const started = await client.post('/v1/evals', { eval_set: 'fifty', agent: 'assistant', concurrency: 4 });
    expect(started.status).toBe(202);

    const midway = await waitFor(async () => {
      const e = (await client.get(`/v1/evals/${started.body.id}`)).body;
      const passed = (e.results as Json[]).filter((r) => r.status === 'passed');
      return passed.length >= 12 ? passed : undefined;
    }, 'a dozen cases to pass', 60_000);
    await pair.worker.kill('SIGKILL');
    // The verdicts stored before the kill, with their runs.
    const before = new Map<string, string>((await client.get(`/v1/evals/${started.body.id}`)).body.results.filter((r: Json) => r.status === 'passed').map((r: Json) => [r.case_id, r.run_id]));
    expect(before.size).toBeGreaterThanOrEqual(midway.length);
    const worker2 = spawnAp(['worker'], pair.base, path.join(env().logDir, 'evals-restart-worker2.log'));
    procs.push(worker2);
    await worker2.ready;

    const done = await finished(client, started.body.id, 120_000);
    expect(done.summary).toMatchObject({ cases: 50, passed: 50, failed: 0 });
    // Finished cases kept their runs, and each was asked of the model exactly once.
    for (const [caseId, runId] of before) expect(done.results.find((r: Json) => r.case_id === caseId).run_id).toBe(runId);
    for (const caseId of before.keys()) {
      expect(s.llm.requests.filter((r) => lastUser(r.body) === `question ${caseId}`), caseId).toHaveLength(1);
    }
    // One run per case: the cases in flight at the kill were found again, not created twice.
    const runs = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE metadata->>'eval_id' = $1", [started.body.id]);
    expect(runs.rows[0]!.n).toBe(50);
    await s.llm.close();
  }, 240_000);
});

describe('eval cancellation', () => {
  let a: AgentSetup;
  beforeAll(async () => {
    a = await setupAgent();
    // "slow" questions are answered only after a minute: their cases are in flight when the eval is canceled.
    a.llm.respond((body) => (lastUser(body).startsWith('slow') ? { text: 'late', delay_ms: 60_000 } : { text: `Echo: ${lastUser(body)}` }));
  });
  afterAll(async () => {
    await a?.llm.close();
  });

  it('cancel stops an eval: no further case starts, the runs in flight are canceled, judged cases keep their verdicts', { timeout: 120_000 }, async () => {
    const cases = ['quick-1', 'slow-1', 'slow-2', 'quick-2', 'quick-3', 'quick-4'].map((id) => ({ id, input: id, expect: { output_contains: ['Echo'] } }));
    expect((await a.api.post('/v1/eval_sets', { name: 'cancel-me', cases })).status).toBe(201);
    const started = await a.api.post('/v1/evals', { eval_set: 'cancel-me', agent: 'assistant', concurrency: 2 });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    // quick-1 is judged, then both lanes wait on the slow cases.
    await waitFor(async () => {
      const e = (await a.api.get(`/v1/evals/${id}`)).body;
      const by = Object.fromEntries((e.results as Json[]).map((r) => [r.case_id, r]));
      return by['quick-1'].status === 'passed' && by['slow-1'].run_id && by['slow-2'].run_id && a.llm.requests.length === 3;
    }, 'the quick case judged and both slow cases running');

    const stranger = await newWorkspace('evals-cancel-stranger');
    expectError(await stranger.post(`/v1/evals/${id}/cancel`, {}), 404, 'not_found_error', 'not_found');
    const auditor = new Api((await a.api.post('/v1/api_keys', { name: 'eval-auditor', roles: ['auditor'] })).body.key);
    expectError(await auditor.post(`/v1/evals/${id}/cancel`, {}), 403, 'permission_error', 'permission_denied');
    expectError(await a.api.post(`/v1/evals/${id}/cancel`, { reason: 7 }), 400, 'invalid_request_error', 'validation_failed');
    expect((await a.api.get(`/v1/evals/${id}`)).body.status).toBe('running');

    const canceled = await a.api.post(`/v1/evals/${id}/cancel`, { reason: 'wrong agent version' });
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(202);
    // (No delete right here: the eval may still be ending or already have ended, its workflow needs two
    // activity hops; landing CI saw both. 409 eval_active while it runs is shown by the delete test.)
    const done = await waitFor(async () => {
      const e = (await a.api.get(`/v1/evals/${id}`)).body;
      return e.status === 'canceled' && e.summary ? e : undefined;
    }, 'the eval to end canceled');
    const by = Object.fromEntries((done.results as Json[]).map((r) => [r.case_id, r]));
    expect(by['quick-1'].status).toBe('passed');
    expect(['slow-1', 'slow-2', 'quick-2', 'quick-3', 'quick-4'].map((c) => by[c].status)).toEqual(Array(5).fill('canceled'));
    expect(['quick-2', 'quick-3', 'quick-4'].map((c) => by[c].run_id)).toEqual([null, null, null]);
    for (const c of ['slow-1', 'slow-2']) {
      const run = await waitFor(async () => {
        const r = (await a.api.get(`/v1/runs/${by[c].run_id}`)).body;
        return r.status === 'canceled' ? r : undefined;
      }, `the run of ${c} to be canceled`);
      expect(run.metadata).toMatchObject({ eval_id: id, eval_case_id: c });
    }
    expect(done.summary).toMatchObject({ cases: 6, passed: 1, failed: 0 });
    expect(done.completed_at).toEqual(expect.any(String));
    // Nothing starts afterwards, and a second cancel is refused.
    await new Promise((r) => setTimeout(r, 3000));
    expect(a.llm.requests).toHaveLength(3);
    expectError(await a.api.post(`/v1/evals/${id}/cancel`, {}), 409, 'conflict_error', 'eval_not_active');
    const audit = await a.api.get(`/v1/audit_log?type=eval.cancel&target=${id}`);
    expect(audit.body.data).toHaveLength(1);
    // Once its workflow has ended, the canceled eval can be deleted.
    await waitFor(async () => (await a.api.delete(`/v1/evals/${id}`)).status === 200, 'the canceled eval to be deletable');
    expectError(await a.api.get(`/v1/evals/${id}`), 404, 'not_found_error', 'not_found');
  });
});
