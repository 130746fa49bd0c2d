// Durability: a worker that dies while a run waits on a slow model call is replaced, and the run
// completes; the API keeps answering throughout. Processes here are separate OS processes.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/temporal/dev-server';
import { spawnAp, type ApProcess } from '../support/processes';
import { allEvents, Api, env, setupAgent, waitFor, waitForStatus } from '../support/api';

const procs: ApProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const c of cleanups.splice(0)) await c();
});

describe('restart durability', () => {
  it('a worker killed during a slow model call is replaced and the run completes', async () => {
    const e = env();
    const queue = `ap-durability-${crypto.randomUUID()}`;
    const port = await freePort();
    const base = { DATABASE_URL: e.databaseUrl, TEMPORAL_ADDRESS: e.temporalAddress, TEMPORAL_TASK_QUEUE: queue, AP_MASTER_KEY: e.masterKey, AP_ALLOW_PRIVATE_NETWORK: 'true', LOG_LEVEL: 'debug' };
    const api = spawnAp(['api'], { ...base, AP_PORT: String(port) }, path.join(e.logDir, 'durability-api.log'));
    const worker1 = spawnAp(['worker'], base, path.join(e.logDir, 'durability-worker1.log'));
    procs.push(api, worker1);
    await Promise.all([api.ready, worker1.ready]);

    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    s.llm.reply({ text: 'this reply never arrives', delay_ms: 120_000 }, { text: 'Answered after the restart.' });
    const run = (await client.post('/v1/runs', { agent: 'assistant', input: 'slow question' })).body;
    await waitFor(async () => s.llm.requests.length === 1, 'the first model call');

    await worker1.kill('SIGKILL');
    expect((await client.get(`/v1/runs/${run.id}`)).body.status).toBe('running');
    const worker2 = spawnAp(['worker'], base, path.join(e.logDir, 'durability-worker2.log'));
    procs.push(worker2);
    await worker2.ready;

    const done = await waitForStatus(client, run.id, ['completed'], 45_000);
    expect(done.output_text).toBe('Answered after the restart.');
    expect(s.llm.requests).toHaveLength(2);
    const events = await allEvents(client, run.id);
    expect(events.map((ev) => ev.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((ev) => ev.type === 'message.completed')).toHaveLength(1);
  });
});
