// Human approvals of write tools and client-executed tools, on the real stack.
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer, type ToolServer } from '../fixtures/tool-server';
import { allEvents, Api, env, expectError, newWorkspace, readSse, setupAgent, waitForStatus, type AgentSetup } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

interface Governed extends AgentSetup {
  tools: ToolServer;
  approver: Api;
  developer: Api;
}

async function governed(opts: { approval?: Record<string, unknown>; dryRun?: boolean; limits?: Record<string, number>; policy?: unknown } = {}): Promise<Governed> {
  const tools = await startToolServer();
  const s = await setupAgent();
  cleanups.push(() => s.llm.close(), () => tools.close());
  tools.route('/tickets', { body: (r: { headers: Record<string, unknown>; body: unknown }) => (r.headers['x-dry-run'] ? { would_create: r.body } : { ticket: 'T-1', got: r.body }) });
  const created = await s.api.post('/v1/tools', {
    name: 'create_ticket',
    effect: 'write',
    supports_dry_run: opts.dryRun ?? false,
    input_schema: { type: 'object', properties: { title: { type: 'string' }, priority: { enum: ['low', 'high'] } }, required: ['title'] },
    executor: { type: 'http', url: `${tools.url}/tickets` },
  });
  expect(created.status).toBe(201);
  await s.api.post('/v1/tools', { name: 'compute_locally', effect: 'read', executor: { type: 'client' }, input_schema: { type: 'object', properties: { x: { type: 'number' } } } });
  await s.api.patch('/v1/agents/assistant', {
    tools: ['create_ticket', 'compute_locally'],
    ...(opts.approval ? { approval: opts.approval } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
  });
  const key = async (roles: string[]) => new Api((await s.api.post('/v1/api_keys', { name: roles.join(','), roles })).body.key);
  return { ...s, tools, approver: await key(['approver']), developer: await key(['developer']) };
}

async function parkedRun(g: Governed, args: Record<string, unknown> = { title: 'Printer on fire', priority: 'high' }) {
  g.llm.reply({ text: 'Creating it.', tool_calls: [{ name: 'create_ticket', arguments: args }] }, { text: 'Done.' });
  const run = (await g.api.post('/v1/runs', { agent: 'assistant', input: 'file a ticket', wait: true })).body;
  expect(run.status).toBe('waiting_approval');
  expect(run.pending_approvals).toHaveLength(1);
  return { run, approvalId: run.pending_approvals[0].id as string };
}

describe('approvals', () => {
  it('a write tool waits for approval; approve runs it exactly once with the documented Idempotency-Key', async () => {
    const g = await governed();
    const { run, approvalId } = await parkedRun(g);
    expect(g.tools.requests).toHaveLength(0);
    const listed = await g.approver.get('/v1/approvals?status=pending');
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0]).toMatchObject({
      id: approvalId, object: 'approval', run_id: run.id, effect: 'write', policy_rule_id: 'default_write', status: 'pending',
      tool_call: { name: 'create_ticket', arguments: { title: 'Printer on fire', priority: 'high' } }, decided_at: null,
    });
    const approved = await g.approver.post(`/v1/approvals/${approvalId}/approve`, { comment: 'go ahead' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', comment: 'go ahead' });
    const done = await waitForStatus(g.api, run.id, ['completed']);
    expect(done.output_text).toBe('Done.');
    expect(g.tools.requests).toHaveLength(1);
    expect(g.tools.requests[0]!.headers['idempotency-key']).toBe(`${run.id}:${run.pending_approvals[0].tool_call.id}`);
    const types = (await allEvents(g.api, run.id)).map((e) => e.type);
    expect(types.indexOf('approval.requested')).toBeLessThan(types.indexOf('approval.decided'));
    expect(types.indexOf('approval.decided')).toBeLessThan(types.indexOf('tool_call.started'));
    expect(types).toContain('run.status_changed');
    expectError(await g.approver.post(`/v1/approvals/${approvalId}/deny`, { reason: 'too late' }), 409, 'conflict_error', 'approval_already_decided');
    expect((await g.approver.get(`/v1/approvals/${approvalId}`)).body).toMatchObject({ status: 'approved', decided_by: { name: 'approver' } });
  });

  it('deny: the model receives the reason as the tool result and the run completes', async () => {
    const g = await governed();
    const { run, approvalId } = await parkedRun(g);
    expectError(await g.approver.post(`/v1/approvals/${approvalId}/deny`, {}), 400, 'invalid_request_error', 'validation_failed');
    const denied = await g.approver.post(`/v1/approvals/${approvalId}/deny`, { reason: 'Not during the freeze' });
    expect(denied.body.status).toBe('denied');
    await waitForStatus(g.api, run.id, ['completed']);
    expect(g.tools.requests).toHaveLength(0);
    expect(JSON.stringify(g.llm.requests[1]!.body)).toContain('Not during the freeze');
  });

  it('approve with edited arguments sends the edited ones; invalid edits are 400 and the approval stays pending', async () => {
    const g = await governed();
    const { run, approvalId } = await parkedRun(g);
    const bad = await g.approver.post(`/v1/approvals/${approvalId}/approve`, { arguments: { title: 'x', priority: 'urgent' } });
    expectError(bad, 400, 'invalid_request_error', 'invalid_tool_arguments');
    expect((await g.approver.get(`/v1/approvals/${approvalId}`)).body.status).toBe('pending');
    expect((await g.api.get(`/v1/runs/${run.id}`)).body.status).toBe('waiting_approval');
    await g.approver.post(`/v1/approvals/${approvalId}/approve`, { arguments: { title: 'Printer smoking', priority: 'low' } });
    await waitForStatus(g.api, run.id, ['completed']);
    expect(g.tools.requests.map((r) => r.body)).toEqual([{ title: 'Printer smoking', priority: 'low' }]);
  });

  it('self-approval is 403, a developer is 403, another workspace is 404', async () => {
    const g = await governed();
    const { approvalId } = await parkedRun(g);
    expectError(await g.api.post(`/v1/approvals/${approvalId}/approve`, {}), 403, 'permission_error', 'self_approval_forbidden');
    expectError(await g.developer.post(`/v1/approvals/${approvalId}/approve`, {}), 403, 'permission_error', 'permission_denied');
    const other = await newWorkspace('other');
    expectError(await other.post(`/v1/approvals/${approvalId}/approve`, {}), 404, 'not_found_error', 'not_found');
    expectError(await other.get(`/v1/approvals/${approvalId}`), 404, 'not_found_error', 'not_found');
    expect((await g.approver.get(`/v1/approvals/${approvalId}`)).body.status).toBe('pending');
  });

  it('expiry with on_timeout deny continues the run; with fail the run fails approval_expired', async () => {
    const g = await governed({ approval: { timeout_seconds: 1, on_timeout: 'deny' } });
    const { run, approvalId } = await parkedRun(g);
    await waitForStatus(g.api, run.id, ['completed']);
    expect((await g.api.get(`/v1/approvals/${approvalId}`)).body.status).toBe('expired');
    expect(JSON.stringify(g.llm.requests[1]!.body)).toContain('approval_expired');

    await g.api.patch('/v1/agents/assistant', { approval: { timeout_seconds: 1, on_timeout: 'fail' } });
    const s2 = await g.api.post('/v1/sessions', { agent: 'assistant' });
    g.llm.reply({ tool_calls: [{ name: 'create_ticket', arguments: { title: 'again' } }] });
    const failed = (await g.api.post(`/v1/sessions/${s2.body.id}/runs`, { input: 'again', wait: true, wait_timeout_seconds: 30 })).body;
    const end = failed.status === 'failed' ? failed : await waitForStatus(g.api, failed.id, ['failed']);
    expect(end.error).toMatchObject({ code: 'approval_expired' });
    expect(g.tools.requests).toHaveLength(0);
  });

  it('canceling a run cancels its pending approvals; several calls in one step each get their own approval', async () => {
    const g = await governed();
    g.llm.reply({ tool_calls: [{ name: 'create_ticket', arguments: { title: 'one' } }, { name: 'create_ticket', arguments: { title: 'two' } }] });
    const run = (await g.api.post('/v1/runs', { agent: 'assistant', input: 'two tickets', wait: true })).body;
    expect(run.status).toBe('waiting_approval');
    expect(run.pending_approvals.map((a: { tool_call: { arguments: { title: string } } }) => a.tool_call.arguments.title)).toEqual(['one', 'two']);
    await g.api.post(`/v1/runs/${run.id}/cancel`, {});
    await waitForStatus(g.api, run.id, ['canceled']);
    const approvals = (await g.api.get(`/v1/approvals?run_id=${run.id}`)).body.data;
    expect(approvals.map((a: { status: string }) => a.status)).toEqual(['canceled', 'canceled']);
    expect(g.tools.requests).toHaveLength(0);
  });

  it('time spent waiting for a person does not count against the run timeout', async () => {
    // The run may take 2 s; its approval expires (deny) after 4 s: the run must outlive its own timeout.
    const g = await governed({ limits: { timeout_seconds: 2 }, approval: { timeout_seconds: 4, on_timeout: 'deny' } });
    const { run, approvalId } = await parkedRun(g);
    const done = await waitForStatus(g.api, run.id, ['completed', 'failed'], 20_000);
    expect(done).toMatchObject({ status: 'completed', error: null });
    expect((await g.api.get(`/v1/approvals/${approvalId}`)).body.status).toBe('expired');
    expectError(await g.approver.post(`/v1/approvals/${approvalId}/approve`, {}), 409, 'conflict_error', 'approval_already_decided');
  });

  it('edited arguments are decided again by the policy', async () => {
    const g = await governed({ policy: { rules: [{ id: 'no-forbidden', match: { tool: 'create_ticket', arguments: { title: { matches: 'forbidden' } } }, action: 'deny' }] } });
    const { run, approvalId } = await parkedRun(g, { title: 'fine' });
    await g.approver.post(`/v1/approvals/${approvalId}/approve`, { arguments: { title: 'a forbidden title' } });
    await waitForStatus(g.api, run.id, ['completed']);
    expect(g.tools.requests).toHaveLength(0);
    const failed = (await allEvents(g.api, run.id)).find((e) => e.type === 'tool_call.failed');
    expect(failed.data.error.code).toBe('policy_denied');
  });

  it('a tool that supports dry runs shows its preview on the approval', async () => {
    const g = await governed({ dryRun: true });
    const { approvalId } = await parkedRun(g, { title: 'preview me' });
    const a = (await g.approver.get(`/v1/approvals/${approvalId}`)).body;
    expect(a.preview).toEqual({ would_create: { title: 'preview me' } });
    expect(g.tools.requests).toHaveLength(1);
    expect(g.tools.requests[0]!.headers['x-dry-run']).toBe('true');
  });
});

describe('client tools', () => {
  it('tool_required, then resolve with output, with error, twice (409) and with an unknown id (404)', async () => {
    const g = await governed();
    g.llm.reply(
      { tool_calls: [{ name: 'compute_locally', arguments: { x: 2 } }, { name: 'compute_locally', arguments: { x: 3 } }] },
      { text: 'Four, and the second failed.' },
    );
    const run = (await g.api.post('/v1/runs', { agent: 'assistant', input: 'compute', wait: true })).body;
    expect(run.status).toBe('tool_required');
    expect(run.pending_tool_calls).toHaveLength(2);
    const [first, second] = run.pending_tool_calls as { id: string; name: string; arguments: { x: number } }[];
    expect(first).toMatchObject({ name: 'compute_locally', arguments: { x: 2 } });
    expectError(await g.developer.post(`/v1/runs/${run.id}/tools/resolve`, { tool_call_id: 'tc_unknown', output: 1 }), 404, 'not_found_error', 'not_found');
    expect((await g.developer.post(`/v1/runs/${run.id}/tools/resolve`, { tool_call_id: first!.id, output: { value: 4 } })).status).toBe(200);
    expectError(await g.developer.post(`/v1/runs/${run.id}/tools/resolve`, { tool_call_id: first!.id, output: 5 }), 409, 'conflict_error', 'tool_call_already_resolved');
    expectError(await g.developer.post(`/v1/runs/${run.id}/tools/resolve`, { tool_call_id: second!.id }), 400, 'invalid_request_error', 'validation_failed');
    await g.developer.post(`/v1/runs/${run.id}/tools/resolve`, { tool_call_id: second!.id, error: { message: 'division by zero' } });
    const done = await waitForStatus(g.api, run.id, ['completed']);
    expect(done.output_text).toBe('Four, and the second failed.');
    const sent = JSON.stringify(g.llm.requests[1]!.body);
    expect(sent).toContain('{\\"value\\":4}');
    expect(sent).toContain('division by zero');
    const types = (await allEvents(g.api, run.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'tool_call.required')).toHaveLength(2);
  });
});

describe('client tool deadline', () => {
  it('a client tool not resolved within approval.timeout_seconds is reported to the model as timed out', async () => {
    const g = await governed({ approval: { timeout_seconds: 1 } });
    g.llm.reply({ tool_calls: [{ name: 'compute_locally', arguments: { x: 1 } }] }, { text: 'The client did not answer.' });
    const run = (await g.api.post('/v1/runs', { agent: 'assistant', input: 'compute', wait: true })).body;
    expect(run.status).toBe('tool_required');
    const done = await waitForStatus(g.api, run.id, ['completed']);
    expect(done.output_text).toBe('The client did not answer.');
    expect(JSON.stringify(g.llm.requests[1]!.body)).toContain('client_tool_timeout');
    expectError(await g.developer.post(`/v1/runs/${run.id}/tools/resolve`, { tool_call_id: run.pending_tool_calls[0].id, output: 1 }), 409, 'conflict_error', 'tool_call_already_resolved');
  });
});

describe('waiting runs stream', () => {
  it('one SSE connection stays open through an approval until the run completes', async () => {
    const g = await governed();
    const { run, approvalId } = await parkedRun(g);
    const res = await fetch(`${env().apiUrl}/v1/runs/${run.id}/events`, { headers: { authorization: `Bearer ${g.api.key}`, accept: 'text/event-stream' } });
    const reading = readSse(res);
    await g.approver.post(`/v1/approvals/${approvalId}/approve`, {});
    const events = (await reading).map((m) => m.event);
    expect(events).toContain('approval.requested');
    expect(events).toContain('approval.decided');
    expect(events[events.length - 1]).toBe('run.completed');
  });
});
