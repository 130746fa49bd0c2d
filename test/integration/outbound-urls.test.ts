// Every outbound URL a tenant configures is http(s): file:, gopher:, data: and ftp: URLs are 400
// validation_failed naming the field, on create and on update, and nothing is stored. (This is the
// default test stack, with private networks allowed: the scheme rule holds whatever that setting.)
import { describe, expect, it } from 'vitest';
import { expectError, newWorkspace, type Api, type Res } from '../support/api';
import { canary } from '../support/canaries';

const HOSTILE = ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_FLUSHALL', 'data:text/plain,hello', 'ftp://example.com/x'];

function expectRefused(res: Res, param: string): void {
  expectError(res, 400, 'invalid_request_error', 'validation_failed');
  expect(res.body.error.param).toBe(param);
}

// Never called (example.com): stored without the probe.
const card = (base_url: string) => ({ id: 'c', provider: 'openai', base_url, api_key: canary('urls'), default_model: 'm', probe: false });
const connection = (urls: Record<string, string>) => ({
  id: 'calendar',
  authorize_url: 'https://auth.example.com/authorize',
  token_url: 'https://auth.example.com/token',
  client_id: 'id',
  client_secret: canary('urls'),
  ...urls,
});

async function nothingStored(api: Api): Promise<void> {
  for (const list of ['/v1/model_cards', '/v1/tools', '/v1/webhooks', '/v1/connections', '/v1/environments']) {
    expect((await api.get(list)).body.data, list).toEqual([]);
  }
}

describe('outbound URLs must be http(s)', () => {
  it.each(HOSTILE)('%s is refused for every kind of URL, on create', async (url) => {
    const api = await newWorkspace('urls');
    expectRefused(await api.post('/v1/model_cards', card(url)), 'base_url');
    expectRefused(await api.post('/v1/tools', { name: 't', effect: 'read', executor: { type: 'http', url } }), 'executor.url');
    expectRefused(await api.post('/v1/webhooks', { url, events: ['*'] }), 'url');
    for (const field of ['authorize_url', 'token_url', 'revocation_url']) {
      expectRefused(await api.post('/v1/connections', connection({ [field]: url })), field);
    }
    expectRefused(await api.post('/v1/environments', { name: 'staging', tools: { lookup: { url } } }), 'tools.lookup.url');
    await nothingStored(api);
  });

  it.each(HOSTILE)('%s is refused on update, and what was stored stays', async (url) => {
    const api = await newWorkspace('urls');
    expect((await api.post('/v1/model_cards', card('https://llm.example.com/v1'))).status).toBe(201);
    expectRefused(await api.post('/v1/model_cards/c', { base_url: url }), 'base_url');
    expect((await api.get('/v1/model_cards/c')).body.base_url).toBe('https://llm.example.com/v1');
    expect((await api.post('/v1/tools', { name: 't', effect: 'read', executor: { type: 'http', url: 'https://tools.example.com/t' } })).status).toBe(201);
    expectRefused(await api.patch('/v1/tools/t', { executor: { type: 'http', url } }), 'executor.url');
    expect((await api.get('/v1/tools/t')).body.executor.url).toBe('https://tools.example.com/t');
    expect((await api.post('/v1/environments', { name: 'staging' })).status).toBe(201);
    expectRefused(await api.patch('/v1/environments/staging', { tools: { t: { url } } }), 'tools.t.url');
    expect((await api.get('/v1/environments/staging')).body.tools).toEqual({});
  });
});
