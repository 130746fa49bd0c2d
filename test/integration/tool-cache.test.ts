// Tool result caching (API.md 16, issue 20 item 6): a read tool with cache_ttl_seconds answers an
// identical call (same definition, arguments and end user, within the TTL) from the stored result, with
// `cached: true` on tool_call.completed; write tools cannot set a TTL and errors are never stored.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { allEvents, env, expectError, httpTool, setupAgent, waitFor, type AgentSetup, type Res } from '../support/api';
import { purgeEndedRuns } from '../../src/services/retention';
import { createSecretBox } from '../../src/security/secrets';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
// Only for the retention purge, which is a worker's job, not an API call.
let db: pg.Pool;
beforeAll(() => {
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
});

/** A workspace whose agent has the read tool `lookup` (answering with a counter) with the given TTL. */
async function cachedLookup(ttl: number): Promise<AgentSetup & { tools: ToolServer; hits: () => number }> {
  const tools = await startToolServer();
  const s = await setupAgent({ tools: [] });
  cleanups.push(() => s.llm.close(), () => tools.close());
  let n = 0;
  tools.route('/lookup', { body: (r: { body: unknown }) => ({ city: (r.body as { city: string }).city, answer: ++n }) });
  await httpTool(s.api, 'lookup', `${tools.url}/lookup`, { cache_ttl_seconds: ttl });
  expect((await s.api.patch('/v1/agents/assistant', { tools: ['lookup'] })).status).toBe(200);
  return { ...s, tools, hits: () => tools.requests.filter((r) => r.path === '/lookup').length };
}

/** One run that calls `lookup` once; its tool_call.completed (or .failed) event. */
async function lookupOnce(s: AgentSetup, city: string, where: { session?: string } = {}): Promise<{ type: string; run_id: string; data: Record<string, any> }> {
  s.llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city } }] }, { text: 'Done.' });
  const res = where.session
    ? await s.api.post(`/v1/sessions/${where.session}/runs`, { input: `Look up ${city}`, wait: true })
    : await s.api.post('/v1/runs', { agent: 'assistant', input: `Look up ${city}`, wait: true });
  expect(res.body.status).toBe('completed');
  const events = await allEvents(s.api, res.body.id);
  return events.find((e) => e.type === 'tool_call.completed' || e.type === 'tool_call.failed');
}

const session = async (s: AgentSetup, user_reference?: string): Promise<string> =>
  (await s.api.post('/v1/sessions', { agent: 'assistant', ...(user_reference ? { user_reference } : {}) })).body.id;

describe('tool result caching', () => {
  it('an identical call within the TTL is answered from the cache, with cached: true; other arguments call the tool', async () => {
    const s = await cachedLookup(3600);
    const first = await lookupOnce(s, 'Berlin');
    expect(first).toMatchObject({ type: 'tool_call.completed', data: { output: { city: 'Berlin', answer: 1 } } });
    expect(first.data.cached).toBeUndefined();
    const second = await lookupOnce(s, 'Berlin');
    expect(second).toMatchObject({ type: 'tool_call.completed', data: { name: 'lookup', output: first.data.output, cached: true } });
    expect(s.hits()).toBe(1);
    // The model got the stored answer as the tool result.
    expect(JSON.stringify(s.llm.requests.at(-1)!.body)).toContain('\\"answer\\":1');
    const other = await lookupOnce(s, 'Paris');
    expect(other.data).toMatchObject({ output: { city: 'Paris', answer: 2 } });
    expect(other.data.cached).toBeUndefined();
    expect(s.hits()).toBe(2);
  });

  it("one end user is never served another's answer: each user_reference (and none) has its own", async () => {
    const s = await cachedLookup(3600);
    const [alice, bob, nobody, alice2] = [await session(s, 'alice'), await session(s, 'bob'), await session(s), await session(s, 'alice')];
    expect((await lookupOnce(s, 'Berlin', { session: alice })).data.output.answer).toBe(1);
    expect((await lookupOnce(s, 'Berlin', { session: bob })).data).toMatchObject({ output: { answer: 2 } });
    expect((await lookupOnce(s, 'Berlin', { session: nobody })).data).toMatchObject({ output: { answer: 3 } });
    expect(s.hits()).toBe(3);
    // The same user in another session is the same end user.
    expect((await lookupOnce(s, 'Berlin', { session: alice2 })).data).toMatchObject({ output: { answer: 1 }, cached: true });
    expect(s.hits()).toBe(3);
  });

  it('an updated tool, another environment variable or a rotated vault secret calls the tool again', async () => {
    const s = await cachedLookup(3600);
    await lookupOnce(s, 'Berlin');
    expect((await lookupOnce(s, 'Berlin')).data.cached).toBe(true);
    // The definition changed: an older definition's answer is never served.
    expect((await s.api.patch('/v1/tools/lookup', { description: 'Looks up a city' })).status).toBe(200);
    expect((await lookupOnce(s, 'Berlin')).data).toMatchObject({ output: { answer: 2 } });
    expect((await lookupOnce(s, 'Berlin')).data).toMatchObject({ output: { answer: 2 }, cached: true });
    expect(s.hits()).toBe(2);

    // Headers naming an environment variable and a vault secret: each value of theirs is another call.
    await s.api.post('/v1/vault', { name: 'lookup_token', value: 'token-one-1234' });
    const headers = { 'x-stage': '{{env.STAGE}}', authorization: 'Bearer {{vault.lookup_token}}' };
    expect((await s.api.patch('/v1/tools/lookup', { executor: { type: 'http', url: `${s.tools.url}/lookup`, headers } })).status).toBe(200);
    await s.api.post('/v1/environments', { name: 'blue', variables: { STAGE: 'blue' } });
    await s.api.post('/v1/environments', { name: 'green', variables: { STAGE: 'green' } });
    const blue = (await s.api.post('/v1/sessions', { agent: 'assistant', environment: 'blue' })).body.id;
    const green = (await s.api.post('/v1/sessions', { agent: 'assistant', environment: 'green' })).body.id;
    expect((await lookupOnce(s, 'Berlin', { session: blue })).data).toMatchObject({ output: { answer: 3 } });
    expect((await lookupOnce(s, 'Berlin', { session: green })).data).toMatchObject({ output: { answer: 4 } });
    expect((await lookupOnce(s, 'Berlin', { session: blue })).data).toMatchObject({ output: { answer: 3 }, cached: true });
    expect((await s.api.post('/v1/vault/lookup_token', { value: 'token-two-5678' })).status).toBe(200);
    expect((await lookupOnce(s, 'Berlin', { session: blue })).data).toMatchObject({ output: { answer: 5 } });
    expect(s.tools.requests.at(-1)!.headers).toMatchObject({ 'x-stage': 'blue', authorization: 'Bearer token-two-5678' });
    expect(s.hits()).toBe(5);
  });

  it('after the TTL the tool is called again', async () => {
    const s = await cachedLookup(1);
    await lookupOnce(s, 'Berlin');
    // The entry was stored before the run completed, so it has expired one TTL after this.
    const stored = Date.now();
    await waitFor(async () => Date.now() - stored > 1_100, 'the TTL to pass');
    const again = await lookupOnce(s, 'Berlin');
    expect(again.data).toMatchObject({ output: { answer: 2 } });
    expect(again.data.cached).toBeUndefined();
    expect(s.hits()).toBe(2);
  });

  it('a failed call is not cached', async () => {
    const s = await cachedLookup(3600);
    s.tools.route('/lookup', { status: 404, body: { error: 'no such city' } });
    expect((await lookupOnce(s, 'Atlantis')).type).toBe('tool_call.failed');
    s.tools.route('/lookup', { body: { city: 'Atlantis', found: true } });
    const second = await lookupOnce(s, 'Atlantis');
    expect(second).toMatchObject({ type: 'tool_call.completed', data: { output: { found: true } } });
    expect(second.data.cached).toBeUndefined();
    expect(s.hits()).toBe(2);
    expect((await lookupOnce(s, 'Atlantis')).data.cached).toBe(true);
  });

  it("a retention purge and a session delete take their runs' cached answers with them", async () => {
    const s = await cachedLookup(3600);
    await lookupOnce(s, 'Berlin');
    const workspaceId = (await s.api.get('/v1/workspaces/current')).body.id as string;
    expect(await purgeEndedRuns(db, createSecretBox([Buffer.from(env().masterKey, 'base64')]).audit, 0, workspaceId)).toBe(1);
    const afterPurge = await lookupOnce(s, 'Berlin', { session: await session(s) });
    expect(afterPurge.data).toMatchObject({ output: { answer: 2 } });
    expect(afterPurge.data.cached).toBeUndefined();
    const runs = (await s.api.get('/v1/runs?limit=10')).body.data as { id: string; session_id: string }[];
    const producer = runs.find((r) => r.id === afterPurge.run_id)!;
    expect((await s.api.delete(`/v1/sessions/${producer.session_id}`)).status).toBe(200);
    expect((await lookupOnce(s, 'Berlin')).data).toMatchObject({ output: { answer: 3 } });
    expect(s.hits()).toBe(3);
  });

  it('cache_ttl_seconds is refused on write, client and built-in tools, and outside 1..86400', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const url = 'https://tools.example.com/x';
    const refused = async (res: Res) => {
      expectError(res, 400, 'invalid_request_error', 'validation_failed');
      expect(res.body.error.param).toBe('cache_ttl_seconds');
    };
    await refused(await api.post('/v1/tools', { name: 'w', effect: 'write', executor: { type: 'http', url }, cache_ttl_seconds: 60 }));
    await refused(await api.post('/v1/tools', { name: 'c', effect: 'read', executor: { type: 'client' }, cache_ttl_seconds: 60 }));
    await refused(await api.post('/v1/tools', { name: 't', effect: 'read', executor: { type: 'builtin', name: 'current_time' }, cache_ttl_seconds: 60 }));
    for (const ttl of [0, 86_401, 1.5]) await refused(await api.post('/v1/tools', { name: 'r', effect: 'read', executor: { type: 'http', url }, cache_ttl_seconds: ttl }));

    const created = await api.post('/v1/tools', { name: 'r', effect: 'read', executor: { type: 'http', url }, cache_ttl_seconds: 86_400 });
    expect(created.status).toBe(201);
    expect(created.body.cache_ttl_seconds).toBe(86_400);
    // An update that makes the tool a write while it keeps its TTL is refused; removing the TTL with it is not.
    await refused(await api.patch('/v1/tools/r', { effect: 'write' }));
    expect((await api.get('/v1/tools/r')).body).toMatchObject({ effect: 'read', cache_ttl_seconds: 86_400 });
    const write = await api.patch('/v1/tools/r', { effect: 'write', cache_ttl_seconds: null });
    expect(write.status).toBe(200);
    expect(write.body.effect).toBe('write');
    expect(write.body).not.toHaveProperty('cache_ttl_seconds');
    await refused(await api.patch('/v1/tools/r', { cache_ttl_seconds: 60 }));
    // As in an imported bundle.
    const bundle = { object: 'agent_bundle', format: 1, agent: { name: 'imported', model: { card: 'fake' }, tools: ['w'] }, tools: [{ name: 'w', effect: 'write', executor: { type: 'http', url }, cache_ttl_seconds: 60 }], model_cards: ['fake'], vault: [] };
    const imported = await api.post('/v1/imports', { bundle });
    expectError(imported, 400, 'invalid_request_error', 'validation_failed');
    expect(imported.body.error.param).toBe('bundle.tools[0].cache_ttl_seconds');
  });
});
