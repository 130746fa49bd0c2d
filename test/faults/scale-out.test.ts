// Issue 9: scale-out on a production-style Temporal server (the Temporal server binary on PostgreSQL,
// test/temporal-postgres/). Two API and two worker processes; 200 runs with an approval and a write
// tool created round-robin through both APIs, each streamed through the other one; one worker and one
// API SIGKILLed halfway. Every run completes, every stream is gapless, each write applied once. A
// session with three of those runs (one created before the kills, two after) is followed by its session
// stream (API.md 16) across both APIs: every session_seq once, in order, none missing.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stablePort } from '../../src/temporal/dev-server';
import { decodeSse, type SseMessage } from '../../src/providers/sse-decoder';
import { startPair } from '../support/pair';
import { spawnAp, type ApProcess } from '../support/processes';
import type { PostgresTemporal } from '../support/temporal-postgres';
import { Api, env } from '../support/api';
import { gaps, ownPostgresTemporal, payingAgent, startEffectServer, tolerant, type EffectServer } from './support';

const RUNS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const procs: ApProcess[] = [];
let temporal: PostgresTemporal | undefined;
let tools: EffectServer | undefined;
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await tools?.close();
  await temporal?.stop();
});

/**
 * Reads an SSE log (a run's or a session's) from the first base, resuming with Last-Event-ID on the next
 * base after a cut, until `isLast` says a stored frame was the last one wanted.
 */
async function followResuming(
  bases: string[],
  key: string,
  url: (resuming: boolean) => string,
  deadline: number,
  isLast: (m: SseMessage) => boolean,
): Promise<{ ids: number[]; frames: SseMessage[]; resumes: number }> {
  const frames: SseMessage[] = [];
  const ids: number[] = [];
  let resumes = 0;
  for (let i = 0; Date.now() < deadline; i++) {
    const base = bases[i % bases.length]!;
    try {
      // A stream that stays open past the deadline (a run that never ends) is cut, so that the test
      // reports the run instead of hanging until vitest's timeout.
      const res = await fetch(`${base}${url(ids.length > 0)}`, {
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...(ids.length ? { 'last-event-id': String(ids.at(-1)) } : {}) },
        signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())),
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      for await (const m of decodeSse(res.body!)) {
        if (m.id === undefined) continue;
        ids.push(Number(m.id));
        frames.push(m);
        if (isLast(m)) return { ids, frames, resumes };
      }
    } catch {
      /* the process died or was unreachable: resume elsewhere */
    }
    resumes++;
    await sleep(500);
  }
  return { ids, frames, resumes };
}

/** A run's stream, to its terminal event. */
async function follow(bases: string[], key: string, runId: string, deadline: number): Promise<{ ids: number[]; last?: string; resumes: number }> {
  const terminal = ['run.completed', 'run.failed', 'run.canceled'];
  const { ids, frames, resumes } = await followResuming(bases, key, () => `/v1/runs/${runId}/events`, deadline, (m) => terminal.includes(m.event ?? ''));
  return { ids, last: frames.at(-1)?.event, resumes };
}

/** A session's log from the start, until it has seen `runs` runs of the session complete. */
async function followSessionLog(bases: string[], key: string, sessionId: string, runs: number, deadline: number): Promise<{ ids: number[]; completed: string[]; resumes: number }> {
  const completed: string[] = [];
  const { ids, resumes } = await followResuming(bases, key, (resuming) => `/v1/sessions/${sessionId}/events${resuming ? '' : '?replay=1'}`, deadline, (m) => {
    if (m.event === 'run.completed') completed.push((JSON.parse(m.data) as { run_id: string }).run_id);
    return completed.length === runs;
  });
  return { ids, completed, resumes };
}

/** Progress on stdout: when this test fails in CI, its output says which phase it was in. */
const say = (line: string) => process.stdout.write(`[scale-out] ${line}\n`);

/** Rejects with `what` when `p` has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

const tail = (p: ApProcess, lines = 15) => `--- ${path.basename(p.logFile)} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'})\n${p.output().trimEnd().split('\n').slice(-lines).join('\n')}`;

describe('scale-out on the PostgreSQL-backed Temporal server', () => {
  it(`${RUNS} runs through 2 APIs and 2 workers, one of each killed halfway: all complete, every stream gapless`, async () => {
    const e = env();
    const started = Date.now();
    const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
    temporal = await ownPostgresTemporal('scale-out');
    const pair = await within(startPair('scale', { both: { TEMPORAL_ADDRESS: temporal.address, LOG_LEVEL: 'info', AP_MAX_LONG_REQUESTS_PER_KEY: '1000' } }), 120_000, 'api1 and worker1 ready');
    const port2 = await stablePort();
    const api2 = spawnAp(['api'], { ...pair.base, AP_PORT: String(port2) }, path.join(e.logDir, 'scale-api2.log'));
    const worker2 = spawnAp(['worker'], pair.base, path.join(e.logDir, 'scale-worker2.log'));
    procs.push(pair.api, pair.worker, api2, worker2);
    await within(Promise.all([api2.ready, worker2.ready]), 120_000, 'api2 and worker2 ready');
    const bases = [`http://127.0.0.1:${pair.port}`, `http://127.0.0.1:${port2}`];
    say(`2 APIs and 2 workers ready after ${elapsed()}`);

    tools = await startEffectServer(200);
    const { admin, approverKey } = await payingAgent(new Api(e.adminKey, bases[0]), tools.url);
    let approving = true;
    let approved = 0;
    const approveLoop = (async () => {
      for (let i = 0; approving; i++) {
        const approver = new Api(approverKey, bases[i % 2]);
        const pending = await tolerant(() => approver.get('/v1/approvals?status=pending&limit=100'));
        for (const a of pending.status === 200 ? (pending.body.data as { id: string }[]) : []) {
          if ((await tolerant(() => approver.post(`/v1/approvals/${a.id}/approve`, {}))).status === 200) approved++;
        }
        await sleep(500);
      }
    })();

    // Every stream must end by then; a run still open at that point is reported below.
    const deadline = Date.now() + 600_000;
    const streams: Promise<{ runId: string; ids: number[]; last?: string; resumes: number }>[] = [];
    const runIds: string[] = [];
    // The session whose three runs its session stream follows (the runs queue behind each other).
    const session = (await new Api(admin.key, bases[0]).post('/v1/sessions', { agent: 'payer', if_busy: 'enqueue' })).body as { id: string };
    const sessionRunsAt = new Set([RUNS / 4, RUNS / 2 + 10, RUNS / 2 + 20]);
    const sessionRunIds: string[] = [];
    // Read through api1 first, which is killed halfway: the stream resumes on api2 with Last-Event-ID.
    const sessionLog = followSessionLog([bases[0]!, bases[1]!], admin.key, session.id, sessionRunsAt.size, deadline);
    let restarted: ApProcess | undefined;
    for (let i = 0; i < RUNS; i++) {
      if (i === RUNS / 2) {
        await pair.worker.kill('SIGKILL');
        await pair.api.kill('SIGKILL');
        say(`${i} runs created after ${elapsed()}; worker1 and api1 SIGKILLed, api1 restarting`);
        restarted = spawnAp(['api'], { ...pair.base, AP_PORT: String(pair.port) }, path.join(e.logDir, 'scale-api1-restarted.log'));
        procs.push(restarted);
      }
      const via = i % 2;
      let created;
      for (let attempt = 0; ; attempt++) {
        const api = new Api(admin.key, bases[(via + attempt) % 2]);
        created = await tolerant(() => api.post('/v1/runs', { agent: 'payer', input: `pay ref-scale-${i}` }, { 'idempotency-key': `scale-${i}` }));
        if (created.status === 202 || created.status === 200) break;
        expect(attempt, JSON.stringify(created.body)).toBeLessThan(60);
        await sleep(500);
      }
      const runId = created.body.id as string;
      runIds.push(runId);
      // Streamed through the other API (falling back to the first when the other is down).
      streams.push(follow([bases[1 - via]!, bases[via]!], admin.key, runId, deadline).then((r) => ({ runId, ...r })));
      if (sessionRunsAt.has(i)) {
        for (let attempt = 0; ; attempt++) {
          const api = new Api(admin.key, bases[(via + attempt) % 2]);
          const made = await tolerant(() => api.post(`/v1/sessions/${session.id}/runs`, { input: `pay ref-session-${i}` }, { 'idempotency-key': `scale-session-${i}` }));
          if (made.status === 202 || made.status === 200) {
            sessionRunIds.push(made.body.id as string);
            break;
          }
          expect(attempt, JSON.stringify(made.body)).toBeLessThan(60);
          await sleep(500);
        }
      }
      await sleep(50);
    }
    say(`${RUNS} runs created after ${elapsed()}`);
    await within(restarted!.ready, 120_000, 'the restarted api1 ready');
    say(`api1 ready again after ${elapsed()}`);
    let settled = 0;
    const progress = setInterval(() => say(`${settled}/${RUNS} streams ended, ${approved} approvals granted after ${elapsed()}`), 30_000);
    const results = await Promise.all(streams.map((s) => s.then((r) => (settled++, r)))).finally(() => clearInterval(progress));
    const sessionStream = await sessionLog;
    say(`the session stream saw ${sessionStream.ids.length} events, ${sessionStream.completed.length} runs completed, ${sessionStream.resumes} resumes`);
    approving = false;
    await within(approveLoop, 200_000, 'the approval loop to stop');
    say(`every stream ended after ${elapsed()}`);

    const unfinished = results.filter((r) => r.last !== 'run.completed');
    if (unfinished.length) {
      // What a reader of a red CI needs: where the unfinished runs stand, and the processes' last words.
      const api = new Api(admin.key, bases[1]);
      for (const r of unfinished.slice(0, 5)) {
        const run = await tolerant(() => api.get(`/v1/runs/${r.runId}`));
        const events = await tolerant(() => api.get(`/v1/runs/${r.runId}/events?limit=100`));
        say(`unfinished ${r.runId}: status ${run.body.status}, stream saw ${r.ids.length} events (last ${r.last}, ${r.resumes} resumes), ` +
          `stored: ${events.status === 200 ? (events.body.data as { type: string }[]).map((x) => x.type).join(' ') : events.status}`);
      }
      const pending = await tolerant(() => new Api(approverKey, bases[1]).get('/v1/approvals?status=pending&limit=100'));
      say(`pending approvals: ${pending.status === 200 ? pending.body.data.length : pending.status}; tool requests ${tools.effects.size}`);
      for (const p of [api2, worker2, restarted!]) say(tail(p));
    }
    expect(unfinished.map((r) => `${r.runId}: ${r.last}`)).toEqual([]);
    const gappy = results.filter((r) => r.ids.some((id, i) => id !== i + 1)).map((r) => `${r.runId}: ${r.ids.join(',')}`);
    expect(gappy).toEqual([]);
    expect(new Set(runIds).size).toBe(RUNS);
    expect(await gaps(admin, [...runIds, ...sessionRunIds])).toEqual([]);
    // The session stream: its three runs completed, and every session_seq of the log came once, in order.
    expect(sessionStream.completed).toEqual(sessionRunIds);
    // It was open through api1 when api1 was killed (two of its runs were created after that).
    expect(sessionStream.resumes).toBeGreaterThan(0);
    expect(sessionStream.ids).toEqual(sessionStream.ids.map((_, i) => i + 1));
    const log = await tolerant(() => new Api(admin.key, bases[1]).get(`/v1/sessions/${session.id}/log`));
    expect((log.body as { session_seq: number }[]).map((e) => e.session_seq)).toEqual(sessionStream.ids);
    const refs = new Set([...tools.effects.values()].map((x) => x.ref));
    expect(tools.effects.size).toBe(RUNS + sessionRunsAt.size);
    expect(refs.size).toBe(RUNS + sessionRunsAt.size);
    const resumed = results.filter((r) => r.resumes > 0).length;
    console.log(`[scale-out] Temporal server ${temporal.address} on PostgreSQL; ${RUNS} runs created round-robin through 2 APIs, ` +
      `streamed through the other; worker1 and api1 SIGKILLed after ${RUNS / 2}; completed ${RUNS - unfinished.length}/${RUNS}; ` +
      `streams gapless ${RUNS - gappy.length}/${RUNS} (${resumed} resumed on the other API); session stream over ${sessionRunIds.length} runs gapless ` +
      `(${sessionStream.ids.length} events, ${sessionStream.resumes} resumes); write effects ${tools.effects.size}; ${elapsed()}`);
  });
});
