// Durability: a worker that dies while a run waits on a slow model call is replaced, and the run
// completes; the API keeps answering throughout. Processes here are separate OS processes.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnAp, type ApProcess } from '../support/processes';
import { startPair } from '../support/pair';
import { allEvents, Api, env, setupAgent, waitFor, waitForStatus } from '../support/api';
import { startToolServer } from '../fixtures/tool-server';

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

describe('restart durability', () => {
  it('a worker killed during a slow model call is replaced and the run completes', async () => {
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

  it('approvals survive a stopped worker, and a worker killed during a write runs no second effect', async () => {
    const { base, port, worker: worker1 } = await pair('durability2');

    const tools = await startToolServer();
    const s = await setupAgent();
    cleanups.push(() => s.llm.close(), () => tools.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    await client.post('/v1/tools', { name: 'pay', effect: 'write', input_schema: { type: 'object', properties: { amount: { type: 'number' } } }, executor: { type: 'http', url: `${tools.url}/pay` } });
    await client.patch('/v1/agents/assistant', { tools: ['pay'] });
    const approver = new Api((await client.post('/v1/api_keys', { name: 'approver', roles: ['approver'] })).body.key, client.base);
    tools.route('/pay', { body: { paid: true } });

    // A: every worker is down while the approval is decided.
    s.llm.reply({ tool_calls: [{ name: 'pay', arguments: { amount: 5 } }] }, { text: 'Paid.' });
    const run1 = (await client.post('/v1/runs', { agent: 'assistant', input: 'pay 5', wait: true })).body;
    expect(run1.status).toBe('waiting_approval');
    await worker1.kill('SIGKILL');
    expect((await approver.post(`/v1/approvals/${run1.pending_approvals[0].id}/approve`, {})).status).toBe(200);
    const worker2 = spawnAp(['worker'], base, path.join(env().logDir, 'durability2-worker2.log'));
    procs.push(worker2);
    await worker2.ready;
    expect((await waitForStatus(client, run1.id, ['completed'], 45_000)).output_text).toBe('Paid.');
    expect(tools.requests).toHaveLength(1);

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
    const keys = tools.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
    const failed = (await allEvents(client, run2.id)).find((ev) => ev.type === 'tool_call.failed');
    expect(failed.data.error.code).toBe('tool_error');
  });
});
