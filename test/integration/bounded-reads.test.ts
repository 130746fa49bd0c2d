// What tenant-controlled endpoints answer is read within limits (src/security/bounded-body.ts): a tool,
// a model provider or a webhook receiver answering a huge body costs the worker at most the limit, the
// reader closes the connection, and the run reports a clear error. The bodies are large but finite (see
// test/fixtures/flood.ts), so that code without the limits fails here instead of exhausting memory.
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { startReceiver } from '../fixtures/webhook-receiver';
import { allEvents, httpTool, newWorkspace, setupAgent, waitFor, waitForStatus } from '../support/api';

const MiB = 1024 * 1024;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('bounded reads of tenant-controlled answers', () => {
  it('a tool answering more than 1 MiB: the model reads a tool error, the run goes on, the tool is cut off', async () => {
    const tools = await startToolServer();
    tools.route('/huge', { flood_bytes: 24 * MiB });
    tools.route('/small', { body: { temp_c: 21 } });
    cleanups.push(() => tools.close());
    const api = await newWorkspace();
    await httpTool(api, 'huge', `${tools.url}/huge`);
    await httpTool(api, 'small', `${tools.url}/small`);
    const s = await setupAgent({ api, tools: ['huge', 'small'] });
    cleanups.push(() => s.llm.close());
    s.llm.reply({ tool_calls: [{ name: 'huge', arguments: { city: 'Paris' } }] }, { tool_calls: [{ name: 'small', arguments: { city: 'Paris' } }] }, { text: 'done' });
    const started = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'weather?', wait: true })).body;
    const run = await waitForStatus(s.api, started.id, ['completed', 'failed', 'canceled']);
    expect(run.status).toBe('completed');
    const failed = (await allEvents(s.api, run.id)).filter((e) => e.type === 'tool_call.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].data).toMatchObject({ name: 'huge', error: { code: 'tool_error', message: expect.stringMatching(/more than 1 MiB/) } });
    // The model was told, and the worker still answers the next call.
    expect(JSON.stringify(s.llm.requests[1]!.body)).toMatch(/more than 1 MiB/);
    expect(JSON.stringify(s.llm.requests[2]!.body)).toContain('temp_c');
    expect(tools.requests.find((r) => r.path === '/huge')).toMatchObject({ aborted: true, finished: false });
  });

  it('a model whose output never ends: the run fails with model_error naming the limit', async () => {
    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    s.llm.reply({ flood: { kind: 'text', bytes: 48 * MiB } });
    const started = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'talk', wait: true })).body;
    const run = await waitForStatus(s.api, started.id, ['completed', 'failed', 'canceled']);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'model_error', message: expect.stringMatching(/Model output exceeded 4 MiB/) } });
    // Not retried: the same request would stream the same flood.
    expect(s.llm.requests).toHaveLength(1);
    expect(s.llm.requests[0]!.aborted).toBe(true);
  });

  it('a model stream with one endless line: the run fails with model_error naming the limit', async () => {
    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    s.llm.reply({ flood: { kind: 'line', bytes: 48 * MiB } });
    const started = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'talk', wait: true })).body;
    const run = await waitForStatus(s.api, started.id, ['completed', 'failed', 'canceled']);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'model_error', message: expect.stringMatching(/larger than 1 MiB/) } });
    expect(s.llm.requests[0]!.aborted).toBe(true);
  });

  it('a provider error with a huge body: the error quotes a short excerpt, the body is not read to its end', async () => {
    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    // 500 is retryable: every attempt floods; the test stack's retry policy ends the run.
    s.llm.respond(() => ({ flood: { kind: 'error_body', bytes: 24 * MiB } }));
    const started = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'talk', wait: true })).body;
    const run = await waitForStatus(s.api, started.id, ['completed', 'failed', 'canceled'], 120_000);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(run.error.message).toMatch(/500/);
    expect(run.error.message.length).toBeLessThan(2000);
    expect(s.llm.requests.length).toBeGreaterThan(0);
    expect(s.llm.requests.every((r) => r.aborted)).toBe(true);
  });

  it('a webhook receiver answering a huge body: the delivery succeeds on its status, the rest is not read', async () => {
    const { api, llm } = await setupAgent();
    const receiver = await startReceiver();
    cleanups.push(() => llm.close(), () => receiver.close());
    receiver.floodAnswers(24 * MiB);
    const hook = (await api.post('/v1/webhooks', { url: receiver.url, events: ['run.completed'] })).body;
    llm.reply({ text: 'done' });
    await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true });
    const delivery = await waitFor(async () => {
      const d = (await api.get(`/v1/webhooks/${hook.id}/deliveries`)).body.data[0];
      return d?.status === 'succeeded' ? d : undefined;
    }, 'the delivery to succeed');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ status_code: 200 });
    await waitFor(async () => receiver.abandoned === 1, 'the receiver to see its answer cut off');
  });
});
