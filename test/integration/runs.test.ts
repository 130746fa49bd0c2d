// Runs end to end on the real stack, driven by a scripted OpenAI-wire provider.
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { canary } from '../support/canaries';
import { holdAuditWrites } from '../support/hold-api';
import { allEvents, env, expectError, httpTool, readSse, setupAgent, waitForStatus, type AgentSetup } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function withTools(provider: 'openai' | 'anthropic' = 'openai', limits?: Record<string, number>): Promise<AgentSetup & { tools: ToolServer }> {
  const tools = await startToolServer();
  const s = await setupAgent({ provider, tools: [], limits, pricing: true });
  cleanups.push(() => s.llm.close(), () => tools.close());
  await s.api.post('/v1/vault', { name: 'weather_token', value: canary('vault') });
  await httpTool(s.api, 'weather', `${tools.url}/weather`, { executor: { type: 'http', url: `${tools.url}/weather`, headers: { Authorization: 'Bearer {{vault.weather_token}}' } } });
  const patched = await s.api.patch('/v1/agents/assistant', { tools: ['weather'] });
  expect(patched.body.version).toBe(2);
  tools.route('/weather', { body: (r: { body: unknown }) => ({ city: (r.body as { city: string }).city, temp_c: 21 }) });
  return { ...s, tools };
}

const seqs = (events: { seq: number }[]) => events.map((e) => e.seq);
const types = (events: { type: string }[]) => events.map((e) => e.type);

describe.each(['openai', 'anthropic'] as const)('runs over the %s wire protocol', (provider) => {
  it('a run that calls a read tool twice and answers', async () => {
    const { api, llm, tools } = await withTools(provider);
    llm.reply(
      { text: 'Let me check.', tool_calls: [{ name: 'weather', arguments: { city: 'Berlin' } }] },
      { tool_calls: [{ name: 'weather', arguments: { city: 'Paris' } }] },
      { text: 'Berlin and Paris are both 21°C.' },
    );
    const res = await api.post('/v1/runs', { agent: 'assistant', input: 'Weather in Berlin and Paris?', wait: true }, { 'x-request-id': 'req-test-two-tools' });
    expect(res.status).toBe(200);
    const run = res.body;
    expect(run).toMatchObject({ object: 'run', status: 'completed', output_text: 'Berlin and Paris are both 21°C.', request_id: 'req-test-two-tools', error: null });
    expect(run.usage).toMatchObject({ model_calls: 3, tool_calls: 2, steps: 3 });
    expect(run.usage.cost_usd).toBeGreaterThan(0);
    expect(run.output).toEqual([{ role: 'assistant', content: [{ type: 'output_text', text: 'Berlin and Paris are both 21°C.' }] }]);

    expect(tools.requests.map((r) => (r.body as { city: string }).city)).toEqual(['Berlin', 'Paris']);
    for (const r of tools.requests) {
      expect(r.headers['idempotency-key']).toMatch(new RegExp(`^${run.id}:tc_[0-9a-f]{32}$`));
      expect(r.headers['x-request-id']).toBe('req-test-two-tools');
      expect(r.headers.authorization).toMatch(/^Bearer CANARY-SECRET-vault-/);
    }
    // The provider saw the tool results of earlier steps.
    expect(JSON.stringify(llm.requests[2]!.body)).toContain('Paris');
    expect(JSON.stringify(llm.requests[2]!.body)).toContain('temp_c');

    const events = await allEvents(api, run.id);
    expect(seqs(events)).toEqual(events.map((_, i) => i + 1));
    expect(types(events)).toEqual([
      'run.queued', 'run.status_changed', 'run.started',
      'step.started', 'message.completed', 'tool_call.requested', 'policy.decided', 'tool_call.started', 'tool_call.completed', 'step.completed',
      'step.started', 'message.completed', 'tool_call.requested', 'policy.decided', 'tool_call.started', 'tool_call.completed', 'step.completed',
      'step.started', 'message.completed', 'step.completed',
      'run.status_changed', 'run.completed',
    ]);
    const decided = events.find((e) => e.type === 'policy.decided');
    expect(decided.data).toMatchObject({ action: 'allow', rule_id: 'default_read', name: 'weather' });
  });

  it('a multi-turn session: the second run sees the first run\'s messages', async () => {
    const { api, llm } = await setupAgent({ provider });
    cleanups.push(() => llm.close());
    const session = await api.post('/v1/sessions', { agent: 'assistant', title: 'chat' });
    expect(session.status).toBe(201);
    llm.reply({ text: 'Nice to meet you, Ada.' }, { text: 'Your name is Ada.' });
    const first = await api.post(`/v1/sessions/${session.body.id}/runs`, { input: 'My name is Ada.', wait: true });
    expect(first.body.status).toBe('completed');
    const second = await api.post(`/v1/sessions/${session.body.id}/runs`, { input: [{ role: 'user', content: 'What is my name?' }], wait: true });
    expect(second.body).toMatchObject({ status: 'completed', output_text: 'Your name is Ada.' });
    const sent = JSON.stringify(llm.requests[1]!.body);
    expect(sent).toContain('My name is Ada.');
    expect(sent).toContain('Nice to meet you, Ada.');
    expect(sent).toContain('What is my name?');
    const messages = await api.get(`/v1/sessions/${session.body.id}/messages`);
    expect(messages.body.data.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });
});

describe('creating runs', () => {
  it('async creation answers 202 with Location, and the run completes on its own', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'done', delay_ms: 300 });
    const res = await api.post('/v1/runs', { agent: 'assistant', input: 'hi' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/runs/${res.body.id}`);
    expect(['queued', 'running']).toContain(res.body.status);
    const done = await waitForStatus(api, res.body.id, ['completed']);
    expect(done.output_text).toBe('done');
    const listed = await api.get(`/v1/runs?session_id=${res.body.session_id}&status=completed`);
    expect(listed.body.data.map((r: { id: string }) => r.id)).toEqual([res.body.id]);
  });

  it('wait: true answers 200 with the current status when wait_timeout_seconds passes', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'slow', delay_ms: 4_000 });
    const res = await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true, wait_timeout_seconds: 1 });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('running');
    expect((await waitForStatus(api, res.body.id, ['completed'])).output_text).toBe('slow');
  });

  it('GET /v1/runs pages newest first with cursors and filters', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      llm.reply({ text: `answer ${i}` });
      ids.push((await api.post('/v1/runs', { agent: 'assistant', input: `q${i}`, wait: true })).body.id);
    }
    const first = await api.get('/v1/runs?limit=2');
    expect(first.body).toMatchObject({ object: 'list', has_more: true, next_cursor: ids[3] });
    expect(first.body.data.map((r: { id: string }) => r.id)).toEqual([ids[4], ids[3]]);
    const second = await api.get(`/v1/runs?limit=2&after=${first.body.next_cursor}`);
    expect(second.body.data.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const last = await api.get(`/v1/runs?limit=2&after=${second.body.next_cursor}`);
    expect(last.body).toMatchObject({ has_more: false, next_cursor: null });
    expect(last.body.data.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    expect((await api.get('/v1/runs?agent=assistant&status=failed')).body.data).toEqual([]);
    expect((await api.get('/v1/runs?agent=assistant&limit=100')).body.data).toHaveLength(5);
    expect((await api.get(`/v1/runs?created_after=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.data).toEqual([]);
  });

  it('stream: true answers with the live event stream, token deltas included, until the run ends', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'one two three four five', chunk_delay_ms: 30 });
    const res = await fetch(`${env().apiUrl}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'assistant', input: 'count', stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const messages = await readSse(res);
    const deltas = messages.filter((m) => m.event === 'message.delta').map((m) => JSON.parse(m.data).data.text).join('');
    expect(deltas).toBe('one two three four five');
    expect(messages.filter((m) => m.event === 'message.delta').every((m) => m.id === undefined)).toBe(true);
    const stored = messages.filter((m) => m.id !== undefined);
    expect(stored.map((m) => Number(m.id))).toEqual(stored.map((_, i) => i + 1));
    expect(stored[stored.length - 1]!.event).toBe('run.completed');
  });

  it('stream: true keeps the first token deltas of a model that answers before the API has replied to the create', async () => {
    // Hostile timing: the API is held after it started the run (its audit write waits on a lock) while the
    // run streams its whole answer and ends. Deltas are never stored: a stream that subscribed only after the
    // create returned lost them (seen as 'two three four five' on a fast machine).
    const { api, llm, agent } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'one two three four five' });
    const hold = await holdAuditWrites(env().databaseUrl, (await api.get('/v1/workspaces/current')).body.id);
    cleanups.push(() => hold.release());
    const answer = fetch(`${env().apiUrl}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'assistant', input: 'count', stream: true }),
    });
    await hold.runReaches(agent.id, 'completed');
    await hold.release();
    const res = await answer;
    expect(res.status).toBe(200);
    const messages = await readSse(res);
    const deltas = messages.filter((m) => m.event === 'message.delta').map((m) => JSON.parse(m.data).data.text).join('');
    expect(deltas).toBe('one two three four five');
    // Each delta comes after the step it belongs to started, and before its message is stored.
    const order = messages.map((m) => m.event);
    expect(order.indexOf('step.started')).toBeLessThan(order.indexOf('message.delta'));
    expect(order.lastIndexOf('message.delta')).toBeLessThan(order.indexOf('message.completed'));
    expect(order[order.length - 1]).toBe('run.completed');
  });

  it('a session with an active run rejects another run with 409 session_busy; enqueue runs it afterwards', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    llm.reply({ text: 'slow answer', delay_ms: 1500 }, { text: 'queued answer' });
    const first = await api.post(`/v1/sessions/${session.id}/runs`, { input: 'first' });
    expect(first.status).toBe(202);
    const busy = await api.post(`/v1/sessions/${session.id}/runs`, { input: 'second' });
    expectError(busy, 409, 'conflict_error', 'session_busy');
    const queued = await api.post(`/v1/sessions/${session.id}/runs`, { input: 'second', if_busy: 'enqueue' });
    expect(queued.status).toBe(202);
    const done = await waitForStatus(api, queued.body.id, ['completed']);
    expect(done.output_text).toBe('queued answer');
    const firstDone = await api.get(`/v1/runs/${first.body.id}`);
    expect(new Date(done.started_at).getTime()).toBeGreaterThanOrEqual(new Date(firstDone.body.completed_at).getTime());
    // The queued run saw the first run's exchange as context.
    expect(JSON.stringify(llm.requests[1]!.body)).toContain('slow answer');
  });
});

describe.each(['openai', 'anthropic'] as const)('limits end %s runs with the documented codes', (provider) => {
  it('max_steps_exceeded', async () => {
    const { api, llm } = await withTools(provider, { max_steps: 2 });
    llm.reply(
      { tool_calls: [{ name: 'weather', arguments: { city: 'A' } }] },
      { tool_calls: [{ name: 'weather', arguments: { city: 'B' } }] },
      { text: 'never reached' },
    );
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(run).toMatchObject({ status: 'failed', error: { code: 'max_steps_exceeded' } });
    expect(llm.requests).toHaveLength(2);
    const events = await allEvents(api, run.id);
    expect(events[events.length - 1]).toMatchObject({ type: 'run.failed', data: { error: { code: 'max_steps_exceeded' } } });
  });

  it('max_tool_calls_exceeded: a step whose calls exceed the limit fails before any of them runs (constraints tighten)', async () => {
    const { api, llm, tools } = await withTools(provider);
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'A' } }, { name: 'weather', arguments: { city: 'B' } }] });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true, constraints: { max_tool_calls: 1 } })).body;
    expect(run).toMatchObject({ status: 'failed', error: { code: 'max_tool_calls_exceeded' } });
    expect(tools.requests).toHaveLength(0);
    // Within the limit (the agent allows 32), the same step runs both calls.
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'A' } }, { name: 'weather', arguments: { city: 'B' } }] }, { text: 'both' });
    expect((await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true, constraints: { max_tool_calls: 2 } })).body.status).toBe('completed');
    expect(tools.requests).toHaveLength(2);
  });

  it('constraints that try to loosen limits are ignored', async () => {
    const { api, llm, tools } = await withTools(provider, { max_steps: 2 });
    llm.reply(...[1, 2, 3].map((i) => ({ tool_calls: [{ name: 'weather', arguments: { city: `C${i}` } }] })));
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true, constraints: { max_steps: 50, max_tool_calls: 1000, rules: [{ id: 'loosen', match: { tool: '*' }, action: 'allow' }] } })).body;
    expect(run).toMatchObject({ status: 'failed', error: { code: 'max_steps_exceeded' } });
    expect(tools.requests).toHaveLength(2);
  });

  it('the same tool with the same arguments a third time is denied as a loop', async () => {
    const { api, llm, tools } = await withTools(provider);
    llm.reply(...[1, 2, 3].map(() => ({ tool_calls: [{ name: 'weather', arguments: { city: 'Same' } }] })), { text: 'giving up' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(run.status).toBe('completed');
    expect(tools.requests).toHaveLength(2);
    const decisions = (await allEvents(api, run.id)).filter((e) => e.type === 'policy.decided').map((e) => e.data.rule_id);
    expect(decisions).toEqual(['default_read', 'default_read', 'loop_detected']);
  });

  it('a constraint rule tightens: deny a tool the agent allows', async () => {
    const { api, llm, tools } = await withTools(provider);
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'X' } }] }, { text: 'denied' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true, constraints: { rules: [{ id: 'no-weather', match: { tool: 'weather' }, action: 'deny', reason: 'not today' }] } })).body;
    expect(run.status).toBe('completed');
    expect(tools.requests).toHaveLength(0);
    expect((await allEvents(api, run.id)).find((e) => e.type === 'policy.decided').data).toMatchObject({ action: 'deny', rule_id: 'no-weather' });
  });

  it('timeout: a run slower than its timeout_seconds fails with timeout', async () => {
    const { api, llm } = await setupAgent({ provider, limits: { timeout_seconds: 2 } });
    cleanups.push(() => llm.close());
    llm.reply({ text: 'far too slow', delay_ms: 20_000 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(run).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
    await waitForStatus(api, run.id, ['failed']);
    const events = await allEvents(api, run.id);
    expect(events.map((e) => e.type)).toContain('run.failed');
  });

  it('max_tokens: a run that uses more tokens than allowed fails with budget_exceeded', async () => {
    const { api, llm } = await setupAgent({ provider, limits: { max_tokens: 50 } });
    cleanups.push(() => llm.close());
    llm.reply({ text: 'verbose', usage: { input_tokens: 40, output_tokens: 30 } });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(run).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
  });
});

describe.each(['openai', 'anthropic'] as const)('%s tool calls', (provider) => {
  it('invalid arguments are not executed and the validation error goes back to the model', async () => {
    const { api, llm, tools } = await withTools(provider);
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { town: 'Berlin' } }] }, { text: 'Sorry, I used the tool wrongly.' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(run.status).toBe('completed');
    expect(tools.requests).toHaveLength(0);
    const events = await allEvents(api, run.id);
    const failed = events.find((e) => e.type === 'tool_call.failed');
    expect(failed.data.error.code).toBe('invalid_tool_arguments');
    expect(failed.data.error.message).toMatch(/city|town/);
    // The refusal reaches the model as the tool result, in each provider's own format.
    const sent = JSON.stringify(llm.requests[1]!.body.messages);
    expect(sent).toContain(provider === 'openai' ? '"role":"tool"' : '"type":"tool_result"');
    expect(sent).toContain('invalid_tool_arguments');
  });

  it('malformed JSON arguments are reported to the model, not executed', async () => {
    const { api, llm, tools } = await withTools(provider);
    llm.reply({ tool_calls: [{ name: 'weather', arguments: {} }], raw_arguments: '{"city": "Ber' }, { text: 'retrying later' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(run.status).toBe('completed');
    expect(tools.requests).toHaveLength(0);
    const events = await allEvents(api, run.id);
    expect(events.find((e) => e.type === 'tool_call.failed').data.error.message).toContain('not valid JSON');
  });

  it('a redirect from an http tool is not followed', async () => {
    const { api, llm, tools } = await withTools(provider);
    tools.route('/weather', { status: 302, headers: { location: `${tools.url}/internal-secret` } });
    tools.route('/internal-secret', { body: { secret: 'nope' } });
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'X' } }] }, { text: 'ok' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    expect(run.status).toBe('completed');
    expect(tools.requests.map((r) => r.path)).toEqual(['/weather']);
    expect((await allEvents(api, run.id)).find((e) => e.type === 'tool_call.failed').data.error.code).toBe('tool_redirect');
  });

  it('a tool that is not on the agent is denied by policy', async () => {
    const { api, llm } = await setupAgent({ provider });
    cleanups.push(() => llm.close());
    llm.reply({ tool_calls: [{ name: 'rm_rf', arguments: {} }] }, { text: 'ok' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
    const events = await allEvents(api, run.id);
    expect(events.find((e) => e.type === 'policy.decided').data).toMatchObject({ action: 'deny', rule_id: 'tool_not_allowed' });
  });
});
