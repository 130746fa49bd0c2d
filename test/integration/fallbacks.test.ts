// Model provider fallbacks (API.md 12): a primary that answers 429, 5xx or cannot be reached hands the
// step to the agent's next fallback card, which answers, is named by message.completed and is priced with
// its own pricing; a primary that rejects the request (400, 401, 404) fails the step and no fallback is
// asked; a fallback's deltas carry a new attempt (API.md 3.2); and hostile fallback lists are refused.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { canary } from '../support/canaries';
import { allEvents, env, expectError, readSse, setupAgent, waitFor, type Api } from '../support/api';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const BACKUP_PRICING = { input_per_mtok: 10, output_per_mtok: 20 };

interface Fallbacks {
  api: Api;
  primary: FakeLlm;
  backup: FakeLlm;
  backupKey: string;
}

/** An agent on card `fake` (OpenAI wire, pricing 1/2) with the fallback card `backup` (its own provider and pricing). */
async function withFallback(provider: 'openai' | 'anthropic' = 'openai', fallback: { model?: string } = {}): Promise<Fallbacks> {
  const s = await setupAgent({ pricing: true });
  const backup = await startFakeLlm(provider);
  cleanups.push(() => s.llm.close(), () => backup.close());
  const backupKey = canary('backupkey');
  const card = await s.api.post('/v1/model_cards', { id: 'backup', provider, base_url: backup.baseUrl, api_key: backupKey, default_model: 'backup-model', pricing: BACKUP_PRICING });
  expect(card.status).toBe(201);
  const patched = await s.api.patch('/v1/agents/assistant', { model: { card: 'fake', fallbacks: [{ card: 'backup', ...fallback }] } });
  expect(patched.status).toBe(200);
  expect(patched.body.model).toEqual({ card: 'fake', fallbacks: [{ card: 'backup', ...fallback }] });
  return { api: s.api, primary: s.llm, backup, backupKey };
}

const completedOf = async (api: Api, runId: string) => (await allEvents(api, runId)).filter((e) => e.type === 'message.completed').map((e) => e.data);

/** The worker's JSON log lines about a run (any worker process of the suite may have run its activities). */
async function logLinesOf(runId: string, until: (lines: Record<string, any>[]) => boolean): Promise<Record<string, any>[]> {
  const read = () =>
    fs
      .readdirSync(env().logDir)
      .flatMap((f) => fs.readFileSync(path.join(env().logDir, f), 'utf8').split('\n'))
      .filter((l) => l.startsWith('{') && l.includes(runId))
      .map((l) => JSON.parse(l) as Record<string, any>);
  return waitFor(async () => {
    const lines = read();
    return until(lines) ? lines : undefined;
  }, `the worker's log lines of ${runId}`, 10_000);
}

/** A port nothing listens on: connecting is refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A server that accepts connections and resets them at once. */
async function resettingServer(): Promise<string> {
  const server = net.createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1`;
}

describe('model provider fallbacks', () => {
  it.each([503, 429])('a primary that answers %i hands the step to the fallback card, which answers and is priced and named', async (status) => {
    const { api, primary, backup, backupKey } = await withFallback();
    primary.reply({ status });
    backup.reply({ text: 'Answered by the backup.', usage: { input_tokens: 100, output_tokens: 50 } });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
    expect(run).toMatchObject({ status: 'completed', output_text: 'Answered by the backup.', error: null });
    // The backup's pricing (10 / 20 per Mtok), not the primary's (1 / 2).
    const cost = (100 * BACKUP_PRICING.input_per_mtok + 50 * BACKUP_PRICING.output_per_mtok) / 1_000_000;
    expect(run.usage).toMatchObject({ input_tokens: 100, output_tokens: 50, model_calls: 1 });
    expect(run.usage.cost_usd).toBeCloseTo(cost, 12);
    const [completed] = await completedOf(api, run.id);
    expect(completed).toMatchObject({ card: 'backup', model: 'backup-model', usage: { input_tokens: 100, output_tokens: 50 } });
    expect(completed.usage.cost_usd).toBeCloseTo(cost, 12);
    // The primary got exactly the request it failed; the backup got one, with its own key and model.
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
    expect(backup.requests[0]!.headers.authorization).toBe(`Bearer ${backupKey}`);
    expect(backup.requests[0]!.body.model).toBe('backup-model');
    expect(backup.requests[0]!.body.messages).toEqual(primary.requests[0]!.body.messages);

    const lines = await logLinesOf(run.id, (ls) => ls.some((l) => l.msg === 'model call answered by a fallback card'));
    const failed = lines.find((l) => l.msg === 'model call failed: trying the next fallback card');
    expect(failed).toMatchObject({ level: 40, card: 'fake', fallback: 'backup', error: { status, retryable: true } });
    expect(lines.find((l) => l.msg === 'model call answered by a fallback card')).toMatchObject({ level: 40, card: 'backup', model: 'backup-model', failed: [{ card: 'fake', status }] });
    // Status codes only: never the provider's body.
    expect(lines.filter((l) => l.card).map((l) => JSON.stringify(l)).join('\n')).not.toContain(`scripted ${status}`);
  });

  it.each([
    ['refuses connections', async () => `http://127.0.0.1:${await closedPort()}/v1`],
    ['resets connections', resettingServer],
  ])('a primary that %s (no answer at all) hands the step to the fallback card', async (_what, baseUrl) => {
    const { api, backup } = await withFallback();
    // The card is repointed (a rotation, unprobed: the probe would refuse it) at an address that never answers with HTTP.
    expect((await api.post('/v1/model_cards/fake', { base_url: await baseUrl(), probe: false })).status).toBe(200);
    backup.reply({ text: 'The backup is reachable.' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
    expect(run).toMatchObject({ status: 'completed', output_text: 'The backup is reachable.' });
    expect((await completedOf(api, run.id))[0]).toMatchObject({ card: 'backup', model: 'backup-model' });
    const lines = await logLinesOf(run.id, (ls) => ls.some((l) => l.msg === 'model call answered by a fallback card'));
    expect(lines.find((l) => l.card === 'fake' && l.level === 40)).toMatchObject({ error: { status: null, reason: 'unreachable' }, fallback: 'backup' });
  });

  it("a primary that does not start answering within its card's timeout_seconds hands the step to the fallback", async () => {
    const { api, primary, backup } = await withFallback();
    const card = await api.post('/v1/model_cards/fake', { timeout_seconds: 1 });
    expect(card.body.timeout_seconds).toBe(1);
    primary.reply({ text: 'far too late', delay_ms: 8_000 });
    backup.reply({ text: 'The backup answered in time.' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
    expect(run).toMatchObject({ status: 'completed', output_text: 'The backup answered in time.' });
    expect((await completedOf(api, run.id))[0]).toMatchObject({ card: 'backup', model: 'backup-model' });
    expect(primary.requests).toHaveLength(1);
    expect(primary.requests[0]!.aborted).toBe(true);
    const lines = await logLinesOf(run.id, (ls) => ls.some((l) => l.msg === 'model call answered by a fallback card'));
    expect(lines.find((l) => l.card === 'fake' && l.level === 40)).toMatchObject({ error: { status: null, reason: 'unreachable' }, fallback: 'backup' });
    // A card without a timeout of its own waits as before; bad values are refused.
    expectError(await api.post('/v1/model_cards/fake', { timeout_seconds: 0 }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.post('/v1/model_cards/fake', { timeout_seconds: null })).body.timeout_seconds).toBeNull();
  });

  it("a stream that breaks mid-answer falls back, and the fallback's deltas carry a new attempt", async () => {
    const { api, primary, backup } = await withFallback();
    primary.reply({ text: 'Half an answer that never ends', chunk_delay_ms: 40, drop_after_chunks: 3 });
    backup.reply({ text: 'The whole answer.', chunk_delay_ms: 20 });
    const res = await fetch(`${env().apiUrl}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'assistant', input: 'hello', stream: true }),
    });
    expect(res.status).toBe(200);
    const messages = await readSse(res);
    const deltas = messages.filter((m) => m.event === 'message.delta').map((m) => JSON.parse(m.data).data as { step: number; attempt: number; text: string });
    const textOf = (attempt: number) => deltas.filter((d) => d.attempt === attempt).map((d) => d.text).join('');
    expect(textOf(1)).toBe('Half an answer ');
    expect(textOf(2)).toBe('The whole answer.');
    // Every delta of the failed attempt comes before the first of the next: a client discards on a new attempt.
    expect(deltas.map((d) => d.attempt)).toEqual([...deltas.map((d) => d.attempt)].sort((a, b) => a - b));
    expect(deltas.every((d) => d.step === 1)).toBe(true);
    const completed = messages.find((m) => m.event === 'message.completed')!;
    expect(JSON.parse(completed.data).data).toMatchObject({ card: 'backup', message: { content: [{ type: 'output_text', text: 'The whole answer.' }] } });
    expect(primary.requests).toHaveLength(1);
  });

  it('when every card fails, the activity is retried from the primary, and its deltas get the next attempt number', async () => {
    const { api, primary, backup } = await withFallback();
    primary.reply({ status: 502 }, { text: 'The primary is back.', chunk_delay_ms: 10 });
    backup.reply({ status: 503 });
    const res = await fetch(`${env().apiUrl}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'assistant', input: 'hello', stream: true }),
    });
    const messages = await readSse(res);
    const deltas = messages.filter((m) => m.event === 'message.delta').map((m) => JSON.parse(m.data).data);
    // Activity attempt 2, first card of a chain of two: attempt (2 - 1) * 2 + 1.
    expect(new Set(deltas.map((d) => d.attempt))).toEqual(new Set([3]));
    expect(deltas.map((d) => d.text).join('')).toBe('The primary is back.');
    const run = (await api.get(`/v1/runs/${JSON.parse(messages.at(-1)!.data).run_id}`)).body;
    expect(run).toMatchObject({ status: 'completed', output_text: 'The primary is back.' });
    expect((await completedOf(api, run.id))[0]).toMatchObject({ card: 'fake', model: 'fake-model' });
    expect([primary.requests.length, backup.requests.length]).toEqual([2, 1]);
  });

  it.each([400, 401, 404])('a primary that answers %i fails the step with model_error and no fallback card is asked', async (status) => {
    const { api, primary, backup } = await withFallback();
    primary.reply({ status });
    backup.reply({ text: 'must not be used' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
    expect(run.status).toBe('failed');
    expect(run.error.code).toBe('model_error');
    expect(run.error.message).toContain(String(status));
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
  });

  it("the last card's classification holds: a 503 then a fallback's 400 fails the step without a retry", async () => {
    const { api, primary, backup } = await withFallback();
    primary.reply({ status: 503 });
    backup.reply({ status: 400 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
    expect(run).toMatchObject({ status: 'failed', error: { code: 'model_error' } });
    expect(run.error.message).toContain('cards tried: fake 503, backup 400');
    expect([primary.requests.length, backup.requests.length]).toEqual([1, 1]);
  });

  it('an Anthropic-wire fallback answers for an OpenAI-wire primary, with the model it names', async () => {
    const { api, primary, backup, backupKey } = await withFallback('anthropic', { model: 'claude-fallback' });
    primary.reply({ status: 500 });
    backup.reply({ text: 'Claude answers.', usage: { input_tokens: 20, output_tokens: 10 } });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hello', wait: true })).body;
    expect(run).toMatchObject({ status: 'completed', output_text: 'Claude answers.' });
    expect(run.usage.cost_usd).toBeCloseTo((20 * 10 + 10 * 20) / 1_000_000, 12);
    expect((await completedOf(api, run.id))[0]).toMatchObject({ card: 'backup', model: 'claude-fallback', finish_reason: 'end_turn' });
    expect(backup.requests[0]).toMatchObject({ path: '/v1/messages', body: { model: 'claude-fallback', messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }] } });
    expect(backup.requests[0]!.headers['x-api-key']).toBe(backupKey);
    expect(primary.requests).toHaveLength(1);
  });
});

describe('hostile fallback lists', () => {
  it('unknown cards, more than four, and wrong shapes are refused with 400; the agent is unchanged', async () => {
    const { api, backup } = await withFallback();
    const before = (await api.get('/v1/agents/assistant')).body;

    const unknown = await api.patch('/v1/agents/assistant', { model: { card: 'fake', fallbacks: [{ card: 'backup' }, { card: 'nope' }] } });
    expectError(unknown, 400, 'invalid_request_error', 'validation_failed');
    expect(unknown.body.error.param).toBe('model.fallbacks[1].card');
    const created = await api.post('/v1/agents', { name: 'other', model: { card: 'fake', fallbacks: [{ card: 'nope' }] } });
    expectError(created, 400, 'invalid_request_error', 'validation_failed');
    expect(created.body.error.param).toBe('model.fallbacks[0].card');
    expect((await api.get('/v1/agents/other')).status).toBe(404);

    const five = await api.patch('/v1/agents/assistant', { model: { card: 'fake', fallbacks: Array.from({ length: 5 }, () => ({ card: 'backup' })) } });
    expectError(five, 400, 'invalid_request_error', 'validation_failed');
    expect(five.body.error.param).toBe('model.fallbacks');

    const shapes: unknown[] = ['backup', { card: 'backup' }, null, [null], ['backup'], [{}], [{ card: '' }], [{ card: 42 }], [{ card: 'backup', model: '' }], [{ card: 'backup', extra: true }], [{ card: 'x'.repeat(65) }]];
    for (const fallbacks of shapes) {
      const res = await api.patch('/v1/agents/assistant', { model: { card: 'fake', fallbacks } });
      expect({ fallbacks, status: res.status, code: res.body.error?.code }).toEqual({ fallbacks, status: 400, code: 'validation_failed' });
      expect(res.body.error.param).toMatch(/^model\.fallbacks/);
    }
    const after = (await api.get('/v1/agents/assistant')).body;
    expect({ version: after.version, model: after.model }).toEqual({ version: before.version, model: before.model });

    // Four is the limit, not an error; a card may follow itself with another model.
    const four = [{ card: 'backup' }, { card: 'fake', model: 'other-model' }, { card: 'backup', model: 'b2' }, { card: 'fake' }];
    const ok = await api.patch('/v1/agents/assistant', { model: { card: 'fake', fallbacks: four } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ version: before.version + 1, model: { card: 'fake', fallbacks: four } });
    expect(backup.requests).toHaveLength(0);
  });
});

// A Chat Completions client cannot discard an attempt's text as a run stream's client does (API.md 3.2):
// what the OpenAI-compatible stream sends is the stored answer, or it ends saying it is not
// (src/services/streamed-answer.ts).
describe('the OpenAI-compatible stream when a model call breaks off mid-answer', () => {
  const chatStream = async (api: Api) => {
    const client = new OpenAI({ apiKey: api.key, baseURL: `${env().apiUrl}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hello' }], stream: true });
    let text = '';
    let runId = '';
    try {
      for await (const chunk of stream) {
        runId ||= chunk.id.replace(/^chatcmpl-/, '');
        text += chunk.choices[0]?.delta?.content ?? '';
      }
    } catch (error) {
      return { text, runId, error };
    }
    return { text, runId, error: undefined };
  };

  it('a fallback that repeats the broken start streams on from where the client is: the text is the answer once', async () => {
    const { api, primary, backup } = await withFallback();
    primary.reply({ text: 'The whole answer, at last.', chunk_delay_ms: 40, drop_after_chunks: 2 });
    backup.reply({ text: 'The whole answer, at last.', chunk_delay_ms: 20 });
    const { text, runId, error } = await chatStream(api);
    expect(error).toBeUndefined();
    // Before: 'The whole The whole answer, at last.'
    expect(text).toBe('The whole answer, at last.');
    expect((await completedOf(api, runId))[0]).toMatchObject({ card: 'backup' });
  });

  it('a fallback that answers differently ends the stream with stream_interrupted; the run goes on to its answer', async () => {
    const { api, primary, backup } = await withFallback();
    primary.reply({ text: 'Half an answer that never ends', chunk_delay_ms: 40, drop_after_chunks: 3 });
    backup.reply({ text: 'Something else entirely.', chunk_delay_ms: 20 });
    const { text, runId, error } = await chatStream(api);
    // Before: no error, and the text 'Half an answer Something else entirely.'
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ type: 'api_error', code: 'stream_interrupted' });
    expect((error as Error).message).toContain(`GET /v1/runs/${runId}`);
    expect(text).toBe('Half an answer ');
    const run = await waitFor(async () => {
      const r = (await api.get(`/v1/runs/${runId}`)).body;
      return r.status === 'completed' ? r : undefined;
    }, 'the run to complete');
    expect(run.output_text).toBe('Something else entirely.');
  });
});
