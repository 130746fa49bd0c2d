// Usage at a glance (API.md 16): GET /v1/usage by day, agent and model matches the runs a workspace made,
// and budget alerts: `budget.threshold_reached` once per threshold and period, signed like every webhook.
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { startReceiver } from '../fixtures/webhook-receiver';
import { adminApi, Api, expectError, httpTool, newWorkspace, setupAgent, waitFor, waitForStatus } from '../support/api';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const today = () => new Date().toISOString().slice(0, 10);
const sum = (runs: { usage: Record<string, number> }[], f: string) => runs.reduce((n, r) => n + r.usage[f]!, 0);

/** A workspace with two agents: `assistant` (fake-model, a write tool that needs approval) and `other` (other-model, one step). */
async function workspaceWithRuns() {
  const tools = await startToolServer();
  const s = await setupAgent({ pricing: true });
  cleanups.push(() => s.llm.close(), () => tools.close());
  tools.route('/tickets', { body: () => ({ ticket: 'T-1' }) });
  tools.route('/lookup', { body: () => ({ found: true }) });
  await httpTool(s.api, 'create_ticket', `${tools.url}/tickets`, { effect: 'write' });
  await httpTool(s.api, 'lookup', `${tools.url}/lookup`);
  expect((await s.api.patch('/v1/agents/assistant', { tools: ['create_ticket'] })).status).toBe(200);
  const other = await s.api.post('/v1/agents', { name: 'other', model: { card: 'fake', model: 'other-model' }, instructions: 'x', tools: ['lookup'], limits: { max_steps: 1 } });
  expect(other.status).toBe(201);
  const { api, llm } = s;
  const approver = new Api((await api.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key);
  const ticket = { tool_calls: [{ name: 'create_ticket', arguments: { city: 'Oslo' } }], usage: { input_tokens: 40, output_tokens: 10 } };
  const done = { text: 'Done.', usage: { input_tokens: 50, output_tokens: 5 } };

  llm.reply({ text: 'Hello.', usage: { input_tokens: 100, output_tokens: 20 } });
  expect((await api.post('/v1/runs', { agent: 'assistant', input: 'hi', wait: true })).body.status).toBe('completed');
  for (const decide of ['approve', 'deny'] as const) {
    llm.reply(ticket, done);
    const parked = (await api.post('/v1/runs', { agent: 'assistant', input: 'file it', wait: true })).body;
    expect(parked.status).toBe('waiting_approval');
    const decided = await approver.post(`/v1/approvals/${parked.pending_approvals[0].id}/${decide}`, decide === 'deny' ? { reason: 'no' } : {});
    expect(decided.status).toBe(200);
    await waitForStatus(api, parked.id, ['completed']);
  }
  // One step with a tool call and no second step allowed: max_steps_exceeded.
  llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'Rome' } }], usage: { input_tokens: 7, output_tokens: 3 } });
  expect((await api.post('/v1/runs', { agent: 'other', input: 'look', wait: true })).body).toMatchObject({ status: 'failed', error: { code: 'max_steps_exceeded' } });
  const runs = (await api.get('/v1/runs?limit=100')).body.data;
  expect(runs).toHaveLength(4);
  return { api, approver, runs, otherId: other.body.id as string, assistantId: s.agent.id as string };
}

describe('usage', () => {
  it('by agent, model and day, the figures are those of the runs; the total counts each run once', async () => {
    const { api, approver, runs, otherId, assistantId } = await workspaceWithRuns();
    const mine = runs.filter((r: { agent_id: string }) => r.agent_id === assistantId);
    const theirs = runs.filter((r: { agent_id: string }) => r.agent_id === otherId);

    const byAgent = (await api.get('/v1/usage?group_by=agent')).body;
    expect(byAgent).toMatchObject({ object: 'list', group_by: 'agent', has_more: false, next_cursor: null });
    expect(byAgent.data).toHaveLength(2);
    expect(byAgent.data[0]).toEqual({
      object: 'usage_row', key: assistantId, label: 'assistant', runs: 3,
      input_tokens: sum(mine, 'input_tokens'), output_tokens: sum(mine, 'output_tokens'), tool_calls: sum(mine, 'tool_calls'),
      cost_usd: expect.closeTo(sum(mine, 'cost_usd'), 9),
      approvals: { requested: 2, approved: 1, denied: 1, expired: 0 }, failed_runs: 0, failure_rate: 0,
    });
    expect(byAgent.data[0].input_tokens).toBe(100 + 2 * (40 + 50));
    expect(byAgent.data[1]).toMatchObject({ key: otherId, label: 'other', runs: 1, input_tokens: 7, output_tokens: 3, failed_runs: 1, failure_rate: 1, approvals: { requested: 0 } });
    expect(byAgent.total).toMatchObject({ object: 'usage_total', runs: 4, input_tokens: sum(runs, 'input_tokens'), output_tokens: sum(runs, 'output_tokens'), failed_runs: 1, failure_rate: 0.25, approvals: { requested: 2, approved: 1, denied: 1, expired: 0 } });

    // By the model that answered: the tool calls it asked for and their approvals.
    const byModel = (await api.get('/v1/usage?group_by=model')).body;
    expect(byModel.data.map((r: { key: string }) => r.key)).toEqual(['fake-model', 'other-model']);
    expect(byModel.data[0]).toMatchObject({ runs: 3, input_tokens: 280, output_tokens: 50, tool_calls: 2, approvals: { requested: 2, approved: 1, denied: 1 }, failed_runs: 0 });
    expect(byModel.data[0].cost_usd).toBeCloseTo((280 * 1 + 50 * 2) / 1e6, 9);
    expect(byModel.data[1]).toMatchObject({ runs: 1, input_tokens: 7, output_tokens: 3, tool_calls: 1, failed_runs: 1 });
    expect(byModel.total).toEqual(byAgent.total);

    // By day (the default): the last 30 UTC days, oldest first, today holding everything.
    const byDay = (await api.get('/v1/usage')).body;
    expect(byDay.group_by).toBe('day');
    expect(byDay.data).toHaveLength(30);
    expect(byDay.data[29]).toMatchObject({ key: today(), label: today(), runs: 4, input_tokens: byAgent.total.input_tokens, failed_runs: 1 });
    expect(byDay.data.slice(0, 29).every((d: { runs: number }) => d.runs === 0)).toBe(true);
    expect(byDay.data.map((d: { key: string }) => d.key)).toEqual([...byDay.data.map((d: { key: string }) => d.key)].sort());

    // Another window, another workspace: nothing.
    const past = (await api.get('/v1/usage?from=2020-01-01&to=2020-01-31')).body;
    expect(past).toMatchObject({ from: '2020-01-01T00:00:00.000Z', to: '2020-02-01T00:00:00.000Z', total: { runs: 0, cost_usd: 0 } });
    expect(past.data).toHaveLength(31);
    expect((await (await newWorkspace()).get('/v1/usage?group_by=agent')).body).toMatchObject({ data: [], total: { runs: 0 } });
    // An approver reads runs, so usage too.
    expect((await approver.get('/v1/usage?group_by=model')).body.total.runs).toBe(4);
  });

  it('a bad query is 400 validation_failed naming its parameter', async () => {
    const api = await newWorkspace();
    const bad = async (qs: string, param: string) => {
      const res = await api.get(`/v1/usage?${qs}`);
      expectError(res, 400, 'invalid_request_error', 'validation_failed');
      expect(res.body.error.param).toBe(param);
    };
    await bad('group_by=week', 'group_by');
    await bad('from=yesterday', 'from');
    await bad('to=2026-13-01', 'to');
    await bad('from=2026-02-01&to=2026-01-01', 'from');
    await bad('from=2024-01-01&to=2026-01-01', 'from');
    expect((await api.get('/v1/usage?from=2026-01-01T10:00:00Z&to=2026-01-02T10:00:00%2B02:00&group_by=day')).body.data.map((d: { key: string }) => d.key)).toEqual(['2026-01-01', '2026-01-02']);
  });

  it('budget alerts: crossing 80 % and then 100 % sends one signed budget.threshold_reached each, and never again in the period', async () => {
    const receiver = await startReceiver();
    const { api, llm } = await setupAgent();
    cleanups.push(() => llm.close(), () => receiver.close());
    const ws = (await api.get('/v1/workspaces/current')).body.id;
    await adminApi().patch(`/v1/workspaces/${ws}`, { token_budget: 100 });
    const hook = (await api.post('/v1/webhooks', { url: receiver.url, events: ['budget.threshold_reached', 'run.completed', 'run.failed'] })).body;
    const received = () => receiver.received.map((r) => ({ ...r, payload: new Webhook(hook.secret).verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) }) as { type: string; data: any } }));
    const alerts = () => received().filter((r) => r.payload.type === 'budget.threshold_reached');
    /** A run, and its own run.* delivery: sent after its end's budget check has committed (activities/run-log.ts). */
    const run = async (input_tokens: number, output_tokens: number, status: string) => {
      llm.reply({ text: 'ok', usage: { input_tokens, output_tokens } });
      const r = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
      expect(r.status).toBe(status);
      await waitFor(async () => received().some((x) => x.payload.type.startsWith('run.') && x.payload.data.id === r.id), `the ${r.id} delivery`);
    };
    const period = new Date().toISOString().slice(0, 7);

    await run(60, 25, 'completed'); // 85 of 100
    await waitFor(async () => alerts().length === 1, 'the 80 % alert');
    expect(alerts()[0]!.payload.data).toMatchObject({ period, budget: 100, spent: 85, threshold: 0.8, unit: 'tokens', workspace_id: ws });
    await run(3, 2, 'completed'); // 90: no threshold crossed
    await run(10, 5, 'failed'); // 105: the run crosses the budget and fails with budget_exceeded
    await waitFor(async () => alerts().length === 2, 'the 100 % alert');
    expect(alerts()[1]!.payload.data).toMatchObject({ period, budget: 100, spent: 105, threshold: 1 });
    expectError(await api.post('/v1/runs', { agent: 'assistant', input: 'no' }), 402, 'budget_error', 'budget_exceeded');
    // A raised budget crossed again in the same period: no alert (once per period).
    await adminApi().patch(`/v1/workspaces/${ws}`, { token_budget: 110 });
    await run(5, 5, 'failed'); // 115 of 110
    expect(alerts()).toHaveLength(2);
    expect(new Set(alerts().map((a) => a.headers['webhook-id'])).size).toBe(2);
    const deliveries = (await api.get(`/v1/webhooks/${hook.id}/deliveries?limit=100`)).body.data.filter((d: { event_type: string }) => d.event_type === 'budget.threshold_reached');
    expect(deliveries).toHaveLength(2);
  });
});
