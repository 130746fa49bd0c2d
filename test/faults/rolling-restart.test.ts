// Issue 9: workers replaced one by one by the next release's workflow code (a patched() change), with
// old and new workers side by side: runs parked on approvals before the restart complete after it, and
// only runs started on the new code take its path. And graceful shutdown: a worker that gets SIGTERM
// during a model call finishes that call (it is not run twice) before it exits.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPair } from '../support/pair';
import { spawnAp, type ApProcess } from '../support/processes';
import { Api, env, setupAgent, waitFor, waitForStatus } from '../support/api';
import { historiesContaining } from '../support/canaries';
import { NEXT_RELEASE_PATCH } from '../fixtures/workflows-next';
import { payingAgent, startEffectServer, type EffectServer } from './support';

const NEXT = path.resolve(__dirname, '../fixtures/workflows-next/index.ts');

const procs: ApProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});

describe('rolling restart of the workers', () => {
  it('runs parked before a rolling restart to the next workflow code complete after it; old and new code run side by side', async () => {
    const pair = await startPair('rolling');
    procs.push(pair.api, pair.worker);
    const logs = env().logDir;
    const worker = (name: string, next: boolean) => {
      const p = spawnAp(['worker'], { ...pair.base, ...(next ? { AP_WORKER_WORKFLOWS: NEXT } : {}) }, path.join(logs, `rolling-${name}.log`));
      procs.push(p);
      return p;
    };
    const oldB = worker('old-b', false);
    await oldB.ready;
    const tools: EffectServer = await startEffectServer();
    cleanups.push(() => tools.close());
    const base = `http://127.0.0.1:${pair.port}`;
    const { admin, approverKey, llm } = await payingAgent(new Api(env().adminKey, base), tools.url);
    cleanups.push(() => llm.close());
    const approver = new Api(approverKey, base);
    const park = async (ref: string) => {
      const r = (await admin.post('/v1/runs', { agent: 'payer', input: `pay ${ref}`, wait: true })).body;
      expect(r.status, JSON.stringify(r)).toBe('waiting_approval');
      return r as { id: string; pending_approvals: { id: string }[] };
    };

    const before = await park('ref-before');
    // One worker at a time: start a new one, then stop an old one (SIGTERM: Temporal's graceful shutdown).
    const newC = worker('new-c', true);
    await newC.ready;
    await pair.worker.kill('SIGTERM');
    const during = await park('ref-during'); // old B and new C both poll now
    const newD = worker('new-d', true);
    await newD.ready;
    await oldB.kill('SIGTERM');
    expect([pair.worker.child.exitCode, oldB.child.exitCode]).toEqual([0, 0]);
    const after = await park('ref-after');

    for (const r of [before, during, after]) expect((await approver.post(`/v1/approvals/${r.pending_approvals[0]!.id}/approve`, {})).status).toBe(200);
    const done = await Promise.all([before, during, after].map((r) => waitForStatus(admin, r.id, ['completed', 'failed'], 60_000)));
    expect(done.map((r) => r.output_text)).toEqual(['Paid ref-before.', 'Paid ref-during.', 'Paid ref-after.']);
    expect([...tools.effects.values()].map((e) => e.ref).sort()).toEqual(['ref-after', 'ref-before', 'ref-during']);

    // The run started on the old code kept its path on the new workers; the one started after took the new one.
    expect(await historiesContaining(env(), NEXT_RELEASE_PATCH, [before.id])).toEqual([]);
    expect(await historiesContaining(env(), NEXT_RELEASE_PATCH, [after.id])).toEqual([`history of ${after.id}`]);
  });

  it('a worker stopped with SIGTERM during a model call finishes the call before it exits; the run completes once', async () => {
    const healthFile = path.join(env().runDir, 'graceful-worker.healthy');
    const pair = await startPair('graceful', { worker: { AP_WORKER_HEALTH_FILE: healthFile } });
    procs.push(pair.api, pair.worker);
    // The container health check's file: written while the worker polls, gone once it stops.
    await waitFor(async () => fs.existsSync(healthFile) && Date.now() - Date.parse(fs.readFileSync(healthFile, 'utf8').trim()) < 30_000, 'the health file');
    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${pair.port}`);
    s.llm.reply({ text: 'Finished during the shutdown.', delay_ms: 3_000 });
    const run = (await client.post('/v1/runs', { agent: 'assistant', input: 'slow' })).body;
    await waitFor(async () => s.llm.requests.length === 1, 'the model call');
    const exited = pair.worker.kill('SIGTERM');
    // A replacement is there to take the run's next workflow task: the stopping worker hands those back.
    const next = spawnAp(['worker'], pair.base, path.join(env().logDir, 'graceful-worker2.log'));
    procs.push(next);
    await exited;
    expect(pair.worker.child.exitCode).toBe(0);
    expect(fs.existsSync(healthFile)).toBe(false);
    const done = await waitForStatus(client, run.id, ['completed', 'failed'], 60_000);
    expect(done.output_text).toBe('Finished during the shutdown.');
    expect(s.llm.requests).toHaveLength(1);
    expect(s.llm.requests[0]!.aborted).toBe(false);
  });
});
