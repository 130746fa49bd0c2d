// Model cards, agents (versions), tools (JSON Schema) and the vault: CRUD, hostile input, and secrets
// that never come back out. Cards naming a real provider are stored with `probe: false`: nothing here calls it.
import crypto from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { canary } from '../support/canaries';
import { env, expectError, newWorkspace, setupAgent, waitFor, waitForStatus } from '../support/api';

describe('model cards', () => {
  it('store the key encrypted and show only a preview; POST rotates', async () => {
    const api = await newWorkspace();
    const key = canary('card');
    const created = await api.post('/v1/model_cards', { id: 'main', provider: 'anthropic', api_key: key, default_model: 'claude-x', probe: false, headers: { 'x-gateway-key': canary('hdr') } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'main', provider: 'anthropic', base_url: 'https://api.anthropic.com', api_key_preview: `…${key.slice(-4)}` });
    expect(JSON.stringify(created.body)).not.toContain('CANARY');
    const rotated = canary('card2');
    const upd = await api.post('/v1/model_cards/main', { api_key: rotated, probe: false });
    expect(upd.body.api_key_preview).toBe(`…${rotated.slice(-4)}`);
    expect(JSON.stringify((await api.get('/v1/model_cards')).body)).not.toContain('CANARY');
    expectError(await api.post('/v1/model_cards', { id: 'main', provider: 'openai', api_key: 'x', default_model: 'm' }), 409, 'conflict_error', 'already_exists');
    expectError(await api.post('/v1/model_cards', { id: 'x', provider: 'gemini', api_key: 'x', default_model: 'm' }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/model_cards', { id: '../etc', provider: 'openai', api_key: 'x', default_model: 'm' }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.get('/v1/model_cards')).body.data.map((c: { id: string }) => c.id)).toEqual(['main']);
    expect((await api.delete('/v1/model_cards/main')).body.deleted).toBe(true);
    expectError(await api.get('/v1/model_cards/main'), 404, 'not_found_error', 'not_found');
  });
});

describe('model cards in use', () => {
  it('a card that an agent (primary or fallback) or a memory store uses is 409 model_card_in_use on DELETE, and stays usable', async () => {
    const api = await newWorkspace();
    for (const id of ['main', 'backup', 'embed']) {
      expect((await api.post('/v1/model_cards', { id, provider: 'openai', base_url: 'https://api.openai.com/v1', api_key: `sk-${id}-key`, default_model: 'gpt-x', probe: false })).status).toBe(201);
    }
    expect((await api.post('/v1/agents', { name: 'primary-user', model: { card: 'main', fallbacks: [{ card: 'backup' }] } })).status).toBe(201);
    expect((await api.post('/v1/agents', { name: 'fallback-user', model: { card: 'embed', fallbacks: [{ card: 'backup' }] } })).status).toBe(201);
    expect((await api.post('/v1/memory_stores', { name: 'notes', embedding: { card: 'embed', model: 'text-embedding-3-small' } })).status).toBe(201);

    const main = await api.delete('/v1/model_cards/main');
    expectError(main, 409, 'conflict_error', 'model_card_in_use');
    expect(main.body.error.message).toContain('primary-user');
    const backup = await api.delete('/v1/model_cards/backup');
    expectError(backup, 409, 'conflict_error', 'model_card_in_use');
    expect(backup.body.error.message).toContain('agents fallback-user, primary-user');
    const embed = await api.delete('/v1/model_cards/embed');
    expectError(embed, 409, 'conflict_error', 'model_card_in_use');
    expect(embed.body.error.message).toContain('memory stores notes');
    expect((await api.get('/v1/model_cards')).body.data.map((c: { id: string }) => c.id)).toEqual(['backup', 'embed', 'main']);

    // A new version without the card, an archived agent, a deleted store: then it goes.
    expect((await api.patch('/v1/agents/primary-user', { model: { card: 'embed' } })).status).toBe(200);
    expect((await api.delete('/v1/model_cards/main')).body.deleted).toBe(true);
    expectError(await api.delete('/v1/model_cards/backup'), 409, 'conflict_error', 'model_card_in_use');
    expect((await api.delete('/v1/agents/fallback-user')).status).toBe(200);
    expect((await api.delete('/v1/model_cards/backup')).body.deleted).toBe(true);
    expectError(await api.delete('/v1/model_cards/nope'), 404, 'not_found_error', 'not_found');
    const store = (await api.get('/v1/memory_stores')).body.data[0];
    expect((await api.delete(`/v1/memory_stores/${store.id}`)).status).toBe(200);
    expect((await api.patch('/v1/agents/primary-user', { model: { card: 'fake-missing' } })).status).toBe(400);
    expectError(await api.delete('/v1/model_cards/embed'), 409, 'conflict_error', 'model_card_in_use');
    expect((await api.delete('/v1/agents/primary-user')).status).toBe(200);
    expect((await api.delete('/v1/model_cards/embed')).body.deleted).toBe(true);
  });
});

describe('model cards deleted while something starts to use them', () => {
  it('an agent or memory store created during a card delete waits for it, then is refused: nothing points at a deleted card', async () => {
    const api = await newWorkspace();
    const card = `race-${crypto.randomBytes(6).toString('hex')}`;
    for (const id of [card, 'steady']) {
      expect((await api.post('/v1/model_cards', { id, provider: 'openai', base_url: 'https://api.openai.com/v1', api_key: `sk-${id}-key`, default_model: 'gpt-x', probe: false })).status).toBe(201);
    }
    // The delete, under way: it holds the lock DELETE /v1/model_cards/:id takes, and has found no user yet.
    const db = new pg.Client({ connectionString: env().databaseUrl });
    await db.connect();
    try {
      await db.query('BEGIN');
      expect((await db.query('SELECT id FROM model_cards WHERE id = $1 FOR UPDATE', [card])).rowCount).toBe(1);
      const creates = {
        agent: api.post('/v1/agents', { name: 'late', model: { card } }),
        fallback: api.post('/v1/agents', { name: 'late-fallback', model: { card: 'steady', fallbacks: [{ card }] } }),
        store: api.post('/v1/memory_stores', { name: 'late', embedding: { card, model: 'text-embedding-3-small' } }),
      };
      const answered: string[] = [];
      for (const [k, r] of Object.entries(creates)) void r.then(() => answered.push(k));
      await new Promise((r) => setTimeout(r, 1_000));
      expect(answered).toEqual([]); // they wait for the delete
      await db.query('DELETE FROM model_cards WHERE id = $1', [card]);
      await db.query('COMMIT');
      const params = { agent: 'model.card', fallback: 'model.fallbacks[0].card', store: 'embedding.card' };
      for (const [k, r] of Object.entries(creates)) {
        const res = await r;
        expectError(res, 400, 'invalid_request_error', 'validation_failed');
        expect(res.body.error.param).toBe(params[k as keyof typeof params]);
      }
    } finally {
      await db.end();
    }
    expect((await api.get('/v1/agents')).body.data).toEqual([]);
    expect((await api.get('/v1/memory_stores')).body.data).toEqual([]);
    expect((await api.get('/v1/model_cards')).body.data.map((c: { id: string }) => c.id)).toEqual(['steady']);
  });
});

describe('model cards pinned by an active run', () => {
  it('a card the pinned version of an active run calls is in use until the run ends, though the agent has moved on', async () => {
    const s = await setupAgent();
    try {
      s.llm.reply({ text: 'slow answer', delay_ms: 60_000 });
      const run = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'hello' })).body;
      await waitFor(async () => s.llm.requests.length === 1, 'the model call');
      expect((await s.api.post('/v1/model_cards', { id: 'next', provider: 'openai', base_url: s.llm.baseUrl, api_key: 'sk-next-key', default_model: 'm' })).status).toBe(201);
      expect((await s.api.patch('/v1/agents/assistant', { model: { card: 'next' } })).status).toBe(200);
      const busy = await s.api.delete('/v1/model_cards/fake');
      expectError(busy, 409, 'conflict_error', 'model_card_in_use');
      expect(busy.body.error.message).toContain('assistant');
      expect((await s.api.post(`/v1/runs/${run.id}/cancel`, {})).status).toBe(202);
      await waitForStatus(s.api, run.id, ['canceled']);
      expect((await s.api.delete('/v1/model_cards/fake')).body.deleted).toBe(true);
    } finally {
      await s.llm.close();
    }
  });
});

describe('agents', () => {
  it('PATCH bumps the version and old versions stay readable; DELETE archives', async () => {
    const api = await newWorkspace();
    await api.post('/v1/model_cards', { id: 'c', provider: 'openai', api_key: canary('k'), default_model: 'm', probe: false });
    const a = await api.post('/v1/agents', { name: 'bot', model: { card: 'c' }, instructions: 'v1', limits: { max_steps: 3 } });
    expect(a.body).toMatchObject({ object: 'agent', name: 'bot', version: 1, instructions: 'v1', limits: { max_steps: 3 }, enabled: true });
    expect(a.body.id).toMatch(/^agt_[0-9a-f]{32}$/);
    const b = await api.patch(`/v1/agents/${a.body.id}`, { instructions: 'v2' });
    expect(b.body).toMatchObject({ version: 2, instructions: 'v2', limits: { max_steps: 3 } });
    expect((await api.get('/v1/agents/bot/versions/1')).body.instructions).toBe('v1');
    expect((await api.get('/v1/agents/bot/versions')).body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expectError(await api.post('/v1/agents', { name: 'bot', model: { card: 'c' } }), 409, 'conflict_error', 'already_exists');
    expectError(await api.post('/v1/agents', { name: 'x', model: { card: 'c' }, policy: { rules: [{ id: 'r', action: 'allow', match: { arguments: { a: { matches: '(' } } } }] } }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.delete('/v1/agents/bot')).body.deleted).toBe(true);
    expectError(await api.get('/v1/agents/bot'), 404, 'not_found_error', 'not_found');
    expect((await api.get(`/v1/agents/${a.body.id}`)).body.archived).toBe(true);
  });

  it('a disabled agent cannot run (403 agent_disabled)', async () => {
    const api = await newWorkspace();
    await api.post('/v1/model_cards', { id: 'c', provider: 'openai', api_key: canary('k'), default_model: 'm', probe: false });
    await api.post('/v1/agents', { name: 'off', model: { card: 'c' }, enabled: false });
    expectError(await api.post('/v1/runs', { agent: 'off', input: 'hi' }), 403, 'permission_error', 'agent_disabled');
  });
});

describe('tools and vault', () => {
  it('tools validate their JSON Schema; PATCH revalidates the whole tool', async () => {
    const api = await newWorkspace();
    const t = await api.post('/v1/tools', { name: 'lookup', effect: 'read', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, executor: { type: 'builtin', name: 'echo' } });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({ name: 'lookup', effect: 'read', description: '', supports_dry_run: false, idempotent: false });
    expectError(await api.post('/v1/tools', { name: 'bad', effect: 'read', input_schema: { type: 'object', properties: { q: { type: 'strnig' } } }, executor: { type: 'builtin', name: 'echo' } }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/tools', { name: 'bad2', effect: 'read', input_schema: { type: 'array' }, executor: { type: 'builtin', name: 'echo' } }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/tools', { name: 'bad3', effect: 'read', executor: { type: 'http', url: 'ftp://x' } }), 400, 'invalid_request_error', 'validation_failed');
    const upd = await api.patch('/v1/tools/lookup', { description: 'Looks things up' });
    expect(upd.body).toMatchObject({ description: 'Looks things up', input_schema: { properties: { q: { type: 'string' } } } });
    expectError(await api.patch('/v1/tools/lookup', { input_schema: { type: 'object', properties: { q: { type: 7 } } } }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.get('/v1/tools/lookup')).body.description).toBe('Looks things up');
    expect((await api.delete('/v1/tools/lookup')).body.deleted).toBe(true);
    expectError(await api.get('/v1/tools/lookup'), 404, 'not_found_error', 'not_found');
  });

  it('vault reads return names and dates only', async () => {
    const api = await newWorkspace();
    const value = canary('vault');
    const created = await api.post('/v1/vault', { name: 'token', value });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['created_at', 'id', 'name', 'object', 'updated_at']);
    expect((await api.patch('/v1/vault/token', { value: canary('vault2') })).status).toBe(200);
    const all = JSON.stringify([(await api.get('/v1/vault')).body, (await api.get('/v1/vault/token')).body]);
    expect(all).not.toContain('CANARY');
    expectError(await api.post('/v1/vault', { name: 'token', value: 'x' }), 409, 'conflict_error', 'already_exists');
    expectError(await api.post('/v1/vault', { name: 'bad name', value: 'x' }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.delete('/v1/vault/token')).body.deleted).toBe(true);
  });
});
