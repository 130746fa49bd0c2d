// Authentication, roles, workspace isolation and the error shape on every failure path.
import { describe, expect, it } from 'vitest';
import { adminApi, Api, env, expectError, newWorkspace, setupAgent } from '../support/api';

describe('authentication', () => {
  it('missing, unknown and revoked keys are 401; x-api-key and Bearer both work', async () => {
    const api = await newWorkspace();
    const none = await fetch(`${env().apiUrl}/v1/agents`);
    const noneBody = await none.json();
    expectError({ status: none.status, body: noneBody, headers: none.headers }, 401, 'authentication_error', 'missing_api_key');
    expectError(await new Api('ap_not_a_real_key_000000000000').get('/v1/agents'), 401, 'authentication_error', 'invalid_api_key');

    const created = await api.post('/v1/api_keys', { name: 'ci', roles: ['developer'] });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^ap_/);
    const viaHeader = await fetch(`${env().apiUrl}/v1/agents`, { headers: { 'x-api-key': created.body.key } });
    expect(viaHeader.status).toBe(200);
    const listed = await api.get('/v1/api_keys');
    const entry = listed.body.data.find((k: { id: string }) => k.id === created.body.id);
    expect(entry).toMatchObject({ name: 'ci', roles: ['developer'], prefix: created.body.key.slice(0, 7) });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);

    expect((await api.delete(`/v1/api_keys/${created.body.id}`)).body).toEqual({ id: created.body.id, object: 'api_key', deleted: true });
    expectError(await new Api(created.body.key).get('/v1/agents'), 401, 'authentication_error', 'invalid_api_key');
  });

  it('roles: a call outside the key\'s roles is 403 permission_denied', async () => {
    const api = await newWorkspace();
    const mk = async (roles: string[]) => new Api((await api.post('/v1/api_keys', { name: roles.join('+'), roles })).body.key);
    const developer = await mk(['developer']);
    const auditor = await mk(['auditor']);
    const approver = await mk(['approver']);
    expectError(await developer.post('/v1/agents', { name: 'x', model: { card: 'c' } }), 403, 'permission_error', 'permission_denied');
    expectError(await developer.post('/v1/vault', { name: 'x', value: 'y' }), 403, 'permission_error', 'permission_denied');
    expectError(await auditor.post('/v1/runs', { agent: 'x', input: 'hi' }), 403, 'permission_error', 'permission_denied');
    expectError(await approver.post('/v1/sessions', { agent: 'x' }), 403, 'permission_error', 'permission_denied');
    expectError(await developer.post('/v1/api_keys', { name: 'n', roles: ['admin'] }), 403, 'permission_error', 'permission_denied');
    expect((await approver.get('/v1/runs')).status).toBe(200);
    expect((await auditor.get('/v1/vault')).status).toBe(200);
    expect((await developer.get('/v1/tools')).status).toBe(200);
    expectError(await api.post('/v1/workspaces', { name: 'nested' }), 403, 'permission_error', 'permission_denied');
    expect((await api.get('/v1/workspaces/current')).body).toMatchObject({ object: 'workspace', name: 'test' });
  });

  it('another workspace\'s run, session and agent are 404, never 403', async () => {
    const { api, llm } = await setupAgent();
    try {
      llm.reply({ text: 'hi' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body;
      const other = await newWorkspace('other');
      expectError(await other.get(`/v1/runs/${run.id}`), 404, 'not_found_error', 'not_found');
      expectError(await other.get(`/v1/runs/${run.id}/events`), 404, 'not_found_error', 'not_found');
      expectError(await other.post(`/v1/runs/${run.id}/cancel`, {}), 404, 'not_found_error', 'not_found');
      expectError(await other.get(`/v1/sessions/${run.session_id}`), 404, 'not_found_error', 'not_found');
      expectError(await other.get(`/v1/agents/${run.agent_id}`), 404, 'not_found_error', 'not_found');
      expectError(await other.post(`/v1/sessions/${run.session_id}/runs`, { input: 'x' }), 404, 'not_found_error', 'not_found');
      expect((await other.get('/v1/runs')).body.data).toEqual([]);
    } finally {
      await llm.close();
    }
  });
});

describe('errors', () => {
  it('unknown routes, bad JSON and oversize bodies get the documented shape and a request id', async () => {
    const api = adminApi();
    expectError(await api.get('/v1/no_such_thing'), 404, 'not_found_error', 'not_found');
    expectError(await api.get('/nope'), 404, 'not_found_error', 'not_found');
    const bad = await api.call('POST', '/v1/sessions', '{"agent": ', {});
    expectError(bad, 400, 'invalid_request_error', 'invalid_json');
    const big = await api.call('POST', '/v1/sessions', JSON.stringify({ agent: 'x', title: 'a'.repeat(1024 * 1024 + 10) }));
    expectError(big, 413, 'invalid_request_error', 'payload_too_large');
    const echoed = await api.get('/v1/agents', { 'x-request-id': 'my-trace-123' });
    expect(echoed.headers.get('x-request-id')).toBe('my-trace-123');
    const health = await fetch(`${env().apiUrl}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    expect(health.headers.get('x-request-id')).toMatch(/^req_/);
    expect((await fetch(`${env().apiUrl}/readyz`)).status).toBe(200);
  });

  it('validation errors name the parameter, and bad input changes nothing stored', async () => {
    const { api, llm } = await setupAgent();
    await llm.close();
    const noInput = await api.post('/v1/runs', { agent: 'assistant' });
    expectError(noInput, 400, 'invalid_request_error', 'validation_failed');
    expect(noInput.body.error.param).toBe('input');
    const badPart = await api.post('/v1/runs', { agent: 'assistant', input: [{ role: 'user', content: [{ type: 'input_text' }] }] });
    expectError(badPart, 400, 'invalid_request_error', 'validation_failed');
    expect(badPart.body.error.param).toBe('input');
    const extra = await api.post('/v1/runs', { agent: 'assistant', input: 'x', evil: true });
    expectError(extra, 400, 'invalid_request_error', 'validation_failed');
    expect(extra.body.error.param).toBe('evil');
    expectError(await api.post('/v1/runs', { agent: "assistant'; DROP TABLE runs; --", input: 'x' }), 404, 'not_found_error', 'not_found');
    expectError(await api.post('/v1/runs', { agent: 'assistant', input: 'x', constraints: { max_steps: -1 } }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.post('/v1/runs', { agent: 'assistant', input: 'x', metadata: { big: 'x'.repeat(20_000) } }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.get('/v1/runs?limit=1000'), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.get('/v1/runs?status=exploded'), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.get('/v1/runs')).body.data).toEqual([]);
    expect((await api.get('/v1/sessions')).body.data).toEqual([]);

    const before = (await api.get('/v1/agents/assistant')).body;
    expectError(await api.patch('/v1/agents/assistant', { limits: { max_steps: 'many' } }), 400, 'invalid_request_error', 'validation_failed');
    expectError(await api.patch('/v1/agents/assistant', { tools: ['does_not_exist'] }), 400, 'invalid_request_error', 'unknown_tool');
    expectError(await api.patch('/v1/agents/assistant', { model: { card: 'missing' } }), 400, 'invalid_request_error', 'validation_failed');
    expect((await api.get('/v1/agents/assistant')).body).toEqual(before);
    expect((await api.get('/v1/agents/assistant/versions')).body.data).toHaveLength(1);
  });
});
