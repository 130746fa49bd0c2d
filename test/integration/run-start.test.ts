// How a run starts (issue 18): when its session has no earlier unfinished run, the API loads the run's
// context at create and gives it to the workflow with the start, so the run reaches its model call
// without the beginRun local activity; a run that has to wait for its session loads its context when
// its turn comes, and then sees what the earlier run said.
import { describe, expect, it } from 'vitest';
import { historyText, setupAgent, waitFor, waitForStatus } from '../support/api';

const userTexts = (body: Record<string, unknown>): string[] =>
  (body.messages as { role: string; content: unknown }[]).filter((m) => m.role === 'user').map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));

describe('run start', () => {
  it('a run in an idle session starts with the context the API loaded: no beginRun, same model request', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'Hello.' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi there', wait: true })).body;
      expect(run.status).toBe('completed');
      expect(run.output_text).toBe('Hello.');
      const history = await historyText(api, run.id);
      expect(history).not.toContain('beginRun');
      expect(history).toContain('callModel');
      expect(userTexts(llm.requests[0]!.body).some((t) => t.includes('hi there'))).toBe(true);
    } finally {
      await llm.close();
    }
  }, 60_000);

  it('a run queued behind another of its session loads its context when its turn comes, with the earlier run in it', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'First answer.', delay_ms: 1500 }, { text: 'Second answer.' });
      const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
      const first = (await api.post(`/v1/sessions/${session.id}/runs`, { input: 'first question' })).body;
      await waitFor(async () => llm.requests.length > 0, 'the first model call');
      const second = (await api.post(`/v1/sessions/${session.id}/runs`, { input: 'second question', if_busy: 'enqueue' })).body;
      expect(second.status).toBe('queued');
      await waitForStatus(api, second.id, ['completed']);
      expect((await api.get(`/v1/runs/${first.id}`)).body.status).toBe('completed');
      // The second model call carries the first run's exchange: its context was loaded after the first run ended.
      const texts = JSON.stringify(llm.requests[1]!.body.messages);
      expect(texts).toContain('first question');
      expect(texts).toContain('First answer.');
      expect(texts).toContain('second question');
      expect(await historyText(api, second.id)).toContain('beginRun');
      expect(await historyText(api, first.id)).not.toContain('beginRun');
    } finally {
      await llm.close();
    }
  }, 60_000);
});
