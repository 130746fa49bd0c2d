// The run's event log stays gapless when the events before a model call are stored by that call's
// activity (issue 18, patch 'store-with-activity-v1'): a model call that fails, or a run canceled while
// its model call waits on the provider, still leaves every numbered event stored, in order. (A multi-step
// run's full event sequence is checked in runs.test.ts.)
import { describe, expect, it } from 'vitest';
import { httpTool, setupAgent, waitFor, waitForStatus, type Api } from '../support/api';
import { startToolServer } from '../fixtures/tool-server';

async function eventTypes(api: Api, runId: string): Promise<string[]> {
  const events = (await api.get(`/v1/runs/${runId}/events?limit=100`)).body.data as { seq: number; type: string }[];
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  return events.map((e) => e.type);
}

describe('event log of runs whose model call stores the batch before it', () => {
  it('a model call the provider refuses: every event from run.queued to run.failed is stored, in order', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ status: 400 });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
      expect(run.status).toBe('failed');
      expect(run.error.code).toBe('model_error');
      const types = await eventTypes(api, run.id);
      expect(types[0]).toBe('run.queued');
      expect(types).toContain('run.started');
      expect(types).toContain('step.started');
      expect(types.at(-1)).toBe('run.failed');
    } finally {
      await llm.close();
    }
  }, 60_000);

  it('a run canceled while its model call waits: step.started is stored before run.canceled, no gap', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'late', delay_ms: 20_000 });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi' })).body;
      await waitFor(async () => llm.requests.length > 0, 'the model call');
      expect((await api.post(`/v1/runs/${run.id}/cancel`, {})).status).toBe(202);
      await waitForStatus(api, run.id, ['canceled']);
      const types = await eventTypes(api, run.id);
      expect(types.indexOf('step.started')).toBeGreaterThan(types.indexOf('run.started'));
      expect(types.at(-1)).toBe('run.canceled');
    } finally {
      await llm.close();
    }
  }, 60_000);

  it('a large tool answer is stored by the workflow, not handed to the next model call a second time', async () => {
    const { api, llm } = await setupAgent();
    const tools = await startToolServer();
    try {
      const blob = 'x'.repeat(200_000);
      tools.route('/big', { body: { blob } });
      await httpTool(api, 'big', `${tools.url}/big`);
      expect((await api.patch('/v1/agents/assistant', { tools: ['big'] })).status).toBe(200);
      llm.reply({ tool_calls: [{ name: 'big', arguments: { city: 'A' } }] }, { text: 'done' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
      expect(run.status).toBe('completed');
      const types = await eventTypes(api, run.id);
      expect(types).toContain('tool_call.completed');
      // The second model call's input carries the answer once (in its messages), not again in a batch.
      const raw = JSON.stringify((await api.get(`/v1/runs/${run.id}/history`)).body);
      const history = raw.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_m, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
      const calls = history.split('"callModel"').slice(1);
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls[1]!.split(blob).length - 1).toBe(1);
    } finally {
      await llm.close();
      await tools.close();
    }
  }, 60_000);
});
