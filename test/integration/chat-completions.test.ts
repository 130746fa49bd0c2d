// The OpenAI-compatible endpoint, driven by the official `openai` SDK as its client.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { adminApi, allEvents, env, httpTool, readSse, setupAgent } from '../support/api';
import { holdAuditWrites } from '../support/hold-api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${env().apiUrl}/v1`, maxRetries: 0 });

/** An agent (version 2) with a `weather` tool that always answers 20 degrees. */
async function weatherAgent() {
  const tools = await startToolServer();
  const s = await setupAgent();
  cleanups.push(() => s.llm.close(), () => tools.close());
  tools.route('/w', { body: { temp: 20 } });
  await httpTool(s.api, 'weather', `${tools.url}/w`);
  await s.api.patch('/v1/agents/assistant', { tools: ['weather'] });
  return s;
}

describe('POST /v1/chat/completions', () => {
  it('answers in the Chat Completions format with agent_metadata, through an ordinary run', async () => {
    const { api, llm } = await weatherAgent();
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'Oslo' } }] }, { text: 'It is 20 degrees in Oslo.' });
    const res = await client(api.key).chat.completions.create({
      model: 'assistant',
      messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'Weather in Oslo?' }],
      user: 'user-7',
    });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]!.message.content).toBe('It is 20 degrees in Oslo.');
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.usage?.total_tokens).toBeGreaterThan(0);
    const meta = (res as unknown as { agent_metadata: Record<string, unknown> }).agent_metadata;
    expect(meta).toMatchObject({ agent_name: 'assistant', agent_version: 2, steps_executed: 2, tool_calls: 1, status: 'completed' });
    const run = (await api.get(`/v1/runs/${String(meta.execution_id)}`)).body;
    expect(run.status).toBe('completed');
    expect((await api.get(`/v1/sessions/${run.session_id}`)).body.user_reference).toBe('user-7');
    expect((await allEvents(api, run.id)).map((e) => e.type)).toContain('tool_call.completed');
    expect(JSON.stringify(llm.requests[0]!.body)).toContain('[system] Answer briefly.');
  });

  it('streams chat.completion.chunk frames, the named agent events, and [DONE]', async () => {
    const { api, llm } = await weatherAgent();
    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'Oslo' } }] }, { text: 'Twenty degrees in Oslo today.', chunk_delay_ms: 20 });
    const stream = await client(api.key).chat.completions.create({ model: 'agent:assistant', messages: [{ role: 'user', content: 'Weather?' }], stream: true });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('Twenty degrees in Oslo today.');
    expect(finish).toBe('stop');

    llm.reply({ text: 'Raw reader.' });
    const raw = await fetch(`${env().apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const frames = await readSse(raw);
    const names = frames.map((f) => f.event).filter(Boolean);
    expect(names).toEqual(['agent_start', 'step_start', 'step_complete', 'agent_complete']);
    expect(frames[frames.length - 1]!.data).toBe('[DONE]');
  });

  it('a streamed answer keeps its first tokens when the model answers before the API has replied', async () => {
    // Hostile timing (as in runs.test.ts): the API is held at its audit write after starting the run,
    // while the run streams its whole answer and ends; deltas are never stored.
    const { api, llm, agent } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'one two three four five' });
    const hold = await holdAuditWrites(env().databaseUrl, (await api.get('/v1/workspaces/current')).body.id);
    cleanups.push(() => hold.release());
    const answer = fetch(`${env().apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'count' }], stream: true }),
    });
    await hold.runReaches(agent.id, 'completed');
    await hold.release();
    const frames = await readSse(await answer);
    const text = frames
      .filter((f) => !f.event && f.data !== '[DONE]')
      .map((f) => (JSON.parse(f.data) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe('one two three four five');
    expect(frames[frames.length - 1]!.data).toBe('[DONE]');
  });

  it('a streamed answer asked again with its Idempotency-Key streams the same run and its whole text again', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'Said once, streamed twice.', chunk_delay_ms: 10 });
    const ask = async () => {
      const res = await fetch(`${env().apiUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json', 'idempotency-key': 'chat-replay-1' },
        body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      });
      const chunks = (await readSse(res)).filter((f) => !f.event && f.data !== '[DONE]').map((f) => JSON.parse(f.data) as { id: string; choices: { delta?: { content?: string } }[] });
      return { id: chunks[0]!.id, text: chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('') };
    };
    const first = await ask();
    expect(first.text).toBe('Said once, streamed twice.');
    // The run has ended and its deltas are gone: the replay's text comes from the stored message.completed.
    const again = await ask();
    expect(again).toEqual(first);
    expect(llm.requests).toHaveLength(1);
  });

  it('pauses with finish_reason approval_required when a write tool needs approval', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => tools.close());
    await api.post('/v1/tools', { name: 'refund', effect: 'write', input_schema: { type: 'object', properties: { order: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/r` } });
    await api.patch('/v1/agents/assistant', { tools: ['refund'] });
    llm.reply({ text: 'I will refund it.', tool_calls: [{ name: 'refund', arguments: { order: 'A1' } }] });
    const res = await client(api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'refund A1' }] });
    expect(res.choices[0]!.finish_reason).toBe('approval_required');
    const meta = (res as unknown as { agent_metadata: { status: string; pending_approvals: { tool_call: { name: string } }[] } }).agent_metadata;
    expect(meta.status).toBe('waiting_approval');
    expect(meta.pending_approvals[0]!.tool_call.name).toBe('refund');
  });

  it('errors come as the SDK\'s error classes: 401, 403 (disabled agent), 404 (unknown agent)', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    await api.post('/v1/agents', { name: 'off', model: { card: 'fake' }, enabled: false });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    await expect(client('ap_wrong_key_0000000000000000').chat.completions.create({ model: 'assistant', messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(client(api.key).chat.completions.create({ model: 'off', messages })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    const notFound = await client(api.key).chat.completions.create({ model: 'nobody', messages }).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect((notFound as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('not_found');
  });

  it('a run that fails answers 500 api_error with the run\'s own error code, in the body and as the stream\'s last frame', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    // The model answers 400: the run fails with model_error, without a retry.
    llm.respond(() => ({ status: 400 }));
    const res = await api.post('/v1/chat/completions', { model: 'assistant', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(500);
    expect(res.body.error).toMatchObject({ type: 'api_error', code: 'model_error' });
    const failed = await client(api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .then(async (stream) => {
        for await (const chunk of stream) void chunk;
      })
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ type: 'api_error', code: 'model_error' });
  });
});

describe('GET /v1/models', () => {
  it('lists the enabled agents as models', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    await api.post('/v1/agents', { name: 'off', model: { card: 'fake' }, enabled: false });
    await api.post('/v1/agents', { name: 'second', model: { card: 'fake' } });
    const ids: string[] = [];
    for await (const m of client(api.key).models.list()) ids.push(m.id);
    expect(ids.sort()).toEqual(['assistant', 'second']);
  });
});

describe('Agentlify compatibility (API.md 16): the OpenAI SDK at <host>/api/agents', () => {
  const agentlify = (key: string) => new OpenAI({ apiKey: key, baseURL: `${env().apiUrl}/api/agents`, maxRetries: 0 });

  it('lists the models, streams an answer with a tool call and the named events, and reports a disabled agent as PermissionDeniedError', async () => {
    const { api, llm } = await weatherAgent();
    const models = await agentlify(api.key).models.list();
    expect(models.data.map((m) => m.id)).toContain('assistant');

    llm.reply({ tool_calls: [{ name: 'weather', arguments: { city: 'Oslo' } }] }, { text: 'Twenty degrees in Oslo.' });
    const stream = await agentlify(api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'Weather?' }], stream: true });
    let text = '';
    const named: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      const event = (chunk as unknown as { agent_event?: { type: string } }).agent_event;
      if (event) named.push(event.type);
    }
    expect(text).toBe('Twenty degrees in Oslo.');
    // tool_call_complete: the call's arguments are in, before the tool runs.
    expect(named).toEqual(['agent_start', 'step_start', 'tool_call_complete', 'tool_call_start', 'tool_result', 'step_complete', 'step_start', 'step_complete', 'agent_complete']);

    await api.patch('/v1/agents/assistant', { enabled: false });
    const refused = await agentlify(api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('agent_disabled');
    // The path needs a key like /v1.
    expect((await fetch(`${env().apiUrl}/api/agents/models`)).status).toBe(401);
  });

  it('a skill the model loads is a skill_invocation event with skill_name and success', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    expect((await api.patch('/v1/agents/assistant', { skills: ['platform-guide'] })).status).toBe(200);
    llm.reply({ tool_calls: [{ name: 'load_skill', arguments: { skill: 'platform-guide' } }] }, { text: 'Read it.' });
    const stream = await agentlify(api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'How do I use the platform?' }], stream: true });
    const events: Record<string, unknown>[] = [];
    for await (const chunk of stream) {
      const event = (chunk as unknown as { agent_event?: Record<string, unknown> }).agent_event;
      if (event) events.push(event);
    }
    expect(events.filter((e) => e.type === 'skill_invocation')).toEqual([expect.objectContaining({ skill_name: 'platform-guide', success: true })]);
  });

  it('an unknown agent is NotFoundError, and a workspace at its max_active_runs is RateLimitError with Retry-After', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const unknown = await agentlify(api.key).chat.completions.create({ model: 'nobody', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown).toMatchObject({ status: 404, code: 'not_found', param: 'model' });

    const ws = (await api.get('/v1/workspaces/current')).body.id as string;
    expect((await adminApi().patch(`/v1/workspaces/${ws}`, { max_active_runs: 1 })).status).toBe(200);
    // One run holds the only slot while its model streams slowly.
    llm.reply({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), chunk_delay_ms: 50 });
    const busy = await api.post('/v1/runs', { agent: 'assistant', input: 'hold the slot' });
    expect(busy.status).toBe(202);
    const limited = await agentlify(api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], stream: true }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited).toMatchObject({ status: 429, code: 'too_many_active_runs', type: 'rate_limit_error' });
    expect(Number((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after'))).toBeGreaterThan(0);
    expect((await api.post(`/v1/runs/${busy.body.id}/cancel`, {})).status).toBe(202);
  });

  it("a run that runs out of time is a 408, one that crosses its token limit a 402 budget_error, with the run's code", async () => {
    const slow = await setupAgent({ limits: { timeout_seconds: 1 } });
    cleanups.push(() => slow.llm.close());
    slow.llm.reply({ text: 'too late', delay_ms: 4000 });
    const timedOut = await agentlify(slow.api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(OpenAI.APIError);
    expect(timedOut).toMatchObject({ status: 408, code: 'timeout', type: 'api_error' });

    const costly = await setupAgent({ limits: { max_tokens: 1 } });
    cleanups.push(() => costly.llm.close());
    costly.llm.reply({ text: 'many tokens' });
    const overBudget = await agentlify(costly.api.key).chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(overBudget).toMatchObject({ status: 402, code: 'budget_exceeded', type: 'budget_error' });
  });
});

