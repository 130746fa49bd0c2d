// Environments (API.md 11, issue 10 item 5): CRUD with hostile input, and sessions that name one get its
// tool overrides, its {{env.NAME}} variables and its allowed_tools, applied inside the tool activity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { anotherApi } from '../support/pair';
import type { ApProcess } from '../support/processes';
import { adminApi, type AgentSetup, allEvents, Api, expectError, historyText, httpTool, newWorkspace, setupAgent } from '../support/api';

let s: AgentSetup;
let tools: ToolServer;

beforeAll(async () => {
  tools = await startToolServer();
  for (const p of ['/base', '/staging', '/production']) tools.route(p, { body: { ok: true } });
  s = await setupAgent();
  await httpTool(s.api, 'lookup', `${tools.url}/base`, { executor: { type: 'http', url: `${tools.url}/base`, headers: { 'x-env': 'base' } } });
  await httpTool(s.api, 'other', `${tools.url}/base`);
  expect((await s.api.patch('/v1/agents/assistant', { tools: ['lookup', 'other'] })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await s?.llm.close();
  await tools?.close();
});

const list = async (api: Api) => (await api.get('/v1/environments?limit=100')).body.data as { name: string }[];

describe('environments CRUD', () => {
  it('create 201, get by id and by name, list, patch, delete', async () => {
    const api = await newWorkspace('env-crud');
    await httpTool(api, 'lookup', `${tools.url}/base`);
    const created = await api.post('/v1/environments', { name: 'staging', variables: { STAGE: 'staging' }, tools: { lookup: { url: `${tools.url}/staging`, headers: { 'x-env': '{{env.STAGE}}' } } }, allowed_tools: ['lookup'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'environment', name: 'staging', variables: { STAGE: 'staging' }, tools: { lookup: { url: `${tools.url}/staging`, headers: { 'x-env': '{{env.STAGE}}' } } }, allowed_tools: ['lookup'] });
    expect(created.body.id).toMatch(/^env_[0-9a-f]{32}$/);
    const bare = (await api.post('/v1/environments', { name: 'production' })).body;
    expect(bare).toMatchObject({ variables: {}, tools: {}, allowed_tools: null });

    expect((await api.get(`/v1/environments/${created.body.id}`)).body).toEqual(created.body);
    expect((await api.get('/v1/environments/staging')).body).toEqual(created.body);
    const page = (await api.get('/v1/environments?limit=1')).body;
    expect(page).toMatchObject({ object: 'list', has_more: true, next_cursor: created.body.id, data: [{ name: 'staging' }] });
    expect((await api.get(`/v1/environments?after=${page.next_cursor}`)).body.data.map((e: { name: string }) => e.name)).toEqual(['production']);

    // PATCH replaces the fields it names, keeps the others; allowed_tools: null lifts the narrowing.
    const patched = await api.patch('/v1/environments/staging', { variables: { STAGE: 'stage-2' }, allowed_tools: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: created.body.id, variables: { STAGE: 'stage-2' }, tools: created.body.tools, allowed_tools: null });
    const renamed = await api.patch(`/v1/environments/${created.body.id}`, { name: 'staging-eu' });
    expect(renamed.body.name).toBe('staging-eu');

    const deleted = await api.delete('/v1/environments/staging-eu');
    expect(deleted.body).toEqual({ id: created.body.id, object: 'environment', deleted: true });
    expectError(await api.get(`/v1/environments/${created.body.id}`), 404, 'not_found_error', 'not_found');
    expectError(await api.delete(`/v1/environments/${created.body.id}`), 404, 'not_found_error', 'not_found');
    expect((await list(api)).map((e) => e.name)).toEqual(['production']);
  });

  it('refuses hostile input, duplicates and unknown tools, and stores nothing', async () => {
    const api = await newWorkspace('env-hostile');
    await httpTool(api, 'lookup', `${tools.url}/base`);
    expect((await api.post('/v1/environments', { name: 'staging' })).status).toBe(201);
    const bad: [unknown, string][] = [
      [{ name: '1staging' }, 'name'],
      [{ name: '../etc' }, 'name'],
      [{ name: 'x'.repeat(65) }, 'name'],
      [{ name: 'ok', variables: { 'bad-name': 'x' } }, 'variables'],
      [{ name: 'ok', variables: { A: 1 } }, 'variables.A'],
      [{ name: 'ok', tools: { lookup: { url: 'ftp://example.com/x' } } }, 'tools.lookup.url'],
      [{ name: 'ok', tools: { lookup: { url: `${tools.url}/x`, method: 'GET' } } }, 'tools.lookup'],
      [{ name: 'ok', tools: { lookup: { headers: { 'bad header': 'x' } } } }, 'tools.lookup.headers'],
      [{ name: 'ok', allowed_tools: 'lookup' }, 'allowed_tools'],
      [{ name: 'ok', extra: true }, ''],
    ];
    for (const [body, param] of bad) {
      const res = await api.post('/v1/environments', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectError(res, 400, 'invalid_request_error', 'validation_failed');
      expect(String(res.body.error.param ?? ''), JSON.stringify(body)).toContain(param);
    }
    // A literal `__proto__` key as sent on the wire (an object literal would set the prototype instead) is dropped.
    const proto = await api.post('/v1/environments', '{"name":"proto","variables":{"__proto__":"x","B":"y"}}');
    expect(proto.status).toBe(201);
    expect(proto.body.variables).toEqual({ B: 'y' });
    expect((await api.delete('/v1/environments/proto')).status).toBe(200);
    const unknownOverride = await api.post('/v1/environments', { name: 'ok', tools: { nosuch: { url: `${tools.url}/x` } } });
    expectError(unknownOverride, 400, 'invalid_request_error', 'unknown_tool');
    expect(unknownOverride.body.error.param).toBe('tools.nosuch');
    const unknownAllowed = await api.post('/v1/environments', { name: 'ok', allowed_tools: ['lookup', 'nosuch'] });
    expectError(unknownAllowed, 400, 'invalid_request_error', 'unknown_tool');
    expect(unknownAllowed.body.error.param).toBe('allowed_tools[1]');
    const dup = await api.post('/v1/environments', { name: 'staging', variables: { A: 'b' } });
    expectError(dup, 409, 'conflict_error', 'already_exists');
    expect(dup.body.error.param).toBe('name');

    // The same on PATCH: nothing of a refused update is kept.
    expect((await api.post('/v1/environments', { name: 'production' })).status).toBe(201);
    expectError(await api.patch('/v1/environments/production', { name: 'staging' }), 409, 'conflict_error', 'already_exists');
    expectError(await api.patch('/v1/environments/production', { tools: { nosuch: {} } }), 400, 'invalid_request_error', 'unknown_tool');
    expectError(await api.patch('/v1/environments/production', { variables: { 'a b': 'x' } }), 400, 'invalid_request_error', 'validation_failed');
    expect(await list(api)).toMatchObject([{ name: 'staging', variables: {} }, { name: 'production', variables: {}, tools: {} }]);
  });

  it("another workspace's environment is 404; developers read, only admins write", async () => {
    const owner = await newWorkspace('env-owner');
    const env1 = (await owner.post('/v1/environments', { name: 'staging', variables: { A: 'owner' } })).body;
    const intruder = await newWorkspace('env-intruder');
    for (const ref of [env1.id, 'staging']) {
      expectError(await intruder.get(`/v1/environments/${ref}`), 404, 'not_found_error', 'not_found');
      expectError(await intruder.patch(`/v1/environments/${ref}`, { variables: { A: 'intruder' } }), 404, 'not_found_error', 'not_found');
      expectError(await intruder.delete(`/v1/environments/${ref}`), 404, 'not_found_error', 'not_found');
    }
    expect(await list(intruder)).toEqual([]);
    const dev = new Api((await owner.post('/v1/api_keys', { name: 'dev', roles: ['developer'] })).body.key);
    expect((await dev.get(`/v1/environments/${env1.id}`)).body.variables).toEqual({ A: 'owner' });
    expectError(await dev.post('/v1/environments', { name: 'dev-env' }), 403, 'permission_error', 'permission_denied');
    expectError(await dev.patch(`/v1/environments/${env1.id}`, { variables: {} }), 403, 'permission_error', 'permission_denied');
    expectError(await dev.delete(`/v1/environments/${env1.id}`), 403, 'permission_error', 'permission_denied');
    expect((await owner.get(`/v1/environments/${env1.id}`)).body.variables).toEqual({ A: 'owner' });
  });
});

describe('sessions in an environment', () => {
  let staging: { id: string };
  let production: { id: string };
  let locked: { id: string };
  beforeAll(async () => {
    staging = (await s.api.post('/v1/environments', { name: 'staging', variables: { STAGE: 'stage-7f3e' }, tools: { lookup: { url: `${tools.url}/staging`, headers: { 'x-env': '{{env.STAGE}}' } } } })).body;
    production = (await s.api.post('/v1/environments', { name: 'production', tools: { lookup: { url: `${tools.url}/production` } } })).body;
    locked = (await s.api.post('/v1/environments', { name: 'locked', allowed_tools: ['other'] })).body;
    for (const e of [staging, production, locked]) expect(e.id).toMatch(/^env_/);
  });

  /** One run in a new session of the environment, in which the model calls `lookup` once. */
  async function runIn(environment: string) {
    const session = await s.api.post('/v1/sessions', { agent: 'assistant', environment });
    expect(session.status).toBe(201);
    s.llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'Berlin' } }] }, { text: 'done' });
    const before = tools.requests.length;
    const run = (await s.api.post(`/v1/sessions/${session.body.id}/runs`, { input: 'look it up', wait: true })).body;
    expect(run.status).toBe('completed');
    return { session: session.body, run, requests: tools.requests.slice(before) };
  }

  it('a session in staging calls the staging URL with its variables, one in production the production URL', async () => {
    const st = await runIn('staging');
    expect(st.session.environment_id).toBe(staging.id);
    expect(st.requests.map((r) => r.path)).toEqual(['/staging']);
    expect(st.requests[0]!.headers['x-env']).toBe('stage-7f3e');

    const prod = await runIn(production.id);
    expect(prod.session.environment_id).toBe(production.id);
    expect(prod.requests.map((r) => r.path)).toEqual(['/production']);
    // No header override in production: the tool's own header stays.
    expect(prod.requests[0]!.headers['x-env']).toBe('base');

    // The workflow history names the environment only; the resolved URL and variable are not in it.
    const history = await historyText(s.api, st.run.id);
    expect(history).toContain(staging.id);
    expect(history).not.toContain(`${tools.url}/staging`);
    expect(history).not.toContain('stage-7f3e');
  });

  it('a session without an environment calls the tool as defined', async () => {
    s.llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'Rome' } }] }, { text: 'done' });
    const before = tools.requests.length;
    const run = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'look it up', wait: true })).body;
    expect(run.status).toBe('completed');
    expect(tools.requests.slice(before).map((r) => [r.path, r.headers['x-env']])).toEqual([['/base', 'base']]);
    expect((await s.api.get(`/v1/sessions/${run.session_id}`)).body.environment_id).toBeNull();
  });

  it('a tool outside allowed_tools is not offered to the model, and a call to it is denied and never executed', async () => {
    const r = await runIn('locked');
    expect(r.requests).toEqual([]);
    const offered = JSON.stringify(s.llm.requests[s.llm.requests.length - 2]!.body.tools ?? []);
    expect(offered).toContain('other');
    expect(offered).not.toContain('lookup');
    const events = await allEvents(s.api, r.run.id);
    expect(events.find((e) => e.type === 'policy.decided')?.data).toMatchObject({ name: 'lookup', action: 'deny', rule_id: 'tool_not_allowed' });
    expect(events.find((e) => e.type === 'tool_call.failed')?.data).toMatchObject({ name: 'lookup', error: { code: 'policy_denied' } });
    expect(events.some((e) => e.type === 'tool_call.started')).toBe(false);
  });

  it('a session naming an unknown or foreign environment is 404 with param environment, and nothing is stored', async () => {
    const other = await newWorkspace('env-foreign');
    const foreignEnv = (await other.post('/v1/environments', { name: 'elsewhere' })).body;
    const before = (await s.api.get('/v1/sessions?limit=100')).body.data.length;
    for (const environment of ['nosuch', foreignEnv.id, 'elsewhere']) {
      const res = await s.api.post('/v1/sessions', { agent: 'assistant', environment });
      expectError(res, 404, 'not_found_error', 'not_found');
      expect(res.body.error.param).toBe('environment');
    }
    expectError(await s.api.post('/v1/sessions', { agent: 'assistant', environment: '' }), 400, 'invalid_request_error', 'validation_failed');
    expect((await s.api.get('/v1/sessions?limit=100')).body.data.length).toBe(before);
  });

  it('an environment that sessions name cannot be deleted (409 environment_in_use) until they are gone', async () => {
    const e = (await s.api.post('/v1/environments', { name: 'short-lived' })).body;
    const session = (await s.api.post('/v1/sessions', { agent: 'assistant', environment: 'short-lived' })).body;
    const res = await s.api.delete(`/v1/environments/${e.id}`);
    expectError(res, 409, 'conflict_error', 'environment_in_use');
    expect((await s.api.get(`/v1/environments/${e.id}`)).status).toBe(200);
    expect((await s.api.delete(`/v1/sessions/${session.id}`)).status).toBe(200);
    expect((await s.api.delete(`/v1/environments/${e.id}`)).body).toMatchObject({ deleted: true });
  });
});

describe('override URLs and the private-network guard (AP_ALLOW_PRIVATE_NETWORK unset)', () => {
  let guarded: ApProcess;
  let api: Api;
  beforeAll(async () => {
    const { proc, port } = await anotherApi('api-guarded-environments', { privateNetwork: false });
    guarded = proc;
    api = new Api((await adminApi().post('/v1/workspaces', { name: 'env-ssrf' })).body.admin_key, `http://127.0.0.1:${port}`);
  }, 60_000);
  afterAll(async () => guarded?.kill());

  it('refuses a private override URL on create and on update, and keeps what was stored', async () => {
    await httpTool(api, 'lookup', 'https://tools.example.com/lookup');
    for (const url of ['https://127.0.0.1:9/x', 'https://169.254.169.254/latest', 'https://[::1]:9/x']) {
      const res = await api.post('/v1/environments', { name: 'staging', tools: { lookup: { url } } });
      expectError(res, 403, 'permission_error', 'private_network_blocked');
      expect(res.body.error.param).toBe('tools.lookup.url');
    }
    expect(await list(api)).toEqual([]);
    const ok = await api.post('/v1/environments', { name: 'staging', tools: { lookup: { url: 'https://staging.example.com/lookup' } } });
    expect(ok.status).toBe(201);
    expectError(await api.patch('/v1/environments/staging', { tools: { lookup: { url: 'https://10.0.0.1/x' } } }), 403, 'permission_error', 'private_network_blocked');
    expect((await api.get('/v1/environments/staging')).body.tools).toEqual({ lookup: { url: 'https://staging.example.com/lookup' } });
  });
});
