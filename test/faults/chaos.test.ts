// Issue 8, fault 6: five minutes of chaos. Two API processes, two workers and a Temporal dev server of
// their own; every 10-40 s one of them is SIGKILLed and started again, while runs that each call a
// write tool behind an approval keep arriving. At the end every acknowledged run is terminal, each
// write's effect was applied once, no create retried with its Idempotency-Key made a second run, and
// every event log is gapless.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startPair } from '../support/pair';
import { spawnAp, type ApProcess } from '../support/processes';
import { stablePort } from '../../src/temporal/dev-server';
import { allEvents, Api, env, type Res } from '../support/api';
import { allRuns, gaps, ownTemporal, payingAgent, startEffectServer, tolerant, type EffectServer, type OwnTemporal } from './support';

const CHAOS_MS = Number(process.env.AP_CHAOS_SECONDS ?? 300) * 1000;
const SEED = Number(process.env.AP_CHAOS_SEED ?? Date.now() % 100_000);

/** mulberry32: the kill schedule is reproducible from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Slot {
  name: string;
  proc: ApProcess;
  start(): ApProcess;
}

const slots: Slot[] = [];
let temporal: OwnTemporal | undefined;
let tools: EffectServer | undefined;
afterAll(async () => {
  for (const s of slots) await s.proc.kill('SIGKILL');
  await tools?.close();
  await temporal?.stop();
});

describe('chaos', () => {
  it(`random SIGKILLs of workers, APIs and Temporal for ${CHAOS_MS / 1000} s: every acknowledged run terminal, one effect per write, gapless logs`, async () => {
    const random = prng(SEED);
    console.log(`[fault 6] seed ${SEED} (AP_CHAOS_SEED repeats this kill schedule)`);
    temporal = await ownTemporal('chaos');
    const pair = await startPair('chaos', { both: { TEMPORAL_ADDRESS: temporal.address, LOG_LEVEL: 'info' } });
    const base = pair.base;
    const logs = env().logDir;
    let generation = 0;
    const apiSlot = (name: string, port: number, first: ApProcess): Slot => ({
      name,
      proc: first,
      start: () => spawnAp(['api'], { ...base, AP_PORT: String(port) }, path.join(logs, `chaos-${name}-${++generation}.log`)),
    });
    const workerSlot = (name: string, first: ApProcess): Slot => ({
      name,
      proc: first,
      start: () => spawnAp(['worker'], base, path.join(logs, `chaos-${name}-${++generation}.log`)),
    });
    const port2 = await stablePort();
    const api2 = spawnAp(['api'], { ...base, AP_PORT: String(port2) }, path.join(logs, 'chaos-api2-0.log'));
    const worker2 = spawnAp(['worker'], base, path.join(logs, 'chaos-worker2-0.log'));
    await Promise.all([api2.ready, worker2.ready]);
    slots.push(apiSlot('api1', pair.port, pair.api), apiSlot('api2', port2, api2), workerSlot('worker1', pair.worker), workerSlot('worker2', worker2));

    // A write takes 1 s, so that worker kills land on writes in flight (re-sent under the same key).
    tools = await startEffectServer(1_000);
    const bases = [`http://127.0.0.1:${pair.port}`, `http://127.0.0.1:${port2}`];
    const { admin, approverKey } = await payingAgent(new Api(env().adminKey, bases[0]), tools.url);
    const anyAdmin = () => new Api(admin.key, bases[Math.floor(random() * 2)]);
    const anyApprover = () => new Api(approverKey, bases[Math.floor(random() * 2)]);

    const statuses: Record<string, number> = {};
    const count = (r: Res) => {
      const k = r.status >= 500 ? `${r.status} ${r.body?.error?.code ?? ''}`.trim() : String(r.status);
      statuses[k] = (statuses[k] ?? 0) + 1;
      return r;
    };

    // Creates: one a second, each retried with its Idempotency-Key until acknowledged.
    const acknowledged = new Map<string, string>(); // ref -> run id
    const creating: Promise<void>[] = [];
    let creatingOpen = true;
    const createLoop = (async () => {
      for (let i = 0; creatingOpen; i++) {
        const ref = `ref-chaos-${i}`;
        creating.push((async () => {
          for (let attempt = 0; attempt < 400; attempt++) {
            const r = count(await tolerant(() => anyAdmin().post('/v1/runs', { agent: 'payer', input: `pay ${ref}` }, { 'idempotency-key': `chaos-${ref}` })));
            if (r.status === 202 || r.status === 200) {
              acknowledged.set(ref, r.body.id);
              return;
            }
            await sleep(1_000);
          }
        })());
        await sleep(1_000);
      }
    })();

    // The approver: approves whatever is pending, through either API.
    let approving = true;
    let approvals = 0;
    const approveLoop = (async () => {
      while (approving) {
        const pending = await tolerant(() => anyApprover().get('/v1/approvals?status=pending&limit=100'));
        if (pending.status === 200) {
          for (const a of pending.body.data as { id: string }[]) {
            const r = count(await tolerant(() => anyApprover().post(`/v1/approvals/${a.id}/approve`, {})));
            if (r.status === 200) approvals++;
          }
        }
        await sleep(1_000);
      }
    })();

    // The chaos: rounds of the three kinds in random order, one victim at a time.
    const kills: string[] = [];
    const started = Date.now();
    let round: string[] = [];
    while (Date.now() - started < CHAOS_MS) {
      await sleep(10_000 + random() * 30_000);
      if (!round.length) round = ['worker', 'api', 'temporal'].sort(() => random() - 0.5);
      const kind = round.shift()!;
      if (kind === 'temporal') {
        await temporal.kill();
        kills.push('temporal');
        await sleep(1_000 + random() * 4_000);
        await temporal.restart();
      } else {
        const candidates = slots.filter((s) => s.name.startsWith(kind));
        const slot = candidates[Math.floor(random() * candidates.length)]!;
        await slot.proc.kill('SIGKILL');
        kills.push(slot.name);
        await sleep(1_000 + random() * 4_000);
        slot.proc = slot.start();
        await slot.proc.ready;
      }
    }
    creatingOpen = false;
    await createLoop;
    await Promise.all(creating);

    // Drain: every acknowledged run reaches a terminal status.
    const terminal = new Map<string, { status: string; error?: unknown }>();
    const deadline = Date.now() + 300_000;
    while (terminal.size < acknowledged.size && Date.now() < deadline) {
      for (const id of acknowledged.values()) {
        if (terminal.has(id)) continue;
        const r = await tolerant(() => anyAdmin().get(`/v1/runs/${id}`));
        if (r.status === 200 && ['completed', 'failed', 'canceled'].includes(r.body.status)) terminal.set(id, { status: r.body.status, error: r.body.error });
      }
      await sleep(1_000);
    }
    approving = false;
    await approveLoop;

    const runIds = [...acknowledged.values()];
    expect(runIds.length).toBeGreaterThan(CHAOS_MS / 1000 / 3);
    expect(runIds.filter((id) => !terminal.has(id))).toEqual([]);
    const notCompleted = [...terminal.entries()].filter(([, t]) => t.status !== 'completed');
    expect(notCompleted).toEqual([]);

    // No create made a second run, however often it was retried.
    expect(new Set(runIds).size).toBe(runIds.length);
    const listed = await allRuns(admin);
    expect(listed.map((r) => r.id).sort()).toEqual([...runIds].sort());

    // One effect per run, under the Idempotency-Key of its one tool call; count requests that repeated a key.
    const effectsByRef = new Map<unknown, string[]>();
    for (const [key, e] of tools.effects) effectsByRef.set(e.ref, [...(effectsByRef.get(e.ref) ?? []), key]);
    const wrong: string[] = [];
    for (const [ref, id] of acknowledged) {
      const keys = effectsByRef.get(ref) ?? [];
      const completed = (await allEvents(admin, id)).filter((e) => e.type === 'tool_call.completed');
      if (keys.length !== 1 || completed.length !== 1 || keys[0] !== `${id}:${completed[0].data.tool_call_id}`) {
        wrong.push(`${ref} (${id}): keys ${keys.join(',')}, completed ${completed.length}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(tools.effects.size).toBe(acknowledged.size);
    const resent = [...tools.effects.values()].filter((e) => e.requests > 1).length;

    expect(await gaps(admin, runIds)).toEqual([]);
    expect(statuses['500']).toBeUndefined();
    console.log(`[fault 6] seed ${SEED}; ${CHAOS_MS / 1000} s, ${kills.length} kills (${kills.join(' ')}); ` +
      `runs acknowledged ${runIds.length}, completed ${runIds.length - notCompleted.length}; approvals ${approvals}; ` +
      `write effects ${tools.effects.size} (duplicate effects 0; ${resent} keys re-sent and deduplicated by the tool server); gaps 0; ` +
      `answers ${JSON.stringify(statuses)}`);
  });
});
