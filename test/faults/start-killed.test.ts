// Issue 17, item 19: `ap start` SIGKILLed (as an out-of-memory kill does) while runs are parked on
// approvals and one run is in the middle of a slow tool call. Its embedded PostgreSQL and Temporal go
// with it; a new `ap start` on the same data directory comes up, and every run completes.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server';
import { startFakeLlm, type FakeLlm } from '../fixtures/fake-llm';
import { Api, env, waitFor, waitForStatus } from '../support/api';
import { canary } from '../support/canaries';
import { serversOf, spawnStart, type ApProcess } from '../support/processes';
import { payingAgent, startEffectServer, type EffectServer } from './support';

const procs: ApProcess[] = [];
let tools: EffectServer | undefined;
const llms: FakeLlm[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGTERM');
  await tools?.close();
  for (const l of llms) await l.close();
});

function startPlatform(dataDir: string, port: number, name: string): ApProcess {
  const p = spawnStart(dataDir, port, env().temporalCli, path.join(env().logDir, `${name}.log`), 'info');
  procs.push(p);
  return p;
}

describe('ap start SIGKILLed', () => {
  it('with runs parked on approvals and one mid-call: the next start on the data directory comes up and every run completes', async () => {
    const dataDir = path.join(env().runDir, 'start-killed-fault');
    fs.mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const first = startPlatform(dataDir, port, 'start-killed-1');
    await first.ready;
    const key = /^Admin API key: (\S+)$/m.exec(first.output())![1]!;
    const base = `http://127.0.0.1:${port}`;

    tools = await startEffectServer();
    const { admin, approverKey, llm } = await payingAgent(new Api(key, base), tools.url);
    llms.push(llm);
    // A second agent whose one tool answers only once the test says so: the call is in flight at the kill.
    tools.route('/slow', { delay_ms: 600_000, body: { answer: 'late' } });
    const slowLlm = await startFakeLlm('openai');
    llms.push(slowLlm);
    slowLlm.respond((body) => {
      const messages = body.messages as { role: string }[];
      return messages[messages.length - 1]!.role === 'tool' ? { text: 'Looked it up.' } : { tool_calls: [{ name: 'lookup', arguments: { q: 'x' } }] };
    });
    for (const r of [
      await admin.post('/v1/model_cards', { id: 'slow-fake', provider: 'openai', base_url: slowLlm.baseUrl, api_key: canary('slowkey'), default_model: 'm' }),
      await admin.post('/v1/tools', { name: 'lookup', effect: 'read', input_schema: { type: 'object', properties: { q: { type: 'string' } } }, executor: { type: 'http', url: `${tools.url}/slow`, timeout_seconds: 600 } }),
      await admin.post('/v1/agents', { name: 'looker', model: { card: 'slow-fake' }, instructions: 'Look it up.', tools: ['lookup'] }),
    ]) expect(r.status, JSON.stringify(r.body)).toBe(201);

    const parked: string[] = [];
    for (const ref of ['ref-a', 'ref-b', 'ref-c']) {
      const r = await admin.post('/v1/runs', { agent: 'payer', input: `pay ${ref}` });
      expect(r.status).toBe(202);
      parked.push(r.body.id);
    }
    for (const id of parked) await waitForStatus(admin, id, ['waiting_approval'], 120_000);
    const slow = (await admin.post('/v1/runs', { agent: 'looker', input: 'look' })).body.id as string;
    await waitFor(async () => tools!.requests.some((q) => q.path === '/slow'), 'the slow tool call to arrive', 120_000);

    await first.kill('SIGKILL');
    await waitFor(async () => serversOf(dataDir).length === 0, 'PostgreSQL and Temporal of the killed start to stop', 60_000);

    // The tool answers from now on (the retried call after the restart).
    tools.route('/slow', { body: { answer: 'late' } });
    const second = startPlatform(dataDir, port, 'start-killed-2');
    await second.ready;
    expect(second.output()).not.toMatch(/^Error/m);

    const approver = new Api(approverKey, base);
    for (const id of parked) {
      const pending = await waitFor(async () => {
        const r = await approver.get(`/v1/approvals?status=pending&limit=100`);
        return r.status === 200 ? r.body.data.find((a: { run_id: string }) => a.run_id === id) : undefined;
      }, `the approval of ${id} after the restart`, 120_000);
      expect((await approver.post(`/v1/approvals/${pending.id}/approve`, {})).status).toBe(200);
    }
    for (const id of [...parked, slow]) expect((await waitForStatus(admin, id, ['completed', 'failed', 'canceled'], 300_000)).status, id).toBe('completed');
    expect([...tools.effects.values()].map((e) => e.ref).sort()).toEqual(['ref-a', 'ref-b', 'ref-c']);
  });
});
