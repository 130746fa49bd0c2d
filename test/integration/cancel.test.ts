// Cancellation is Temporal's own: it reaches an in-flight model stream or HTTP tool call through
// heartbeats and an AbortSignal, and the run ends `canceled` with its event log saying so.
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { startReceiver } from '../fixtures/webhook-receiver';
import { allEvents, expectError, httpTool, setupAgent, waitFor, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('canceling a run', () => {
  it('during a slow model stream: canceled within 2 s and the provider sees the request aborted', async () => {
    const { api, llm } = await setupAgent();
    const receiver = await startReceiver();
    cleanups.push(() => llm.close(), () => receiver.close());
    expect((await api.post('/v1/webhooks', { url: receiver.url, events: ['run.canceled'] })).status).toBe(201);
    llm.reply({ text: Array.from({ length: 400 }, (_, i) => `word${i}`).join(' '), chunk_delay_ms: 50 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'write a lot' })).body;
    await waitFor(async () => llm.requests.length === 1, 'the model call to start');
    await waitFor(async () => (await api.get(`/v1/runs/${run.id}/events`)).body.data.some((e: { type: string }) => e.type === 'step.started'), 'step.started');
    const requested = Date.now();
    const cancel = await api.post(`/v1/runs/${run.id}/cancel`, { reason: 'user changed their mind' });
    expect(cancel.status).toBe(202);
    expect(cancel.body.cancel_reason).toBe('user changed their mind');
    const done = await waitForStatus(api, run.id, ['canceled'], 10_000);
    const elapsed = Date.now() - requested;
    await waitFor(async () => llm.requests[0]!.aborted, 'the provider to see the request aborted', 15_000);
    expect(done.status).toBe('canceled');
    expect(done.error).toBeNull();
    expect(done.cancel_reason).toBe('user changed their mind');
    expect(elapsed).toBeLessThan(2_000 + 1_000); // contract: within 2 s; polling granularity added
    const events = await allEvents(api, run.id);
    expect(events[events.length - 1].type).toBe('run.canceled');
    const again = await api.post(`/v1/runs/${run.id}/cancel`, { reason: 'another reason' });
    expectError(again, 409, 'conflict_error', 'run_not_active');
    expect((await api.get(`/v1/runs/${run.id}`)).body.cancel_reason).toBe('user changed their mind');
    // The run.canceled webhook carries the run with its reason.
    await waitFor(async () => receiver.received.length === 1, 'the run.canceled delivery');
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'run.canceled', data: { id: run.id, status: 'canceled', cancel_reason: 'user changed their mind' } });
  });

  it('during a slow HTTP tool: canceled within 2 s and the tool server sees the request aborted', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => tools.close());
    tools.route('/slow', { delay_ms: 30_000, body: { late: true } });
    await httpTool(api, 'slow_lookup', `${tools.url}/slow`);
    await api.patch('/v1/agents/assistant', { tools: ['slow_lookup'] });
    llm.reply({ tool_calls: [{ name: 'slow_lookup', arguments: { city: 'X' } }] }, { text: 'should not be asked' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'look it up' })).body;
    await waitFor(async () => tools.requests.length === 1, 'the tool request to arrive');
    // Hostile cancel bodies are refused and leave the run running, without a reason.
    for (const body of [{ reason: 'x'.repeat(1001) }, { reason: 42 }, { reason: ['a'] }, { reason: 'ok', force: true }, { reason: 'nul\u0000' }]) {
      expectError(await api.post(`/v1/runs/${run.id}/cancel`, body), 400, 'invalid_request_error', 'validation_failed');
    }
    expect((await api.get(`/v1/runs/${run.id}`)).body).toMatchObject({ status: 'running', cancel_reason: null });
    const requested = Date.now();
    expect((await api.post(`/v1/runs/${run.id}/cancel`, {})).status).toBe(202);
    const done = await waitForStatus(api, run.id, ['canceled'], 10_000);
    const elapsed = Date.now() - requested;
    await waitFor(async () => tools.requests[0]!.aborted, 'the tool server to see the request aborted', 15_000);
    expect(tools.requests[0]!.finished).toBe(false);
    expect(elapsed).toBeLessThan(3_000);
    expect(llm.requests).toHaveLength(1);
    expect(done.cancel_reason).toBeNull();
    const types = (await allEvents(api, run.id)).map((e) => e.type);
    expect(types).toContain('tool_call.started');
    expect(types[types.length - 1]).toBe('run.canceled');
    // The session is free again, and its transcript holds no dangling tool request.
    const messages = await api.get(`/v1/sessions/${run.session_id}/messages`);
    expect(messages.body.data.map((m: { role: string }) => m.role)).toEqual(['user']);
  });
});
