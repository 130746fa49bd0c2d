// The model-card probe (API.md 16, issue 20 item 2): creating or rotating a card asks the provider for the
// model once; a provider answering 401 or 404, or never answering, refuses the card and nothing is stored,
// with the provider's status and message but never the key. `probe: false` skips the call. The seed
// API's field and provider spellings are accepted on write and answered with the canonical names.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { type Api, env, expectError, newWorkspace, setupAgent, waitForStatus } from '../support/api';
import { canary } from '../support/canaries';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function fake(provider: 'openai' | 'anthropic'): Promise<FakeLlm> {
  const llm = await startFakeLlm(provider);
  cleanups.push(() => llm.close());
  return llm;
}

/** Nothing of the refused card anywhere: not in the list, not in the audit log. */
async function expectNothingStored(api: Api): Promise<void> {
  expect((await api.get('/v1/model_cards')).body.data).toEqual([]);
  const audit = (await api.get('/v1/audit_log?limit=100')).body.data.map((r: { action: string }) => r.action);
  expect(audit.filter((a: string) => a.startsWith('model_card.'))).toEqual([]);
}

describe('the model-card probe on create', () => {
  it('a provider answering 401 refuses the card with its status and message; nothing is stored', async () => {
    const api = await newWorkspace();
    const llm = await fake('openai');
    const key = canary('probe401');
    llm.probe({ status: 401 });
    const res = await api.post('/v1/model_cards', { id: 'c', provider: 'openai', base_url: llm.baseUrl, api_key: key, default_model: 'gpt-x' });
    expectError(res, 400, 'invalid_request_error', 'model_card_probe_failed');
    expect(res.body.error.param).toBe('api_key');
    expect(res.body.error.message).toBe('Model card c was not stored: the provider answered 401 to GET /models/gpt-x: Incorrect API key provided.');
    // The probe is the model call's request: its key and its headers, a GET of the model.
    expect(llm.probeRequests).toHaveLength(1);
    expect(llm.probeRequests[0]).toMatchObject({ path: '/v1/models/gpt-x', headers: { authorization: `Bearer ${key}` } });
    expect(llm.requests).toHaveLength(0);
    await expectNothingStored(api);
  });

  it('a provider answering 404 (a wrong model, here on the anthropic wire) refuses the card the same way', async () => {
    const api = await newWorkspace();
    const llm = await fake('anthropic');
    const key = canary('probe404');
    llm.probe({ status: 404 });
    const res = await api.post('/v1/model_cards', { id: 'c', provider: 'anthropic', base_url: llm.baseUrl, api_key: key, default_model: 'claude-nope', headers: { 'X-Gateway': 'g1' } });
    expectError(res, 400, 'invalid_request_error', 'model_card_probe_failed');
    expect(res.body.error.param).toBe('default_model');
    expect(res.body.error.message).toMatch(/404.*The model 'claude-nope' does not exist/);
    expect(llm.probeRequests[0]).toMatchObject({ path: '/v1/models/claude-nope', headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'x-gateway': 'g1' } });
    await expectNothingStored(api);
  });

  it('a provider that never answers refuses the card once the probe times out', async () => {
    const api = await newWorkspace();
    const llm = await fake('openai');
    llm.probe({ hang: true });
    const res = await api.post('/v1/model_cards', { id: 'c', provider: 'openai', base_url: llm.baseUrl, api_key: canary('probehang'), default_model: 'm' });
    expectError(res, 400, 'invalid_request_error', 'model_card_probe_failed');
    expect(res.body.error).toMatchObject({ param: 'base_url', message: expect.stringMatching(/did not answer within \d+(\.\d+)? s/) });
    expect(llm.probeRequests).toHaveLength(1);
    await expectNothingStored(api);
  });

  it('an address where nothing listens refuses the card as unreachable', async () => {
    const api = await newWorkspace();
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const res = await api.post('/v1/model_cards', { id: 'c', provider: 'openai', base_url: `http://127.0.0.1:${port}/v1`, api_key: canary('probeclosed'), default_model: 'm' });
    expectError(res, 400, 'invalid_request_error', 'model_card_probe_failed');
    expect(res.body.error.message).toMatch(/could not be reached/);
    await expectNothingStored(api);
  });

  it('probe: false stores the card without calling the provider', async () => {
    const api = await newWorkspace();
    const llm = await fake('openai');
    llm.probe({ status: 401 });
    const res = await api.post('/v1/model_cards', { id: 'offline', provider: 'openai', base_url: llm.baseUrl, api_key: canary('probeoff'), default_model: 'm', probe: false });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('probe');
    expect(llm.probeRequests).toHaveLength(0);
    expect((await api.get('/v1/model_cards')).body.data.map((c: { id: string }) => c.id)).toEqual(['offline']);
  });

  it('a provider that answers neither yes nor no (500) does not refuse the card', async () => {
    const api = await newWorkspace();
    const llm = await fake('openai');
    llm.probe({ status: 500 });
    expect((await api.post('/v1/model_cards', { id: 'c', provider: 'openai', base_url: llm.baseUrl, api_key: canary('probe500'), default_model: 'm' })).status).toBe(201);
    expect(llm.probeRequests).toHaveLength(1);
  });

  it('a provider quoting the request (its Authorization header) in the error body: no key or header value in the answer', async () => {
    const api = await newWorkspace();
    const llm = await fake('openai');
    const key = canary('probeecho');
    const header = canary('probehdr');
    llm.probe({ status: 401, echo_headers: true });
    const res = await api.post('/v1/model_cards', { id: 'c', provider: 'openai', base_url: llm.baseUrl, api_key: key, default_model: 'm', headers: { 'X-Gateway-Token': header } });
    expectError(res, 400, 'invalid_request_error', 'model_card_probe_failed');
    // The provider did echo them: the answer quotes the headers with the secrets taken out.
    expect(JSON.stringify(llm.probeRequests[0]!.headers)).toContain(key);
    expect(res.body.error.message).toContain('You sent:');
    expect(res.body.error.message).toContain('[redacted]');
    const raw = JSON.stringify(res.body);
    expect(raw).not.toContain(key);
    expect(raw).not.toContain(header);
    expect(raw).not.toContain('CANARY');
  });
});

describe('the model-card probe on rotation', () => {
  it('a rotation to a key the provider refuses is 400; the card keeps its old key, which still works', async () => {
    const { api, llm, apiKeyCanary } = await setupAgent();
    cleanups.push(() => llm.close());
    const bad = canary('probebad');
    llm.probe({ status: 401 });
    const res = await api.post('/v1/model_cards/fake', { api_key: bad });
    expectError(res, 400, 'invalid_request_error', 'model_card_probe_failed');
    expect(res.body.error).toMatchObject({ param: 'api_key', message: expect.stringMatching(/^Model card fake was not changed: the provider answered 401/) });
    expect(JSON.stringify(res.body)).not.toContain(bad);
    // The probe carried the new key; the card still shows the old one, and a run still uses it.
    expect(llm.probeRequests.at(-1)!.headers.authorization).toBe(`Bearer ${bad}`);
    expect((await api.get('/v1/model_cards/fake')).body.api_key_preview).toBe(`…${apiKeyCanary.slice(-4)}`);
    llm.reply({ text: 'still here' });
    const started = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
    expect(await waitForStatus(api, started.id, ['completed', 'failed'])).toMatchObject({ status: 'completed' });
    expect(llm.requests.at(-1)!.headers.authorization).toBe(`Bearer ${apiKeyCanary}`);
    const audit = (await api.get('/v1/audit_log?limit=100')).body.data.map((r: { action: string }) => r.action);
    expect(audit.filter((a: string) => a.startsWith('model_card.'))).toEqual(['model_card.create']);
  });

  it('a rotation the provider accepts is probed with the card as it will be; a pricing change is not probed', async () => {
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close());
    const good = canary('probegood');
    const before = llm.probeRequests.length;
    const rotated = await api.post('/v1/model_cards/fake', { api_key: good, custom_headers: { 'X-Team': 'blue' } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.headers).toEqual({ 'X-Team': '[hidden]' });
    expect(llm.probeRequests).toHaveLength(before + 1);
    expect(llm.probeRequests.at(-1)).toMatchObject({ path: '/v1/models/fake-model', headers: { authorization: `Bearer ${good}`, 'x-team': 'blue' } });
    expect((await api.post('/v1/model_cards/fake', { pricing: { input_per_mtok: 1, output_per_mtok: 1 } })).status).toBe(200);
    expect(llm.probeRequests).toHaveLength(before + 1);
    // A wrong model on its own is a change a model call would fail on: probed, refused.
    llm.probe({ status: 404 });
    expectError(await api.post('/v1/model_cards/fake', { model: 'nope' }), 400, 'invalid_request_error', 'model_card_probe_failed');
    expect((await api.get('/v1/model_cards/fake')).body.default_model).toBe('fake-model');
    expect((await api.post('/v1/model_cards/fake', { model: 'nope', probe: false })).body.default_model).toBe('nope');
  });
  it('a rotation probed with a stored key that cannot be read (copied from another workspace) is 400, and sending the key again works', async () => {
    const a = await setupAgent();
    const b = await setupAgent();
    cleanups.push(() => a.llm.close(), () => b.llm.close());
    const ws = async (api: Api) => (await api.get('/v1/workspaces/current')).body.id as string;
    const db = new pg.Client({ connectionString: env().databaseUrl });
    await db.connect();
    try {
      await db.query(`UPDATE model_cards SET api_key_enc = (SELECT api_key_enc FROM model_cards WHERE workspace_id = $1 AND id = 'fake') WHERE workspace_id = $2 AND id = 'fake'`, [await ws(a.api), await ws(b.api)]);
    } finally {
      await db.end();
    }
    const res = await b.api.post('/v1/model_cards/fake', { base_url: b.llm.baseUrl });
    expectError(res, 400, 'invalid_request_error', 'model_card_probe_failed');
    expect(res.body.error).toMatchObject({ param: 'api_key', message: expect.stringMatching(/cannot be read/) });
    expect(JSON.stringify(res.body)).not.toContain(a.apiKeyCanary);
    const fresh = canary('probefresh');
    expect((await b.api.post('/v1/model_cards/fake', { api_key: fresh })).status).toBe(200);
    expect(b.llm.probeRequests.at(-1)!.headers.authorization).toBe(`Bearer ${fresh}`);
  });
});

describe("the seed API's spellings", () => {
  it('model_id, model, custom_headers and oai-compatible / ant are accepted and answered canonically', async () => {
    const api = await newWorkspace();
    const oai = await fake('openai');
    const ant = await fake('anthropic');
    const created = await api.post('/v1/model_cards', { model_id: 'seed', provider: 'oai-compatible', base_url: oai.baseUrl, api_key: canary('seedkey'), model: 'gpt-seed', custom_headers: { 'X-Seed': 's1' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'seed', provider: 'openai', default_model: 'gpt-seed', headers: { 'X-Seed': '[hidden]' } });
    for (const alias of ['model_id', 'model', 'custom_headers']) expect(created.body).not.toHaveProperty(alias);
    expect(oai.probeRequests[0]).toMatchObject({ path: '/v1/models/gpt-seed', headers: { 'x-seed': 's1' } });
    for (const [id, provider, llm] of [['a1', 'ant', ant], ['a2', 'ant-compatible', ant], ['o1', 'oai', oai]] as const) {
      const res = await api.post('/v1/model_cards', { id, provider, base_url: llm.baseUrl, api_key: canary('seedkey'), default_model: 'm' });
      expect(res.body).toMatchObject({ id, provider: provider.startsWith('ant') ? 'anthropic' : 'openai' });
    }
    expect((await api.get('/v1/model_cards/seed')).body).toMatchObject({ id: 'seed', provider: 'openai', default_model: 'gpt-seed' });
    // Spelling a field twice is ambiguous.
    const twice = await api.post('/v1/model_cards', { id: 'x', model_id: 'y', provider: 'openai', base_url: oai.baseUrl, api_key: canary('seedkey'), default_model: 'm' });
    expectError(twice, 400, 'invalid_request_error', 'validation_failed');
    expect(twice.body.error.param).toBe('model_id');
    expectError(await api.post('/v1/model_cards/seed', { default_model: 'a', model: 'b' }), 400, 'invalid_request_error', 'validation_failed');
    // The audit log records the write as it was understood, its headers left out.
    const record = (await api.get('/v1/audit_log?limit=100')).body.data.find((r: { action: string; target: string }) => r.action === 'model_card.create' && r.target === 'seed');
    expect(record.data.body).toMatchObject({ id: 'seed', provider: 'openai', default_model: 'gpt-seed', headers: '[omitted]' });
  });
});
