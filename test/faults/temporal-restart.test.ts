// Issue 8, fault 3: the Temporal dev server SIGKILLed mid-run and started again on the same SQLite
// file. During the outage the API answers from PostgreSQL or with 503 temporal_unavailable and
// Retry-After, never 500; afterwards every run completes, and a create retried with its Idempotency-Key
// yields one run.
import { afterAll, describe, expect, it } from 'vitest';
import { startPair, type Pair } from '../support/pair';
import { Api, env, waitFor, waitForStatus, type Res } from '../support/api';
import { gaps, ownTemporal, payingAgent, startEffectServer, tolerant, type EffectServer, type OwnTemporal } from './support';

let temporal: OwnTemporal | undefined;
let pair: Pair | undefined;
let tools: EffectServer | undefined;
afterAll(async () => {
  await pair?.api.kill('SIGKILL');
  await pair?.worker.kill('SIGKILL');
  await tools?.close();
  await temporal?.stop();
});

describe('Temporal server killed and restarted', () => {
  it('runs parked and mid-model-call complete; the outage answers 503 temporal_unavailable; an idempotent create retried yields one run', async () => {
    temporal = await ownTemporal('temporal-restart');
    pair = await startPair('temporal-restart', { both: { TEMPORAL_ADDRESS: temporal.address } });
    tools = await startEffectServer();
    const base = `http://127.0.0.1:${pair.port}`;
    const { admin, approverKey, llm } = await payingAgent(new Api(env().adminKey, base), tools.url);
    const approver = new Api(approverKey, base);

    // Four runs parked on their approval, two whose first model call is still in flight at the kill.
    const parked: { id: string; approval: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const r = (await admin.post('/v1/runs', { agent: 'payer', input: `pay ref-parked-${i}`, wait: true })).body;
      expect(r.status).toBe('waiting_approval');
      parked.push({ id: r.id, approval: r.pending_approvals[0].id });
    }
    // Answers follow each run's own input, slow ones after 4 s. (A queue of scripted replies went to the
    // requests in arrival order, and a model call retried after the restart got its own run's answer: two
    // runs once paid the same ref in CI, with the platform doing right by both.)
    llm.respond((body) => {
      const messages = body.messages as { role: string }[];
      const ref = /ref-[\w-]+/.exec(JSON.stringify(messages))?.[0] ?? 'ref-none';
      if (messages.at(-1)!.role === 'tool') return { text: `Paid ${ref}.` };
      return { tool_calls: [{ name: 'pay', arguments: { ref } }], ...(ref.startsWith('ref-slow') ? { delay_ms: 4_000 } : {}) };
    });
    const before = llm.requests.length;
    const slow = [
      (await admin.post('/v1/runs', { agent: 'payer', input: 'pay ref-slow-0' })).body.id as string,
      (await admin.post('/v1/runs', { agent: 'payer', input: 'pay ref-slow-1' })).body.id as string,
    ];
    await waitFor(async () => llm.requests.length >= before + 2, 'both slow model calls to arrive');

    await temporal.kill();
    const seen: Res[] = [];
    let slowestMs = 0;
    const during = async (fn: () => Promise<Res>) => {
      const started = Date.now();
      const r = await tolerant(fn);
      slowestMs = Math.max(slowestMs, Date.now() - started);
      seen.push(r);
      return r;
    };
    const idem = { 'idempotency-key': 'retry-after-outage' };
    const outageCreate = await during(() => admin.post('/v1/runs', { agent: 'payer', input: 'pay ref-idem' }, idem));
    expect(outageCreate.status).toBe(503);
    expect(outageCreate.body.error.code).toBe('temporal_unavailable');
    const outageApprove = await during(() => approver.post(`/v1/approvals/${parked[0]!.approval}/approve`, {}));
    expect(outageApprove.status).toBe(503);
    for (let round = 0; round < 5; round++) {
      await during(() => admin.get(`/v1/runs/${parked[1]!.id}`));
      await during(() => admin.get('/v1/runs'));
      await during(() => admin.get('/v1/approvals?status=pending'));
      await during(() => admin.get(`/v1/runs/${slow[0]}/events`));
      await during(() => admin.post(`/v1/runs/${slow[1]}/cancel`, { reason: `outage round ${round}` }, { 'idempotency-key': `cancel-${round}` }).then(async (r) => {
        // A cancel that reached Temporal would end the run; none may, the server is down.
        expect(r.status).toBe(503);
        return r;
      }));
    }
    // The decision Temporal did not accept was not recorded.
    expect((await admin.get(`/v1/approvals/${parked[0]!.approval}`)).body.status).toBe('pending');

    await temporal.restart();

    const created = await waitFor(async () => {
      const r = await admin.post('/v1/runs', { agent: 'payer', input: 'pay ref-idem' }, idem);
      seen.push(r);
      return r.status === 202 || r.status === 201 ? r : undefined;
    }, 'the idempotent create to succeed after the restart', 60_000);
    const again = await admin.post('/v1/runs', { agent: 'payer', input: 'pay ref-idem' }, idem);
    expect(again.body.id).toBe(created.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    const runIds = [...parked.map((p) => p.id), ...slow, created.body.id as string];
    for (const id of runIds) {
      const run = await waitForStatus(admin, id, ['waiting_approval', 'completed', 'failed', 'canceled'], 90_000);
      if (run.status !== 'waiting_approval') continue;
      await waitFor(async () => (await approver.post(`/v1/approvals/${run.pending_approvals[0].id}/approve`, {})).status === 200, `approval of ${id}`, 60_000);
    }
    const done = await Promise.all(runIds.map((id) => waitForStatus(admin, id, ['completed', 'failed', 'canceled'], 120_000)));
    expect(done.map((r) => r.status)).toEqual(runIds.map(() => 'completed'));
    // The reasons of the cancels Temporal did not accept were taken back.
    expect(done.map((r) => r.cancel_reason)).toEqual(runIds.map(() => null));

    // Exactly one run for the retried create, one effect per run, no event seq lost or doubled.
    const listed = (await admin.get('/v1/runs?limit=100')).body.data as { id: string; input: unknown }[];
    expect(listed.filter((r) => JSON.stringify(r.input).includes('ref-idem'))).toHaveLength(1);
    expect(listed).toHaveLength(runIds.length);
    const refs = [...tools.effects.values()].map((e) => e.ref).sort();
    expect(refs).toEqual(['ref-idem', 'ref-parked-0', 'ref-parked-1', 'ref-parked-2', 'ref-parked-3', 'ref-slow-0', 'ref-slow-1']);
    expect(await gaps(admin, runIds)).toEqual([]);

    const statuses = seen.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expect(statuses).not.toContain(0);
    for (const r of seen.filter((x) => x.status === 503)) {
      expect(r.body.error.code).toBe('temporal_unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    console.log(`[fault 3] runs completed ${done.length}/${runIds.length}; effects ${tools.effects.size} for ${runIds.length} runs; ` +
      `answers during and after the outage: ${JSON.stringify(countBy(statuses))} (slowest during it ${slowestMs} ms); gaps 0`);
  });
});

function countBy(xs: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
