// Memory stores (API.md 11, issue 10 item 3): semantic search ranks by the embeddings of the store's
// model card (the fake provider's scripted vectors), full-text search ranks the matching entries; an agent
// with memory searches it (the result reaches the next model input) and writes to it only once a human
// approved; hostile input stores nothing; another workspace's store is 404; a deleted store takes its entries.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgvectorInstalled, searchByVector } from '../../src/db/memory';
import { allEvents, Api, env, expectError, newWorkspace, setupAgent, waitForStatus, type AgentSetup, type Res } from '../support/api';

/** One dimension per keyword (and a constant one, so that no text gets a zero vector). */
const KEYWORDS = ['refund', 'shipping', 'password', 'invoice'];
const vectorOf = (text: string): number[] => [...KEYWORDS.map((k) => (text.toLowerCase().match(new RegExp(k, 'g')) ?? []).length), 0.1];

let s: AgentSetup;
let db: pg.Pool;
const key = async (api: Api, roles: string[]) => new Api((await api.post('/v1/api_keys', { name: roles.join('-'), roles })).body.key);
const texts = (res: Res) => (res.body.data as { text: string }[]).map((e) => e.text);
const rowsOf = async (ws: string): Promise<{ stores: number; entries: number }> =>
  (
    await db.query<{ stores: number; entries: number }>(
      'SELECT (SELECT count(*)::int FROM memory_stores WHERE workspace_id = $1) AS stores, (SELECT count(*)::int FROM memory_entries WHERE workspace_id = $1) AS entries',
      [ws],
    )
  ).rows[0]!;

beforeAll(async () => {
  s = await setupAgent();
  s.llm.embed((text) => (text.includes('explode') ? { status: 503 } : text.includes('forbidden') ? { status: 401 } : vectorOf(text)));
  db = new pg.Pool({ connectionString: env().databaseUrl, max: 2 });
});
afterAll(async () => {
  await s?.llm.close();
  await db?.end();
});

describe('memory stores', () => {
  it("semantic search ranks the entry nearest to the query first, embedding through the card's /embeddings with its model", async () => {
    const store = await s.api.post('/v1/memory_stores', { name: 'kb', embedding: { card: 'fake', model: 'embed-small' } });
    expect(store.status).toBe(201);
    expect(store.body).toMatchObject({ object: 'memory_store', name: 'kb', embedding: { card: 'fake', model: 'embed-small' } });
    expect(store.body.id).toMatch(/^mem_[0-9a-f]{32}$/);
    const before = s.llm.embeddingRequests.length;
    const docs = ['Refunds are paid back within 30 days of the refund request.', 'Shipping takes three days; express shipping one.', 'Reset your password from the settings page.'];
    for (const text of docs) {
      const e = await s.api.post(`/v1/memory_stores/${store.body.id}/entries`, { text, metadata: { source: 'faq' } });
      expect(e.status).toBe(201);
      expect(e.body).toMatchObject({ object: 'memory_entry', store_id: store.body.id, text, metadata: { source: 'faq' }, run_id: null });
      expect(e.body.id).toMatch(/^mement_[0-9a-f]{32}$/);
      expect(e.body).not.toHaveProperty('embedding');
    }

    const found = await s.api.post('/v1/memory_stores/kb/search', { query: 'when is my shipping here?' });
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ object: 'list', mode: 'semantic', has_more: false, next_cursor: null });
    expect(texts(found)[0]).toBe(docs[1]);
    const scores = (found.body.data as { score: number }[]).map((e) => e.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(scores[0]).toBeGreaterThan(0.9);
    const refund = await s.api.post(`/v1/memory_stores/${store.body.id}/search`, { query: 'I want a refund', limit: 1 });
    expect(texts(refund)).toEqual([docs[0]]);

    // Five calls (three entries, two queries), each with the store's model and the card's key, one text each.
    const calls = s.llm.embeddingRequests.slice(before);
    expect(calls.map((c) => [c.path, c.body.model, c.body.input])).toEqual([
      ...docs.map((d) => ['/v1/embeddings', 'embed-small', d]),
      ['/v1/embeddings', 'embed-small', 'when is my shipping here?'],
      ['/v1/embeddings', 'embed-small', 'I want a refund'],
    ]);
    expect(calls.every((c) => c.headers.authorization === `Bearer ${s.apiKeyCanary}`)).toBe(true);
    for (const res of [store, found, refund, await s.api.get('/v1/memory_stores/kb/entries')]) expect(JSON.stringify(res.body)).not.toContain(s.apiKeyCanary);
    const stored = await db.query<{ embedding: number[] }>('SELECT embedding FROM memory_entries WHERE store_id = $1', [store.body.id]);
    expect(stored.rows.map((r) => r.embedding.length)).toEqual([5, 5, 5]);
  });

  it('cosine similarity in SQL equals the exact value, with pgvector where it is installed', async () => {
    const api = await newWorkspace('memory-cosine');
    const ws = (await api.get('/v1/workspaces/current')).body.id;
    const store = (await db.query<{ id: string }>("INSERT INTO memory_stores (id, workspace_id, name) VALUES ('mem_cosine_' || md5(random()::text), $1, 'cosine') RETURNING id", [ws])).rows[0]!.id;
    const vectors = [[1, 0, 0], [0.6, 0.8, 0], [0, 0, 2], [-1, 0.1, 0]];
    for (const [i, v] of vectors.entries()) {
      await db.query("INSERT INTO memory_entries (id, workspace_id, store_id, text, embedding) VALUES ($1, $2, $3, $4, $5::real[])", [`mement_c${i}`, ws, store, `v${i}`, v]);
    }
    const query = [1, 0.3, 0]; // no two entries tie
    const cos = (a: number[], b: number[]) => a.reduce((n, x, i) => n + x * b[i]!, 0) / (Math.hypot(...a) * Math.hypot(...b));
    const expected = vectors.map((v, i) => ({ text: `v${i}`, score: cos(v, query) })).sort((x, y) => y.score - x.score);
    const modes = [false, ...((await pgvectorInstalled(db)) ? [true] : [])];
    process.stdout.write(`[memory] pgvector ${modes.length > 1 ? 'installed: both rankings checked' : 'not installed: cosine in SQL checked'}\n`);
    for (const pgvector of modes) {
      const rows = await searchByVector(db, store, query, 10, pgvector);
      expect(rows.map((r) => r.text)).toEqual(expected.map((e) => e.text));
      rows.forEach((r, i) => expect(r.score).toBeCloseTo(expected[i]!.score, 5));
      // Another dimension is never compared (a store's model gives one).
      expect(await searchByVector(db, store, [1, 0], 10, pgvector)).toEqual([]);
    }
  });

  it('without an embedding card, full text ranks the matching entries and leaves out the others', async () => {
    const before = s.llm.embeddingRequests.length;
    const store = (await s.api.post('/v1/memory_stores', { name: 'notes' })).body;
    expect(store.embedding).toBeNull();
    const docs = ['The office closes at 6 pm on Fridays.', 'Invoices are sent on the first of the month; unpaid invoices are reminded after a week.', 'The office dog is called Rex.', 'Lunch is at noon.'];
    for (const text of docs) expect((await s.api.post('/v1/memory_stores/notes/entries', { text })).status).toBe(201);

    const invoice = await s.api.post('/v1/memory_stores/notes/search', { query: 'invoice' });
    expect(invoice.body.mode).toBe('full_text');
    expect(texts(invoice)).toEqual([docs[1]]); // stemmed: "invoice" finds "Invoices"
    expect(invoice.body.data[0].score).toBeGreaterThan(0);
    const office = await s.api.post('/v1/memory_stores/notes/search', { query: 'office' });
    expect(texts(office).sort()).toEqual([docs[0], docs[2]].sort());
    expect(texts(await s.api.post('/v1/memory_stores/notes/search', { query: 'office friday' }))).toEqual([docs[0]]);
    expect(texts(await s.api.post('/v1/memory_stores/notes/search', { query: 'office -dog' }))).toEqual([docs[0]]);
    // The entry with the query's word twice ranks above the one with it once.
    await s.api.post('/v1/memory_stores/notes/entries', { text: 'Lunch menus: lunch is soup, lunch is bread.' });
    expect(texts(await s.api.post('/v1/memory_stores/notes/search', { query: 'lunch' }))[0]).toBe('Lunch menus: lunch is soup, lunch is bread.');
    expect((await s.api.post('/v1/memory_stores/notes/search', { query: 'zebra' })).body.data).toEqual([]);
    expect(s.llm.embeddingRequests.length).toBe(before);
  });

  it('an agent with memory searches it and writes to it only after a human approved the write', { timeout: 120_000 }, async () => {
    const store = (await s.api.post('/v1/memory_stores', { name: 'customers', embedding: { card: 'fake', model: 'embed-small' } })).body;
    expect((await s.api.post('/v1/memory_stores/customers/entries', { text: "Ada's refund for order 7 was approved on May 2." })).status).toBe(201);
    expect((await s.api.post('/v1/memory_stores/customers/entries', { text: 'Bob changed his password twice.' })).status).toBe(201);
    const agent = await s.api.post('/v1/agents', { name: 'rememberer', model: { card: 'fake' }, instructions: 'You help customers.', memory: { store: 'customers', write: true } });
    expect(agent.status).toBe(201);
    expect(agent.body).toMatchObject({ memory: { store: 'customers', write: true }, tools: [] });

    const before = s.llm.requests.length;
    s.llm.reply(
      { tool_calls: [{ name: 'memory_search', arguments: { query: 'Ada refund', limit: 1 } }] },
      { tool_calls: [{ name: 'memory_write', arguments: { text: 'Ada asked about shipping for order 7 on May 3.', metadata: { customer: 'ada' } } }] },
      { text: 'Your refund was approved; I noted your shipping question.' },
    );
    const run = await s.api.post('/v1/runs', { agent: 'rememberer', input: 'Where is my refund? And when does order 7 ship?' });
    expect(run.status).toBe(202);
    const parked = await waitForStatus(s.api, run.body.id, ['waiting_approval', 'failed', 'completed']);
    expect(parked.status).toBe('waiting_approval');
    expect(parked.pending_approvals[0].tool_call).toMatchObject({ name: 'memory_write', arguments: { text: 'Ada asked about shipping for order 7 on May 3.' } });

    // The model was offered both tools, and the search result is in its next input.
    const [first, second] = s.llm.requests.slice(before).map((r) => r.body as { messages: { role: string; content: string }[]; tools?: { function: { name: string } }[] });
    expect(first!.tools!.map((t) => t.function.name).sort()).toEqual(['memory_search', 'memory_write']);
    const result = JSON.parse(second!.messages.find((m) => m.role === 'tool')!.content) as { store: string; results: { text: string; score: number }[] };
    expect(result.store).toBe('customers');
    expect(result.results.map((r) => r.text)).toEqual(["Ada's refund for order 7 was approved on May 2."]);

    // Not written before the approval ...
    const entries = async () => texts(await s.api.get(`/v1/memory_stores/${store.id}/entries`));
    expect(await entries()).not.toContain('Ada asked about shipping for order 7 on May 3.');
    const approver = await key(s.api, ['approver']);
    expect((await approver.post(`/v1/approvals/${parked.pending_approvals[0].id}/approve`, {})).status).toBe(200);
    const done = await waitForStatus(s.api, run.body.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    // ... and once after it, newest first, with the run and tool call it came from.
    const list = await s.api.get(`/v1/memory_stores/${store.id}/entries`);
    expect(list.body.data[0]).toMatchObject({ text: 'Ada asked about shipping for order 7 on May 3.', metadata: { customer: 'ada' }, run_id: run.body.id, tool_call_id: parked.pending_approvals[0].tool_call.id });
    expect(list.body.data).toHaveLength(3);
    // It is searchable like any entry.
    expect(texts(await s.api.post('/v1/memory_stores/customers/search', { query: 'shipping', limit: 1 }))).toEqual(['Ada asked about shipping for order 7 on May 3.']);

    const events = await allEvents(s.api, run.body.id);
    const decided = events.filter((e) => e.type === 'policy.decided').map((e) => [e.data.name, e.data.action]);
    expect(decided).toEqual([['memory_search', 'allow'], ['memory_write', 'require_approval']]);
    const completed = events.filter((e) => e.type === 'tool_call.completed').map((e) => e.data.name);
    expect(completed).toEqual(['memory_search', 'memory_write']);
    expect(JSON.stringify(events)).not.toContain(s.apiKeyCanary);
  });

  it('an agent without write gets memory_search only; agents cannot name an unknown or foreign store', async () => {
    const api = await newWorkspace('memory-agents');
    const a = await setupAgent({ api });
    try {
      const own = (await api.post('/v1/memory_stores', { name: 'mine' })).body;
      await api.post('/v1/memory_stores/mine/entries', { text: 'The wifi password is on the fridge.' });
      const foreign = (await s.api.get('/v1/memory_stores/notes')).body;
      for (const store of ['nope', foreign.id, 'notes']) {
        const res = await api.post('/v1/agents', { name: `reader-${store.length}`, model: { card: 'fake' }, memory: { store } });
        expectError(res, 400, 'invalid_request_error', 'unknown_memory_store');
        expect(res.body.error.param).toBe('memory.store');
      }
      expectError(await api.patch('/v1/agents/assistant', { memory: { store: foreign.id } }), 400, 'invalid_request_error', 'unknown_memory_store');
      const patched = await api.patch('/v1/agents/assistant', { memory: { store: own.id } });
      expect(patched.body.memory).toEqual({ store: own.id, write: false });

      a.llm.reply({ tool_calls: [{ name: 'memory_write', arguments: { text: 'sneaky' } }, { name: 'memory_search', arguments: { query: 'wifi password' } }] }, { text: 'done' });
      const run = await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true });
      expect(run.body.status).toBe('completed');
      expect((a.llm.requests[0]!.body.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual(['memory_search']);
      const events = await allEvents(api, run.body.id);
      expect(events.find((e) => e.type === 'tool_call.failed' && e.data.name === 'memory_write')).toBeTruthy();
      expect(events.find((e) => e.type === 'tool_call.completed')?.data.output.results[0].text).toBe('The wifi password is on the fridge.');
      expect(texts(await api.get('/v1/memory_stores/mine/entries'))).toEqual(['The wifi password is on the fridge.']);

      // memory: null removes it; a run then offers no memory tool.
      expect((await api.patch('/v1/agents/assistant', { memory: null })).body.memory).toBeNull();
      a.llm.reply({ text: 'bye' });
      expect((await api.post('/v1/runs', { agent: 'assistant', input: 'again', wait: true })).body.status).toBe('completed');
      expect(a.llm.requests.at(-1)!.body.tools).toBeUndefined();
    } finally {
      await a.llm.close();
    }
  });

  it('hostile input on every write path is refused and stores nothing', async () => {
    const api = await newWorkspace('memory-hostile');
    const h = await setupAgent({ api });
    try {
      h.llm.embed((text) => (text.includes('explode') ? { status: 503 } : text.includes('forbidden') ? { status: 401 } : text.includes('zero') ? [0, 0] : [1, 2]));
      const ws = (await api.get('/v1/workspaces/current')).body.id;
      await api.post('/v1/model_cards', { id: 'claude', provider: 'anthropic', api_key: 'sk-ant-x', default_model: 'claude', probe: false });
      const sem = (await api.post('/v1/memory_stores', { name: 'sem', embedding: { card: 'fake', model: 'e' } })).body;
      const fts = (await api.post('/v1/memory_stores', { name: 'fts' })).body;
      // The limit is inclusive: exactly 32 KiB is an entry.
      expect((await api.post('/v1/memory_stores/fts/entries', { text: 'x'.repeat(32 * 1024) })).status).toBe(201);
      const before = await rowsOf(ws);

      const huge = 'x'.repeat(32 * 1024 + 1);
      const cases: [string, string, unknown, number, string, string?][] = [
        ['store: no name', '/v1/memory_stores', {}, 400, 'validation_failed', 'name'],
        ['store: name a number', '/v1/memory_stores', { name: 5 }, 400, 'validation_failed', 'name'],
        ['store: bad name', '/v1/memory_stores', { name: '../x' }, 400, 'validation_failed', 'name'],
        ['store: long name', '/v1/memory_stores', { name: 'n'.repeat(65) }, 400, 'validation_failed', 'name'],
        ['store: unknown field', '/v1/memory_stores', { name: 'x', dimensions: 3 }, 400, 'validation_failed'],
        ['store: taken name', '/v1/memory_stores', { name: 'sem' }, 409, 'already_exists', 'name'],
        ['store: unknown card', '/v1/memory_stores', { name: 'x', embedding: { card: 'nope', model: 'm' } }, 400, 'validation_failed', 'embedding.card'],
        ['store: anthropic card', '/v1/memory_stores', { name: 'x', embedding: { card: 'claude', model: 'm' } }, 400, 'validation_failed', 'embedding.card'],
        ['store: no model', '/v1/memory_stores', { name: 'x', embedding: { card: 'fake' } }, 400, 'validation_failed', 'embedding.model'],
        ['store: embedding a string', '/v1/memory_stores', { name: 'x', embedding: 'fake' }, 400, 'validation_failed', 'embedding'],
        ['store: array body', '/v1/memory_stores', [{ name: 'x' }], 400, 'validation_failed'],
        ['entry: no text', '/v1/memory_stores/fts/entries', {}, 400, 'validation_failed', 'text'],
        ['entry: text a number', '/v1/memory_stores/fts/entries', { text: 5 }, 400, 'validation_failed', 'text'],
        ['entry: text an array', '/v1/memory_stores/fts/entries', { text: ['a'] }, 400, 'validation_failed', 'text'],
        ['entry: empty', '/v1/memory_stores/fts/entries', { text: '' }, 400, 'validation_failed', 'text'],
        ['entry: blank', '/v1/memory_stores/fts/entries', { text: ' \n\t ' }, 400, 'validation_failed', 'text'],
        ['entry: oversize', '/v1/memory_stores/fts/entries', { text: huge }, 400, 'validation_failed', 'text'],
        ['entry: oversize in bytes', '/v1/memory_stores/fts/entries', { text: 'é'.repeat(16 * 1024 + 1) }, 400, 'validation_failed', 'text'],
        ['entry: NUL', '/v1/memory_stores/fts/entries', { text: 'a\u0000b' }, 400, 'validation_failed', 'text'],
        ['entry: metadata a string', '/v1/memory_stores/fts/entries', { text: 'ok', metadata: 'x' }, 400, 'validation_failed', 'metadata'],
        ['entry: metadata 51 keys', '/v1/memory_stores/fts/entries', { text: 'ok', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, 400, 'validation_failed', 'metadata'],
        ['entry: metadata > 16 KiB', '/v1/memory_stores/fts/entries', { text: 'ok', metadata: { big: 'y'.repeat(17_000) } }, 400, 'validation_failed', 'metadata'],
        ['entry: unknown field', '/v1/memory_stores/fts/entries', { text: 'ok', embedding: [1, 2] }, 400, 'validation_failed'],
        ['entry: no such store', '/v1/memory_stores/nope/entries', { text: 'ok' }, 404, 'not_found', 'id'],
        ['entry: provider down', '/v1/memory_stores/sem/entries', { text: 'explode' }, 503, 'embedding_unavailable'],
        ['entry: provider refuses', '/v1/memory_stores/sem/entries', { text: 'forbidden' }, 400, 'embedding_failed'],
        ['entry: provider sends a zero vector', '/v1/memory_stores/sem/entries', { text: 'zero' }, 400, 'embedding_failed'],
        ['search: no query', '/v1/memory_stores/fts/search', {}, 400, 'validation_failed', 'query'],
        ['search: query a number', '/v1/memory_stores/fts/search', { query: 5 }, 400, 'validation_failed', 'query'],
        ['search: long query', '/v1/memory_stores/fts/search', { query: 'q'.repeat(4097) }, 400, 'validation_failed', 'query'],
        ['search: limit 0', '/v1/memory_stores/fts/search', { query: 'x', limit: 0 }, 400, 'validation_failed', 'limit'],
        ['search: limit 51', '/v1/memory_stores/fts/search', { query: 'x', limit: 51 }, 400, 'validation_failed', 'limit'],
        ['search: limit a string', '/v1/memory_stores/fts/search', { query: 'x', limit: '10' }, 400, 'validation_failed', 'limit'],
        ['search: unknown field', '/v1/memory_stores/fts/search', { query: 'x', store: 'sem' }, 400, 'validation_failed'],
        ['search: provider down', '/v1/memory_stores/sem/search', { query: 'explode' }, 503, 'embedding_unavailable'],
      ];
      const wrong: string[] = [];
      for (const [name, path, body, status, code, param] of cases) {
        const res = await api.post(path, body);
        if (res.status !== status || res.body?.error?.code !== code || (param !== undefined && res.body.error.param !== param)) {
          wrong.push(`${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
        if (JSON.stringify(res.body).includes(h.apiKeyCanary)) wrong.push(`${name}: the key is in the answer`);
      }
      expect(wrong).toEqual([]);
      const down = await api.post('/v1/memory_stores/sem/entries', { text: 'explode' });
      expect(down.headers.get('retry-after')).toBe('5');
      expectError(await api.call('POST', '/v1/memory_stores/fts/entries', '{"text": "unterminated'), 400, 'invalid_request_error', 'invalid_json');
      expectError(await api.call('POST', '/v1/memory_stores/fts/entries', 'text=x', { 'content-type': 'text/plain' }), 415, 'invalid_request_error', 'unsupported_media_type');
      expect(await rowsOf(ws)).toEqual(before);
      expect((await api.get(`/v1/memory_stores/${sem.id}/entries`)).body.data).toEqual([]);
      expect((await api.get(`/v1/memory_stores/${fts.id}/entries`)).body.data).toHaveLength(1);
    } finally {
      await h.llm.close();
    }
  });

  it("another workspace's store is 404 on every route, and roles decide who writes", async () => {
    const owner = await newWorkspace('memory-owner');
    const store = (await owner.post('/v1/memory_stores', { name: 'private' })).body;
    const entry = (await owner.post(`/v1/memory_stores/${store.id}/entries`, { text: 'secret plans' })).body;
    const before = await rowsOf((await owner.get('/v1/workspaces/current')).body.id);
    const intruder = await newWorkspace('memory-intruder');
    for (const ref of [store.id, 'private']) {
      for (const res of [
        await intruder.get(`/v1/memory_stores/${ref}`),
        await intruder.delete(`/v1/memory_stores/${ref}`),
        await intruder.get(`/v1/memory_stores/${ref}/entries`),
        await intruder.post(`/v1/memory_stores/${ref}/entries`, { text: 'planted' }),
        await intruder.delete(`/v1/memory_stores/${ref}/entries/${entry.id}`),
        await intruder.post(`/v1/memory_stores/${ref}/search`, { query: 'secret' }),
      ]) {
        expectError(res, 404, 'not_found_error', 'not_found');
      }
    }
    expect((await intruder.get('/v1/memory_stores')).body.data).toEqual([]);
    // An entry id of another store of one's own workspace is 404 too.
    const mine = (await intruder.post('/v1/memory_stores', { name: 'mine' })).body;
    expectError(await intruder.delete(`/v1/memory_stores/${mine.id}/entries/${entry.id}`), 404, 'not_found_error', 'not_found');
    expect(await rowsOf((await owner.get('/v1/workspaces/current')).body.id)).toEqual(before);

    // Developers write and delete entries and search; auditors read; approvers see nothing; only admins manage stores.
    const [dev, auditor, approver] = [await key(owner, ['developer']), await key(owner, ['auditor']), await key(owner, ['approver'])];
    const added = await dev.post('/v1/memory_stores/private/entries', { text: 'dev note' });
    expect(added.status).toBe(201);
    expect((await dev.post('/v1/memory_stores/private/search', { query: 'note' })).body.data).toHaveLength(1);
    expect((await auditor.get('/v1/memory_stores/private/entries')).body.data).toHaveLength(2);
    expect((await auditor.post('/v1/memory_stores/private/search', { query: 'plans' })).body.data).toHaveLength(1);
    for (const res of [
      await dev.post('/v1/memory_stores', { name: 'devs' }),
      await dev.delete('/v1/memory_stores/private'),
      await auditor.post('/v1/memory_stores/private/entries', { text: 'x' }),
      await auditor.delete(`/v1/memory_stores/private/entries/${added.body.id}`),
      await approver.get('/v1/memory_stores'),
      await approver.post('/v1/memory_stores/private/search', { query: 'x' }),
    ]) {
      expectError(res, 403, 'permission_error', 'permission_denied');
    }
    expect((await dev.delete(`/v1/memory_stores/private/entries/${added.body.id}`)).body).toEqual({ id: added.body.id, object: 'memory_entry', deleted: true });
  });

  it('entries page newest first; deleting an entry or the store removes them', async () => {
    const api = await newWorkspace('memory-delete');
    const store = (await api.post('/v1/memory_stores', { name: 'temp' })).body;
    const ids: string[] = [];
    for (const text of ['one', 'two', 'three']) ids.push((await api.post('/v1/memory_stores/temp/entries', { text })).body.id);
    const page1 = await api.get('/v1/memory_stores/temp/entries?limit=2');
    expect(page1.body).toMatchObject({ object: 'list', has_more: true, next_cursor: ids[1] });
    expect(texts(page1)).toEqual(['three', 'two']);
    const page2 = await api.get(`/v1/memory_stores/temp/entries?limit=2&after=${page1.body.next_cursor}`);
    expect(page2.body).toMatchObject({ has_more: false, next_cursor: null });
    expect(texts(page2)).toEqual(['one']);
    expect((await api.get('/v1/memory_stores')).body.data.map((m: { name: string }) => m.name)).toEqual(['temp']);
    expect((await api.get(`/v1/memory_stores/${store.id}`)).body).toEqual(store);

    expect((await api.delete(`/v1/memory_stores/temp/entries/${ids[0]}`)).status).toBe(200);
    expectError(await api.delete(`/v1/memory_stores/temp/entries/${ids[0]}`), 404, 'not_found_error', 'not_found');
    expect(texts(await api.get('/v1/memory_stores/temp/entries'))).toEqual(['three', 'two']);

    expect((await api.delete('/v1/memory_stores/temp')).body).toEqual({ id: store.id, object: 'memory_store', deleted: true });
    expectError(await api.get(`/v1/memory_stores/${store.id}`), 404, 'not_found_error', 'not_found');
    expectError(await api.get('/v1/memory_stores/temp/entries'), 404, 'not_found_error', 'not_found');
    expect((await db.query('SELECT count(*)::int AS n FROM memory_entries WHERE store_id = $1', [store.id])).rows[0].n).toBe(0);
    // The name is free again.
    expect((await api.post('/v1/memory_stores', { name: 'temp' })).status).toBe(201);
  });
});
