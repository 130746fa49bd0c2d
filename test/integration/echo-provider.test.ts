// The `echo` provider (issue 19): a model built into the platform, so that a newcomer without a provider
// key sees a whole run (README, first run): a tool call, an approval, and an answer made from both. No
// provider server exists in this test: the run has nothing to call but the platform itself.
import { describe, expect, it } from 'vitest';
import { Api, env, expectError, newWorkspace, waitForStatus } from '../support/api';

describe('echo provider', () => {
  it('a run with a tool behind an approval: the tool is called once, approved, and the answer quotes both', async () => {
    const api = await newWorkspace();
    const card = await api.post('/v1/model_cards', { id: 'echo', provider: 'echo', default_model: 'echo' });
    expect(card.status).toBe(201);
    expect(card.body).toMatchObject({ id: 'echo', provider: 'echo', api_key_preview: '' });
    expect((await api.post('/v1/tools', { name: 'clock', effect: 'read', executor: { type: 'builtin', name: 'current_time' } })).status).toBe(201);
    const agent = await api.post('/v1/agents', {
      name: 'greeter',
      model: { card: 'echo' },
      tools: ['clock'],
      policy: { rules: [{ id: 'ask-first', match: { tool: 'clock' }, action: 'require_approval', reason: 'a person looks first' }] },
    });
    expect(agent.status).toBe(201);
    const approver = new Api((await api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key, env().apiUrl);

    const run = (await api.post('/v1/runs', { agent: 'greeter', input: 'What time is it?', wait: true })).body;
    expect(run.status).toBe('waiting_approval');
    expect(run.pending_approvals).toHaveLength(1);
    expect(run.pending_approvals[0].tool_call.name).toBe('clock');
    expect((await approver.post(`/v1/approvals/${run.pending_approvals[0].id}/approve`, { comment: 'fine' })).status).toBe(200);
    const done = await waitForStatus(api, run.id, ['completed']);
    expect(done.output_text).toMatch(/^You said: "What time is it\?"\. clock answered \{"now":"\d{4}-\d\d-\d\dT[^"]+"\}\.$/);
    expect(done.usage).toMatchObject({ steps: 2, tool_calls: 1, model_calls: 2 });
    const types = (await api.get(`/v1/runs/${run.id}/events?limit=100`)).body.data.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['tool_call.requested', 'policy.decided', 'approval.requested', 'approval.decided', 'tool_call.started', 'tool_call.completed', 'run.completed']));
  }, 60_000);

  it('without tools answers by quoting the input; card fields that mean nothing for echo are refused', async () => {
    const api = await newWorkspace();
    expect((await api.post('/v1/model_cards', { id: 'echo', provider: 'echo', default_model: 'echo' })).status).toBe(201);
    expect((await api.post('/v1/agents', { name: 'parrot', model: { card: 'echo' } })).status).toBe(201);
    const run = (await api.post('/v1/runs', { agent: 'parrot', input: 'hello there', wait: true })).body;
    expect(run.status).toBe('completed');
    expect(run.output_text).toBe('You said: "hello there".');

    expectError(await api.post('/v1/model_cards', { id: 'e2', provider: 'echo', default_model: 'echo', api_key: 'sk-x' }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/model_cards', { id: 'e3', provider: 'echo', default_model: 'echo', base_url: 'https://example.com' }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/model_cards/echo', { api_key: 'sk-x' }), 400, 'invalid_request_error', 'validation_failed');
    // Every other provider still needs its key.
    const keyless = await api.post('/v1/model_cards', { id: 'o1', provider: 'openai', default_model: 'gpt' });
    expectError(keyless, 400, 'invalid_request_error', 'validation_failed');
    expect(keyless.body.error.param).toBe('api_key');
    expect((await api.get('/v1/model_cards')).body.data.map((c: { id: string }) => c.id)).toEqual(['echo']);
  }, 60_000);
});
