// Action invocations: one gated tool call without a model, on the same path as a run's tool calls.
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { Api, expectError, newWorkspace, waitFor } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function workspaceWithTools(): Promise<{ api: Api; approver: Api; tools: ToolServer }> {
  const tools = await startToolServer();
  cleanups.push(() => tools.close());
  const api = await newWorkspace();
  tools.route('/lookup', { body: (r: { body: unknown }) => ({ found: r.body }) });
  tools.route('/refund', { body: (r: { headers: Record<string, unknown>; body: unknown }) => (r.headers['x-dry-run'] ? { would_refund: r.body } : { refunded: r.body }) });
  const schema = { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] };
  await api.post('/v1/tools', { name: 'lookup', effect: 'read', input_schema: schema, executor: { type: 'http', url: `${tools.url}/lookup` } });
  await api.post('/v1/tools', { name: 'refund', effect: 'write', supports_dry_run: true, input_schema: schema, executor: { type: 'http', url: `${tools.url}/refund` } });
  const approver = new Api((await api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key);
  return { api, approver, tools };
}

describe('action invocations', () => {
  it('an allowed read tool runs at once and returns its result', async () => {
    const { api, tools } = await workspaceWithTools();
    const res = await api.post('/v1/action_invocations', { tool: 'lookup', arguments: { order: 'A-1' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'action_invocation', status: 'completed', tool: 'lookup', result: { found: { order: 'A-1' } }, error: null, approval: null });
    expect(res.body.id).toMatch(/^act_[0-9a-f]{32}$/);
    expect(tools.requests[0]!.headers['idempotency-key']).toMatch(new RegExp(`^${res.body.id}:tc_`));
    expect((await api.get(`/v1/action_invocations/${res.body.id}`)).body.status).toBe('completed');
  });

  it('a write tool waits for an approval with its dry-run preview, then runs once', async () => {
    const { api, approver, tools } = await workspaceWithTools();
    const res = await api.post('/v1/action_invocations', { tool: 'refund', arguments: { order: 'B-2' } });
    expect(res.body.status).toBe('waiting_approval');
    expect(res.body.approval).toMatchObject({ status: 'pending', preview: { would_refund: { order: 'B-2' } }, action_invocation_id: res.body.id, run_id: null });
    expectError(await api.post(`/v1/approvals/${res.body.approval.id}/approve`, {}), 403, 'permission_error', 'self_approval_forbidden');
    await approver.post(`/v1/approvals/${res.body.approval.id}/approve`, {});
    const done = await waitFor(async () => {
      const a = (await api.get(`/v1/action_invocations/${res.body.id}`)).body;
      return a.status === 'completed' ? a : undefined;
    }, 'the action to complete');
    expect(done.result).toEqual({ refunded: { order: 'B-2' } });
    expect(tools.requests.filter((r) => !r.headers['x-dry-run'])).toHaveLength(1);
    // The creation is on the record when it happened, before the decision it waited for.
    const actions = (await api.get('/v1/audit_log')).body.data.map((r: { action: string }) => r.action);
    expect(actions.slice(-2)).toEqual(['action_invocation.create', 'approval.approve']);
  });

  it('dry_run never executes the tool for real', async () => {
    const { api, tools } = await workspaceWithTools();
    const res = await api.post('/v1/action_invocations', { tool: 'refund', arguments: { order: 'C-3' }, dry_run: true });
    expect(res.body).toMatchObject({ status: 'completed', dry_run: true, result: { dry_run: true, preview: { would_refund: { order: 'C-3' } } } });
    expect(tools.requests.every((r) => r.headers['x-dry-run'] === 'true')).toBe(true);
  });

  it('is idempotent with an Idempotency-Key, and validates tool and arguments first', async () => {
    const { api, tools } = await workspaceWithTools();
    const a = await api.post('/v1/action_invocations', { tool: 'lookup', arguments: { order: 'D-4' } }, { 'Idempotency-Key': 'lookup-d4' });
    const b = await api.post('/v1/action_invocations', { tool: 'lookup', arguments: { order: 'D-4' } }, { 'Idempotency-Key': 'lookup-d4' });
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body.id).toBe(a.body.id);
    expect(tools.requests).toHaveLength(1);
    expectError(await api.post('/v1/action_invocations', { tool: 'nope', arguments: {} }), 400, 'invalid_request_error', 'unknown_tool');
    expectError(await api.post('/v1/action_invocations', { tool: 'lookup', arguments: { order: 5 } }), 400, 'invalid_request_error', 'invalid_tool_arguments');
    expectError(await api.get('/v1/action_invocations/act_0000'), 404, 'not_found_error', 'not_found');
  });
});
