// The event stream: resume with Last-Event-ID sees every stored event once and in order, and an API
// process other than the one that created the run (a separate Node process) streams its live events.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { anotherApi } from '../support/pair';
import type { ApProcess } from '../support/processes';
import { allEvents, Api, env, httpTool, readSse, setupAgent, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const streamUrl = (base: string, runId: string, q = '') => `${base}/v1/runs/${runId}/events${q}`;

async function slowToolRun() {
  const tools = await startToolServer();
  const s = await setupAgent();
  cleanups.push(() => s.llm.close(), () => tools.close());
  tools.route('/w', { delay_ms: 150, body: { temp: 20 } });
  await httpTool(s.api, 'weather', `${tools.url}/w`);
  await s.api.patch('/v1/agents/assistant', { tools: ['weather'] });
  s.llm.reply(
    { text: 'checking', chunk_delay_ms: 20, tool_calls: [{ name: 'weather', arguments: { city: 'A' } }] },
    { tool_calls: [{ name: 'weather', arguments: { city: 'B' } }], delay_ms: 100 },
    { tool_calls: [{ name: 'weather', arguments: { city: 'C' } }], delay_ms: 100 },
    { text: 'all done now', chunk_delay_ms: 20 },
  );
  return s;
}

describe('SSE', () => {
  it('a client that disconnects after every 3rd event and resumes with Last-Event-ID receives every event exactly once, in order', async () => {
    const { api } = await slowToolRun();
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go' })).body;
    const received: number[] = [];
    let last: string | undefined;
    let reconnects = 0;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(streamUrl(env().apiUrl, run.id), {
        headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
      });
      expect(res.status).toBe(200);
      let count = 0;
      const msgs = await readSse(res, (m) => m.id !== undefined && ++count === 3);
      for (const m of msgs) if (m.id !== undefined) received.push(Number(m.id));
      const lastMsg = msgs.filter((m) => m.id !== undefined).pop();
      if (lastMsg) last = lastMsg.id;
      if (msgs.some((m) => m.event === 'run.completed')) break;
      reconnects++;
    }
    const stored = await allEvents(api, run.id);
    expect(reconnects).toBeGreaterThan(3);
    expect(received).toEqual(stored.map((e) => e.seq));
    expect(received).toEqual(received.map((_, i) => i + 1));
  });

  it('JSON pages and ?after_seq give the same events; include=deltas adds message.delta frames', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'alpha beta gamma delta', chunk_delay_ms: 40, delay_ms: 300 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go' })).body;
    const res = await fetch(streamUrl(env().apiUrl, run.id, '/stream?include=deltas'), { headers: { 'x-api-key': api.key } });
    const msgs = await readSse(res);
    expect(msgs.filter((m) => m.event === 'message.delta').map((m) => JSON.parse(m.data).data.text).join('')).toBe('alpha beta gamma delta');
    const page = await api.get(`/v1/runs/${run.id}/events?after_seq=2&limit=3`);
    expect(page.body.data.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5]);
    expect(page.body).toMatchObject({ object: 'list', has_more: true, next_after_seq: 5 });
    const replay = await fetch(streamUrl(env().apiUrl, run.id, '?after_seq=4'), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream' } });
    const after = (await readSse(replay)).filter((m) => m.id !== undefined);
    expect(Number(after[0]!.id)).toBe(5);
    expect(after.some((m) => m.event === 'message.delta')).toBe(false);
    // Resuming after the terminal event ends the stream at once instead of waiting forever.
    const lastId = after[after.length - 1]!.id!;
    const resumedAtEnd = await fetch(streamUrl(env().apiUrl, run.id), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream', 'last-event-id': lastId } });
    expect((await readSse(resumedAtEnd)).filter((m) => m.id !== undefined)).toEqual([]);
  });

  it('sends a `: keepalive` comment every 15 s while nothing happens', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'late', delay_ms: 60_000 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go' })).body;
    const res = await fetch(streamUrl(env().apiUrl, run.id), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(': keepalive\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('event: run.started');
    expect(text).toContain(': keepalive\n\n');
    await api.post(`/v1/runs/${run.id}/cancel`, {});
    await waitForStatus(api, run.id, ['canceled']);
  }, 40_000);

  it('an API process that shuts down ends its streams with a comment; the client resumes on another process', async () => {
    const { proc: leaving, port } = await anotherApi('api-leaving');
    cleanups.push(() => leaving.kill('SIGKILL'));
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'slowly streamed answer', delay_ms: 2_000 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go' })).body;
    const res = await fetch(streamUrl(`http://127.0.0.1:${port}`, run.id), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: step.started')) text += new TextDecoder().decode((await reader.read()).value);
    await leaving.kill('SIGTERM');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text.trimEnd().endsWith(': server shutting down; reconnect with Last-Event-ID')).toBe(true);
    expect(leaving.child.exitCode).toBe(0);
    const seen = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const rest = await fetch(streamUrl(env().apiUrl, run.id), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream', 'last-event-id': String(seen[seen.length - 1]) } });
    const resumed = (await readSse(rest)).filter((m) => m.id !== undefined).map((m) => Number(m.id));
    expect([...seen, ...resumed]).toEqual([...seen, ...resumed].map((_, i) => i + 1));
    expect(resumed.length).toBeGreaterThan(0);
  });

  it('an API process killed (SIGKILL) mid-stream: the client resumes on another process and receives exactly 1..N', async () => {
    const { proc: doomed, port } = await anotherApi('api-killed');
    cleanups.push(() => doomed.kill('SIGKILL'));
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    llm.reply({ text: 'an answer that arrives after the crash', delay_ms: 2_000 });
    const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go' })).body;
    const res = await fetch(streamUrl(`http://127.0.0.1:${port}`, run.id), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: step.started')) text += new TextDecoder().decode((await reader.read()).value);
    await doomed.kill('SIGKILL');
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(doomed.child.signalCode).toBe('SIGKILL');
    // Only whole frames count: a frame cut by the crash is received again after resuming.
    const whole = text.slice(0, text.lastIndexOf('\n\n') + 2);
    const seen = [...whole.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(seen.length).toBeGreaterThan(0);
    const rest = await fetch(streamUrl(env().apiUrl, run.id), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream', 'last-event-id': String(seen[seen.length - 1]) } });
    const resumed = await readSse(rest);
    const ids = [...seen, ...resumed.filter((m) => m.id !== undefined).map((m) => Number(m.id))];
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(resumed.at(-1)?.event).toBe('run.completed');
    expect((await waitForStatus(api, run.id, ['completed'])).output_text).toBe('an answer that arrives after the crash');
    process.stdout.write(`[sse kill] ${seen.length} events before the SIGKILL, ${ids.length - seen.length} after resuming elsewhere: received 1..${ids.length}, 0 gaps, 0 duplicates\n`);
  });

  describe('a second API process', () => {
    let second: ApProcess;
    let base: string;
    beforeAll(async () => {
      const started = await anotherApi('api-second');
      second = started.proc;
      base = `http://127.0.0.1:${started.port}`;
    });
    afterAll(async () => second?.kill());

    it('streams the live events of a run created through the first process', async () => {
      const { api } = await slowToolRun();
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go' })).body;
      expect(['queued', 'running']).toContain(run.status);
      const res = await fetch(streamUrl(base, run.id, '?include=deltas'), { headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream' } });
      expect(res.status).toBe(200);
      const msgs = await readSse(res);
      const ids = msgs.filter((m) => m.id !== undefined).map((m) => Number(m.id));
      expect(ids).toEqual(ids.map((_, i) => i + 1));
      expect(msgs[msgs.length - 1]!.event).toBe('run.completed');
      expect(msgs.some((m) => m.event === 'message.delta')).toBe(true);
      const viaSecond = new Api(api.key, base);
      expect((await viaSecond.get(`/v1/runs/${run.id}`)).body.status).toBe('completed');
      await waitForStatus(api, run.id, ['completed']);
    });
  });

  it('a session stream over three runs, its API process killed (SIGKILL) during the second: resumed on another process, every session_seq once, in order', async () => {
    const { proc: doomed, port } = await anotherApi('api-session-killed');
    cleanups.push(() => doomed.kill('SIGKILL'));
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const session = (await api.post('/v1/sessions', { agent: 'assistant', if_busy: 'enqueue' })).body;
    llm.reply({ text: 'one', chunk_delay_ms: 20 }, { text: 'two, after the crash', delay_ms: 1_500 }, { text: 'three', chunk_delay_ms: 20 });
    const sessionStream = (base: string, last?: number) =>
      fetch(`${base}/v1/sessions/${session.id}/events${last === undefined ? '?replay=1' : ''}`, {
        headers: { authorization: `Bearer ${api.key}`, accept: 'text/event-stream', ...(last === undefined ? {} : { 'last-event-id': String(last) }) },
      });
    const res = await sessionStream(`http://127.0.0.1:${port}`);
    const runs: string[] = [];
    for (const input of ['first', 'second', 'third']) runs.push((await api.post(`/v1/sessions/${session.id}/runs`, { input, if_busy: 'enqueue' })).body.id as string);
    const reader = res.body!.getReader();
    let text = '';
    // Killed once the second run has started (its model call takes 1.5 s).
    while (!new RegExp(`"run_id":"${runs[1]}","seq":\\d+,"session_seq":\\d+,"type":"step.started"`).test(text)) text += new TextDecoder().decode((await reader.read()).value);
    await doomed.kill('SIGKILL');
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    const seen = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    let completed = 0;
    const rest = await readSse(await sessionStream(env().apiUrl, seen[seen.length - 1]), (m) => m.event === 'run.completed' && JSON.parse(m.data).run_id === runs[2] && ++completed > 0);
    const resumed = rest.filter((m) => m.id !== undefined).map((m) => Number(m.id));
    const all = [...seen, ...resumed];
    expect(all).toEqual(all.map((_, i) => i + 1));
    const log = (await api.get(`/v1/sessions/${session.id}/log`)).body as { session_seq: number; run_id: string; type: string }[];
    expect(log.map((e) => e.session_seq)).toEqual(all);
    // The two queued runs store run.queued in either order; they start, and end, in turn.
    expect(new Set(log.map((e) => e.run_id))).toEqual(new Set(runs));
    expect(log.filter((e) => e.type === 'run.started').map((e) => e.run_id)).toEqual(runs);
    expect(log.filter((e) => e.type === 'run.completed').map((e) => e.run_id)).toEqual(runs);
  });
});
