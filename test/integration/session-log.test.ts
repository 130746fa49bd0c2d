// The session event log (API.md 16, issue 20 item 1) through the public API: an OMA-style client that
// treats the session as the unit, posts turns with POST /messages and reads one log across runs.
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import type { SseMessage } from '../../src/providers/sse-decoder';
import { Api, env, expectError, newWorkspace, readSse, setupAgent, waitFor, waitForStatus, type AgentSetup } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function agent(opts: { api?: Api } = {}): Promise<AgentSetup> {
  const s = await setupAgent(opts);
  cleanups.push(() => s.llm.close());
  return s;
}

/** An agent with a write tool: a call of it waits for a person (the default write policy). */
async function governedAgent(): Promise<AgentSetup> {
  const tools = await startToolServer();
  const s = await agent();
  cleanups.push(() => tools.close());
  tools.route('/tickets', { body: { ticket: 'T-1' } });
  expect((await s.api.post('/v1/tools', { name: 'create_ticket', effect: 'write', input_schema: { type: 'object', properties: { title: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/tickets` } })).status).toBe(201);
  await s.api.patch('/v1/agents/assistant', { tools: ['create_ticket'] });
  return s;
}

const sse = (api: Api, path: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${env().apiUrl}${path}`, { method: 'GET', headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream', ...headers }, ...(signal ? { signal } : {}) });

const postSse = (api: Api, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${env().apiUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const stored = (messages: SseMessage[]) => messages.filter((m) => m.id !== undefined).map((m) => JSON.parse(m.data));
const deltaText = (messages: SseMessage[]) => messages.filter((m) => m.event === 'message.delta').map((m) => JSON.parse(m.data).data.text).join('');
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the session event log', () => {
  it('an OMA-style conversation: two turns posted as messages, one gapless log, resumed with after_seq, a paused turn, cancel', async () => {
    const { api, llm } = await governedAgent();
    const session = (await api.post('/v1/sessions', { agent: 'assistant', title: 'support chat' })).body;
    expect(session).toMatchObject({ object: 'session', status: 'idle', if_busy: 'reject' });

    // Turn 1: the answer streams, deltas included, and the stream ends by itself once the session is idle.
    llm.reply({ text: 'Hello Ada, how can I help?', chunk_delay_ms: 5 });
    const first = await postSse(api, `/v1/sessions/${session.id}/messages`, { content: 'Hi, I am Ada.' });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toContain('text/event-stream');
    const runA = first.headers.get('location')!.replace('/v1/runs/', '');
    const turn1 = await readSse(first);
    expect(deltaText(turn1)).toBe('Hello Ada, how can I help?');
    const events1 = stored(turn1);
    expect(events1.map((e) => e.session_seq)).toEqual(range(1, events1.length));
    expect(turn1.filter((m) => m.id !== undefined).map((m) => Number(m.id))).toEqual(range(1, events1.length));
    expect(events1.every((e) => e.run_id === runA && e.object === 'run.event')).toBe(true);
    expect(events1.map((e) => e.seq)).toEqual(range(1, events1.length));
    expect(events1[events1.length - 1].type).toBe('run.completed');
    expect((await api.get(`/v1/sessions/${session.id}`)).body.status).toBe('idle');

    // Turn 2 in the same session: the log goes on where the first run's events ended.
    llm.reply({ text: 'Your name is Ada.' });
    const second = await postSse(api, `/v1/sessions/${session.id}/messages`, { content: [{ type: 'input_text', text: 'What is my name?' }] });
    const runB = second.headers.get('location')!.replace('/v1/runs/', '');
    const events2 = stored(await readSse(second));
    expect(events2.map((e) => e.session_seq)).toEqual(range(events1.length + 1, events1.length + events2.length));
    expect(events2.every((e) => e.run_id === runB)).toBe(true);
    expect(events2.map((e) => e.seq)).toEqual(range(1, events2.length));
    expect(JSON.stringify(llm.requests[1]!.body)).toContain('Hello Ada, how can I help?');

    // The JSON pages: resumed after a session_seq, and newest first.
    const total = events1.length + events2.length;
    const resumed = (await api.get(`/v1/sessions/${session.id}/events?after_seq=${events1.length - 2}&limit=3`)).body;
    expect(resumed).toMatchObject({ object: 'list', has_more: true, next_after_seq: events1.length + 1 });
    expect(resumed.data.map((e: { session_seq: number }) => e.session_seq)).toEqual(range(events1.length - 1, events1.length + 1));
    const rest = (await api.get(`/v1/sessions/${session.id}/events?after_seq=${resumed.next_after_seq}&limit=1000`)).body;
    expect(rest.has_more).toBe(false);
    expect(rest.data.map((e: { id: string }) => e.id)).toEqual(events2.slice(1).map((e) => e.id));
    const newest = (await api.get(`/v1/sessions/${session.id}/events?order=desc&limit=2`)).body;
    expect(newest.data.map((e: { session_seq: number }) => e.session_seq)).toEqual([total, total - 1]);
    const older = (await api.get(`/v1/sessions/${session.id}/events?order=desc&limit=2&after_seq=${newest.next_after_seq}`)).body;
    expect(older.data.map((e: { session_seq: number }) => e.session_seq)).toEqual([total - 2, total - 3]);

    // The whole log as one array: the same events as the two streams, in order.
    const whole = await api.get(`/v1/sessions/${session.id}/log`);
    expect(whole.status).toBe(200);
    expect(whole.body.map((e: { id: string }) => e.id)).toEqual([...events1, ...events2].map((e) => e.id));

    // Turn 3 calls the write tool: the stream ends once the run waits for a person.
    llm.reply({ tool_calls: [{ name: 'create_ticket', arguments: { title: 'Printer on fire' } }] }, { text: 'Filed.' });
    const third = await postSse(api, `/v1/sessions/${session.id}/messages`, { content: 'File a ticket.' });
    const runC = third.headers.get('location')!.replace('/v1/runs/', '');
    const events3 = stored(await readSse(third));
    expect(events3.map((e) => e.session_seq)).toEqual(range(total + 1, total + events3.length));
    expect(events3.map((e) => e.type)).toContain('approval.requested');
    expect(events3[events3.length - 1]).toMatchObject({ type: 'run.status_changed', data: { to: 'waiting_approval' } });
    expect((await api.get(`/v1/sessions/${session.id}`)).body.status).toBe('waiting');
    const waiting = (await api.get('/v1/sessions?status=waiting')).body.data;
    expect(waiting.map((s: { id: string }) => s.id)).toEqual([session.id]);
    expect((await api.get('/v1/sessions?status=idle')).body.data).toEqual([]);

    // A new message while the run waits: the session's if_busy (reject) applies.
    expectError(await api.post(`/v1/sessions/${session.id}/events`, { events: [{ type: 'user.message', content: 'hello?' }] }), 409, 'conflict_error', 'session_busy');

    // Cancel the session's active run: the log ends that run with run.canceled.
    const canceled = await api.post(`/v1/sessions/${session.id}/cancel`, { reason: 'user left' });
    expect(canceled.status).toBe(202);
    expect(canceled.body).toMatchObject({ object: 'run', id: runC });
    await waitForStatus(api, runC, ['canceled']);
    const last = (await api.get(`/v1/sessions/${session.id}/events?order=desc&limit=1`)).body.data[0];
    expect(last).toMatchObject({ run_id: runC, type: 'run.canceled' });
    expect((await api.get(`/v1/sessions/${session.id}`)).body.status).toBe('idle');
    expectError(await api.post(`/v1/sessions/${session.id}/cancel`, {}), 409, 'conflict_error', 'session_idle');

    // Every stored event of the session, across its three runs, has its own number: 1..n, none twice.
    const log = (await api.get(`/v1/sessions/${session.id}/log`)).body as { session_seq: number; run_id: string }[];
    expect(log.map((e) => e.session_seq)).toEqual(range(1, log.length));
    expect([...new Set(log.map((e) => e.run_id))]).toEqual([runA, runB, runC]);
    // Run event reads carry session_seq too.
    const runEvents = (await api.get(`/v1/runs/${runB}/events`)).body.data;
    expect(runEvents.map((e: { session_seq: number }) => e.session_seq)).toEqual(events2.map((e) => e.session_seq));
  });

  it('a live stream tails from now (deltas with include=deltas), replays with ?replay=1, resumes with Last-Event-ID; fire-and-forget messages queue by the session default', async () => {
    const { api, llm } = await agent();
    const session = (await api.post('/v1/sessions', { agent: 'assistant', if_busy: 'enqueue' })).body;
    expect(session.if_busy).toBe('enqueue');
    llm.reply({ text: 'first answer' });
    const done = await api.post(`/v1/sessions/${session.id}/runs`, { input: 'one', wait: true });
    expect(done.body.status).toBe('completed');
    const before = (await api.get(`/v1/sessions/${session.id}/events?limit=1000`)).body.data.length;

    // A tail opened now sees nothing of the first run, then every event of the next two, in order.
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    const tail = await sse(api, `/v1/sessions/${session.id}/events?include=deltas`, {}, abort.signal);
    expect(tail.status).toBe(200);
    llm.reply({ text: 'second answer', chunk_delay_ms: 30 }, { text: 'third answer' });
    const posted = await api.post(`/v1/sessions/${session.id}/events`, { events: [{ type: 'user.message', content: 'two' }] });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ session_id: session.id, run_id: expect.stringMatching(/^run_/) });
    // Queued behind the second run (the session's if_busy is enqueue), not refused.
    const queued = await api.post(`/v1/sessions/${session.id}/events`, { events: [{ type: 'user.message', content: 'three' }, { type: 'user.message', content: 'and four' }] });
    expect(queued.status).toBe(202);
    let ended = 0;
    const live = await readSse(tail, (m) => m.event === 'run.completed' && ++ended === 2);
    const liveEvents = stored(live);
    expect(liveEvents.map((e) => e.session_seq)).toEqual(range(before + 1, before + liveEvents.length));
    expect([...new Set(liveEvents.map((e) => e.run_id))]).toEqual([posted.body.run_id, queued.body.run_id]);
    expect(deltaText(live)).toContain('second answer');
    expect(JSON.stringify(llm.requests[2]!.body)).toContain('and four');

    // Replay from the start, and resume after an id.
    const everything = (await api.get(`/v1/sessions/${session.id}/log`)).body as { session_seq: number }[];
    const replay = await readSse(await sse(api, `/v1/sessions/${session.id}/events/stream?replay=1`), (_m, all) => all.filter((x) => x.id).length === everything.length);
    expect(stored(replay).map((e) => e.session_seq)).toEqual(range(1, everything.length));
    const resume = await readSse(await sse(api, `/v1/sessions/${session.id}/events/stream`, { 'last-event-id': String(everything.length - 2) }), (_m, all) => all.filter((x) => x.id).length === 2);
    expect(stored(resume).map((e) => e.session_seq)).toEqual([everything.length - 1, everything.length]);
  });

  it('filters sessions by agent_id and status; one-off runs may name an environment; bad input is refused in the documented shape', async () => {
    const { api, llm, agent: a } = await agent();
    const other = await api.post('/v1/agents', { name: 'other', model: { card: 'fake' }, instructions: 'x' });
    expect(other.status).toBe(201);
    const mine = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    const theirs = (await api.post('/v1/sessions', { agent: 'other' })).body;
    expect((await api.get(`/v1/sessions?agent_id=${a.id}`)).body.data.map((s: { id: string }) => s.id)).toEqual([mine.id]);
    expect((await api.get(`/v1/sessions?agent=other`)).body.data.map((s: { id: string }) => s.id)).toEqual([theirs.id]);
    expect((await api.get(`/v1/sessions?status=idle`)).body.data).toHaveLength(2);

    const envCreated = await api.post('/v1/environments', { name: 'staging', variables: { region: 'eu' } });
    expect(envCreated.status).toBe(201);
    llm.reply({ text: 'ok' });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', environment: 'staging', wait: true })).body;
    expect(run.status).toBe('completed');
    expect((await api.get(`/v1/sessions/${run.session_id}`)).body.environment_id).toBe(envCreated.body.id);

    expectError(await api.get(`/v1/sessions/${mine.id}/events?limit=1001`), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.get(`/v1/sessions?status=asleep`), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post(`/v1/sessions/${mine.id}/events`, { events: [{ type: 'user.interrupt' }] }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post(`/v1/sessions/${mine.id}/messages`, { content: '' }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/sessions', { agent: 'assistant', if_busy: 'interrupt' }), 400, 'invalid_request_error', 'validation_failed');
    // Nothing of the refused calls was stored.
    expect((await api.get(`/v1/sessions/${mine.id}/events`)).body.data).toEqual([]);
    expect((await api.get(`/v1/runs?session_id=${mine.id}`)).body.data).toEqual([]);
  });

  it('a messages post with an Idempotency-Key replays the same turn (one run); deleting the session ends its live streams', async () => {
    const { api, llm } = await agent();
    const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    llm.reply({ text: 'only once', chunk_delay_ms: 5 });
    const headers = { 'idempotency-key': 'turn-1' };
    const first = stored(await readSse(await postSse(api, `/v1/sessions/${session.id}/messages`, { content: 'hello' }, headers)));
    const again = await postSse(api, `/v1/sessions/${session.id}/messages`, { content: 'hello' }, headers);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const replayed = stored(await readSse(again));
    expect(replayed.map((e) => e.id)).toEqual(first.map((e) => e.id));
    expect((await api.get(`/v1/runs?session_id=${session.id}`)).body.data).toHaveLength(1);
    expect(llm.requests).toHaveLength(1);

    const tail = await sse(api, `/v1/sessions/${session.id}/events`);
    expect(tail.status).toBe(200);
    const ended = readSse(tail);
    expect((await api.delete(`/v1/sessions/${session.id}`)).status).toBe(200);
    // The stream notices within its poll interval that the session is gone, and ends.
    expect(stored(await ended)).toEqual([]);
  });

  it('another workspace reads, streams, posts to and cancels none of it (404)', async () => {
    const { api, llm } = await agent();
    const session = (await api.post('/v1/sessions', { agent: 'assistant' })).body;
    llm.reply({ text: 'private' });
    await api.post(`/v1/sessions/${session.id}/runs`, { input: 'secret', wait: true });
    const stranger = await newWorkspace('stranger');
    for (const res of [
      await stranger.get(`/v1/sessions/${session.id}/events`),
      await stranger.get(`/v1/sessions/${session.id}/log`),
      await stranger.post(`/v1/sessions/${session.id}/events`, { events: [{ type: 'user.message', content: 'hi' }] }),
      await stranger.post(`/v1/sessions/${session.id}/messages`, { content: 'hi' }),
      await stranger.post(`/v1/sessions/${session.id}/cancel`, {}),
    ]) {
      expectError(res, 404, 'not_found_error', 'not_found');
    }
    const streamed = await sse(stranger, `/v1/sessions/${session.id}/events/stream?replay=1`);
    expect(streamed.status).toBe(404);
    await waitFor(async () => (await api.get(`/v1/sessions/${session.id}`)).body.status === 'idle', 'session idle');
  });
});
