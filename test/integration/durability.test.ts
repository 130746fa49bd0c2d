// Durability: a worker that dies while a run waits on a slow model call is replaced, and the run
// completes; the API keeps answering throughout. Processes here are separate OS processes.
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnAp, type ApProcess } from '../support/processes';
import { startPair } from '../support/pair';
import { adminApi, allEvents, Api, env, setupAgent, waitFor, waitForStatus } from '../support/api';
import { budgetPeriod } from '../../src/domain/usage-report';
import { startEffectServer, startToolServer } from '../fixtures/tool-server';

const procs: ApProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});

async function pair(name: string) {
  const p = await startPair(name);
  procs.push(p.api, p.worker);
  return p;
}

// Each test starts processes of its own (a pair, then a replacement worker: each bundles the workflows
// first), which takes half a minute on a loaded 2-core machine; hence 150 s, not the default 60 s.
describe('restart durability', () => {
  it('a worker killed during a slow model call is replaced and the run completes', { timeout: 150_000 }, async () => {
    const { base, port, worker: worker1 } = await pair('durability');

    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    s.llm.reply({ text: 'this reply never arrives', delay_ms: 120_000 }, { text: 'Answered after the restart.' });
    const run = (await client.post('/v1/runs', { agent: 'assistant', input: 'slow question' })).body;
    await waitFor(async () => s.llm.requests.length === 1, 'the first model call');

    await worker1.kill('SIGKILL');
    expect((await client.get(`/v1/runs/${run.id}`)).body.status).toBe('running');
    const worker2 = spawnAp(['worker'], base, path.join(env().logDir, 'durability-worker2.log'));
    procs.push(worker2);
    await worker2.ready;

    const done = await waitForStatus(client, run.id, ['completed'], 45_000);
    expect(done.output_text).toBe('Answered after the restart.');
    expect(s.llm.requests).toHaveLength(2);
    const events = await allEvents(client, run.id);
    expect(events.map((ev) => ev.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((ev) => ev.type === 'message.completed')).toHaveLength(1);
  });

  it('approvals and client tools decided while every worker is down, and a worker killed during a write runs no second effect', { timeout: 150_000 }, async () => {
    const { base, port, worker: worker1 } = await pair('durability2');

    const tools = await startToolServer();
    const s = await setupAgent();
    cleanups.push(() => s.llm.close(), () => tools.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    await client.post('/v1/tools', { name: 'pay', effect: 'write', input_schema: { type: 'object', properties: { amount: { type: 'number' } } }, executor: { type: 'http', url: `${tools.url}/pay` } });
    await client.post('/v1/tools', { name: 'compute', effect: 'read', input_schema: { type: 'object', properties: { x: { type: 'number' } } }, executor: { type: 'client' } });
    await client.patch('/v1/agents/assistant', { tools: ['pay', 'compute'] });
    const approver = new Api((await client.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key, client.base);
    tools.route('/pay', { body: { paid: true } });

    // A: every worker is down while an approval is decided and a client tool is resolved.
    s.llm.reply({ tool_calls: [{ name: 'pay', arguments: { amount: 5 } }] }, { tool_calls: [{ name: 'compute', arguments: { x: 3 } }] });
    s.llm.respond((body) => {
      const last = JSON.stringify((body.messages as unknown[]).at(-1));
      return { text: last.includes('paid') ? 'Paid.' : last.includes('value') ? 'Computed 9.' : 'unexpected' };
    });
    const run1 = (await client.post('/v1/runs', { agent: 'assistant', input: 'pay 5', wait: true })).body;
    expect(run1.status).toBe('waiting_approval');
    const run1b = (await client.post('/v1/runs', { agent: 'assistant', input: 'compute 3', wait: true })).body;
    expect(run1b.status).toBe('tool_required');
    await worker1.kill('SIGKILL');
    expect((await approver.post(`/v1/approvals/${run1.pending_approvals[0].id}/approve`, {})).status).toBe(200);
    expect((await client.post(`/v1/runs/${run1b.id}/tools/resolve`, { tool_call_id: run1b.pending_tool_calls[0].id, output: { value: 9 } })).status).toBe(200);
    const worker2 = spawnAp(['worker'], base, path.join(env().logDir, 'durability2-worker2.log'));
    procs.push(worker2);
    await worker2.ready;
    expect((await waitForStatus(client, run1.id, ['completed'], 45_000)).output_text).toBe('Paid.');
    expect((await waitForStatus(client, run1b.id, ['completed'], 45_000)).output_text).toBe('Computed 9.');
    expect(tools.requests).toHaveLength(1);
    for (const id of [run1.id, run1b.id]) {
      const events = await allEvents(client, id);
      expect(events.filter((ev) => ev.type === 'tool_call.completed')).toHaveLength(1);
      expect(events.map((ev) => ev.seq)).toEqual(events.map((_, i) => i + 1));
    }
    // The client tool's output reached the model exactly once.
    const withOutput = s.llm.requests.filter((r) => JSON.stringify(r.body).includes('{\\"value\\":9}'));
    expect(withOutput).toHaveLength(1);

    // B: the worker dies while the write's HTTP request is in flight.
    tools.route('/pay', { delay_ms: 2_000, body: { paid: true } });
    s.llm.reply({ tool_calls: [{ name: 'pay', arguments: { amount: 7 } }] }, { text: 'The payment outcome is unknown.' });
    const run2 = (await client.post('/v1/runs', { agent: 'assistant', input: 'pay 7', wait: true })).body;
    await approver.post(`/v1/approvals/${run2.pending_approvals[0].id}/approve`, {});
    await waitFor(async () => tools.requests.length === 2, 'the write request to arrive');
    await worker2.kill('SIGKILL');
    const worker3 = spawnAp(['worker'], base, path.join(env().logDir, 'durability2-worker3.log'));
    procs.push(worker3);
    await worker3.ready;
    const done = await waitForStatus(client, run2.id, ['completed'], 60_000);
    expect(done.output_text).toBe('The payment outcome is unknown.');
    // One request per Idempotency-Key: the write in flight at the kill was not sent again.
    const keys = tools.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
    expect(keys[1]).toBe(`${run2.id}:${run2.pending_approvals[0].tool_call.id}`);
    const failed = (await allEvents(client, run2.id)).find((ev) => ev.type === 'tool_call.failed');
    expect(failed.data.error.code).toBe('tool_error');
  });

  it('an idempotent write whose worker is SIGKILLed mid-request is sent again under the same Idempotency-Key and applied once', { timeout: 150_000 }, async () => {
    const { base, port, worker: worker1 } = await pair('durability3');
    const s = await setupAgent();
    const tools = await startEffectServer(2_000);
    cleanups.push(() => s.llm.close(), () => tools.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    await client.post('/v1/tools', { name: 'pay', effect: 'write', idempotent: true, input_schema: { type: 'object', properties: { ref: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/pay` } });
    await client.patch('/v1/agents/assistant', { tools: ['pay'] });
    const approver = new Api((await client.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key, client.base);
    s.llm.reply({ tool_calls: [{ name: 'pay', arguments: { ref: 'ref-once' } }] }, { text: 'Paid once.' });
    const run = (await client.post('/v1/runs', { agent: 'assistant', input: 'pay once', wait: true })).body;
    await approver.post(`/v1/approvals/${run.pending_approvals[0].id}/approve`, {});
    await waitFor(async () => tools.requests.length === 1, 'the write request to arrive');
    await worker1.kill('SIGKILL');
    const worker2 = spawnAp(['worker'], base, path.join(env().logDir, 'durability3-worker2.log'));
    procs.push(worker2);
    await worker2.ready;
    expect((await waitForStatus(client, run.id, ['completed'], 60_000)).output_text).toBe('Paid once.');
    // The retry carried the same key; the tool server applied one effect for it.
    const key = `${run.id}:${run.pending_approvals[0].tool_call.id}`;
    expect(tools.requests.map((r) => r.headers['idempotency-key'])).toEqual([key, key]);
    expect([...tools.effects.entries()]).toEqual([[key, { ref: 'ref-once', requests: 2 }]]);
    const events = await allEvents(client, run.id);
    expect(events.filter((ev) => ev.type === 'tool_call.completed')).toHaveLength(1);
    expect(events.map((ev) => ev.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('an approval decided while the worker that requested it is frozen, then killed, reaches the run when another worker replays it', async () => {
    // Found by the scale-out test: the replaying worker got the decision signal and the model result that
    // leads to the approval in one activation, signals first, and dropped the decision (the run then waited
    // for its approval timeout). Here the race is made certain: the worker is SIGSTOPped as soon as the
    // batch with the approval is committed (its NOTIFY), before it can complete that workflow task.
    const { base, port, worker: worker1 } = await pair('durability4');
    const s = await setupAgent();
    const tools = await startToolServer();
    const listener = new pg.Client({ connectionString: env().databaseUrl });
    cleanups.push(() => s.llm.close(), () => tools.close(), () => listener.end());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    tools.route('/pay', { body: { paid: true } });
    tools.route('/hook', { body: {} });
    await client.post('/v1/tools', { name: 'pay', effect: 'write', input_schema: { type: 'object', properties: { amount: { type: 'number' } } }, executor: { type: 'http', url: `${tools.url}/pay` } });
    await client.patch('/v1/agents/assistant', { tools: ['pay'] });
    // A webhook on run.waiting_approval: after committing the batch, the worker starts its delivery (a
    // Temporal call), which keeps the workflow task open a few milliseconds longer.
    expect((await client.post('/v1/webhooks', { url: `${tools.url}/hook`, events: ['run.waiting_approval'] })).status).toBe(201);
    const approver = new Api((await client.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key, client.base);
    s.llm.reply({ tool_calls: [{ name: 'pay', arguments: { amount: 3 } }] }, { text: 'Paid 3.' });

    await listener.connect();
    await listener.query('LISTEN ap_events');
    let frozen = false;
    let runId = '';
    listener.on('notification', (m) => {
      const [id, seq] = (m.payload ?? '').split(':');
      // The first batch (queued … step.started) is stored before the model call; the next one carries the approval.
      if (!frozen && id === runId && Number(seq) > 4) {
        frozen = true;
        worker1.child.kill('SIGSTOP');
      }
    });
    runId = (await client.post('/v1/runs', { agent: 'assistant', input: 'pay 3' })).body.id;
    await waitFor(async () => frozen, 'the approval batch to be committed');
    // Stored with the batch (the run itself cannot be asked: its worker is frozen).
    const pending = (await approver.get('/v1/approvals?status=pending')).body.data as { id: string; run_id: string }[];
    expect(pending.map((x) => x.run_id)).toEqual([runId]);
    expect((await approver.post(`/v1/approvals/${pending[0]!.id}/approve`, {})).status).toBe(200);
    await worker1.kill('SIGKILL');
    const worker2 = spawnAp(['worker'], base, path.join(env().logDir, 'durability4-worker2.log'));
    procs.push(worker2);
    await worker2.ready;

    const done = await waitForStatus(client, runId, ['completed'], 60_000);
    expect(done.output_text).toBe('Paid 3.');
    expect(tools.requests.filter((r) => r.path === '/pay')).toHaveLength(1);
    // The race was hit: the workflow task that had the model's answer timed out, and the decision was
    // signalled before the next one completed, so both reached the replaying worker together.
    const events = ((await client.get(`/v1/runs/${runId}/history`)).body.events as { eventType: string }[]).map((e) => e.eventType.replace('EVENT_TYPE_', ''));
    const answered = events.indexOf('ACTIVITY_TASK_COMPLETED');
    const timedOut = events.indexOf('WORKFLOW_TASK_TIMED_OUT', answered);
    const signaled = events.indexOf('WORKFLOW_EXECUTION_SIGNALED');
    expect(timedOut).toBeGreaterThan(answered);
    expect(events.slice(answered, signaled)).not.toContain('WORKFLOW_TASK_COMPLETED');
  }, 120_000);
  it("a worker killed after it stored the run's end with the answer, before Temporal heard of it: the model call's retry answers with that end and asks the provider nothing", { timeout: 150_000 }, async () => {
    const { base, port, worker: worker1 } = await pair('durability-end');
    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    const ws = (await s.api.get('/v1/workspaces/current')).body.id as string;
    expect((await adminApi().patch(`/v1/workspaces/${ws}`, { token_budget: 20 })).status).toBe(200);
    s.llm.reply({ text: 'Stored once.', usage: { input_tokens: 11, output_tokens: 7 } }, { text: 'A second answer.', usage: { input_tokens: 11, output_tokens: 7 } });
    // The run's end reaches 80 % of the budget: the model activity records that alert after its end has
    // committed. Holding the alert's row keeps the activity there, its end stored and unreported.
    const hold = new pg.Client({ connectionString: env().databaseUrl });
    await hold.connect();
    cleanups.push(() => hold.end().catch(() => undefined));
    const holder = (await hold.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await hold.query('BEGIN');
    await hold.query('INSERT INTO budget_alerts (workspace_id, period, threshold, budget, spent) VALUES ($1, $2, 0.8, 20, 18)', [ws, budgetPeriod(new Date()).period]);

    const run = (await client.post('/v1/runs', { agent: 'assistant', input: 'answer once' })).body;
    await waitForStatus(client, run.id, ['completed'], 30_000);
    await waitFor(async () => (await hold.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holder])).rows[0]!.n > 0, 'the model activity to wait on the alert, its end stored');
    await worker1.kill('SIGKILL');
    await hold.query('ROLLBACK');
    const worker2 = spawnAp(['worker'], base, path.join(env().logDir, 'durability-end-worker2.log'));
    procs.push(worker2);
    await worker2.ready;

    // The first attempt times out (heartbeats stopped with the worker); the second finds the stored end.
    type HistoryEvent = { eventType: string; activityTaskStartedEventAttributes?: { attempt?: number }; workflowExecutionCompletedEventAttributes?: { result: { payloads: { data: string }[] } } };
    const history = async () => (await client.get(`/v1/runs/${run.id}/history`)).body.events as HistoryEvent[];
    const events = await waitFor(async () => {
      const h = await history();
      return h.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED') && h;
    }, 'the workflow to complete after the retry', 90_000);
    expect(events.find((e) => e.activityTaskStartedEventAttributes)!.activityTaskStartedEventAttributes!.attempt).toBe(2);
    expect(s.llm.requests).toHaveLength(1);
    // Temporal's result is the stored end, not a second answer.
    const result = JSON.parse(Buffer.from(events.find((e) => e.workflowExecutionCompletedEventAttributes)!.workflowExecutionCompletedEventAttributes!.result.payloads[0]!.data, 'base64').toString('utf8'));
    const stored = (await client.get(`/v1/runs/${run.id}`)).body;
    expect(result).toMatchObject({ status: 'completed', output_text: 'Stored once.', usage: stored.usage, completed_at: stored.completed_at });
    const log = await allEvents(client, run.id);
    expect(log.map((ev) => ev.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((ev) => ev.type === 'message.completed')).toHaveLength(1);
    expect((await client.get(`/v1/sessions/${run.session_id}/messages`)).body.data.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    // What the killed attempt did not get to after its commit was done by the retry: the budget alert.
    const alerts = await hold.query('SELECT threshold FROM budget_alerts WHERE workspace_id = $1', [ws]);
    expect(alerts.rows.map((r: { threshold: number }) => Number(r.threshold))).toEqual([0.8]);
  });
});
