// The benchmark scenarios of issues 7 and 18. Each measures the platform and, where they exist, its
// baselines in the same run (raw on the tuned and on the default-config server, the direct call).
import crypto from 'node:crypto';
import type { RawTarget } from './raw-target';
import { directCall, directSteps } from './provider';
import { openStream, readFrames } from './platform';
import { openLoop, pct, rssMiB, sequential, summary, type OpenLoopResult } from './stats';
import { NA, ms, pair, ratioPair, rawWait, runWait, runWaitPhases, sequentialEager, type Ctx, type Row, type RunPhases } from './common';

export { serverSettings } from './server-settings';
export { sessions5Steps } from './sessions';

const eagerNote = (e: { p50: number; p99: number; n: number; eager: number }) => `; eager start ${pair(e)} (${e.eager}/${e.n} eager)`;

export async function oneStep(c: Ctx): Promise<Row> {
  const n = c.quick ? 15 : 200;
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 0 });
  const args = [c.provider.baseUrl];
  await sequential(3, () => runWait(c, 'one')); // warm-up: connections, caches, JIT
  for (const t of [c.stack.raw, c.stack.rawDefaults]) {
    await sequential(3, () => rawWait(t, 'oneActivity', args));
    await sequentialEager(3, t, 'oneActivity', args);
  }
  const phases: RunPhases[] = [];
  const platform = summary(
    await sequential(n, async () => {
      const r = await runWaitPhases(c, 'one');
      phases.push(r.phases);
      return r.ms;
    }),
  );
  const split = Object.fromEntries((Object.keys(phases[0]!) as (keyof RunPhases)[]).map((k) => [k, pct(phases.map((p) => p[k]), 50)])) as unknown as RunPhases;
  const raw = summary(await sequential(n, () => rawWait(c.stack.raw, 'oneActivity', args)));
  const rawEager = await sequentialEager(n, c.stack.raw, 'oneActivity', args);
  const def = summary(await sequential(n, () => rawWait(c.stack.rawDefaults, 'oneActivity', args)));
  const defEager = await sequentialEager(n, c.stack.rawDefaults, 'oneActivity', args);
  const direct = summary(await sequential(n, async () => (await directCall(c.provider.baseUrl)).total_ms));
  return {
    scenario: '1-step run, `wait: true`, provider answers at once (raw: one-activity workflow)',
    platform: pair(platform),
    tuned_raw: pair(raw) + eagerNote(rawEager),
    default_raw: pair(def) + eagerNote(defEager),
    direct: pair(direct),
    ratio: ratioPair(platform, raw),
    data: { platform, platform_phases_p50: split, raw, raw_eager_start: rawEager, default_raw: def, default_raw_eager_start: defEager, direct },
    detail: [
      `1-step run, where the platform's time goes (p50 of each phase, from the run's own timestamps): request → run created ${ms(split.to_created_ms)}; ` +
        `→ running ${ms(split.to_started_ms)}; → completed ${ms(split.to_completed_ms)}; → \`wait: true\` reply ${ms(split.to_reply_ms)}.`,
    ],
  };
}

export async function slowProvider(c: Ctx): Promise<Row> {
  const n = c.quick ? 5 : 40;
  c.provider.set({ latency_ms: 500, tokens: 5, token_delay_ms: 0, tool_steps: 0 });
  const args = [c.provider.baseUrl];
  const platform = summary(await sequential(n, () => runWait(c, 'one')));
  const raw = summary(await sequential(n, () => rawWait(c.stack.raw, 'oneActivity', args)));
  const def = summary(await sequential(n, () => rawWait(c.stack.rawDefaults, 'oneActivity', args)));
  const direct = summary(await sequential(n, async () => (await directCall(c.provider.baseUrl)).total_ms));
  return {
    scenario: 'same, provider latency 500 ms',
    platform: pair(platform),
    tuned_raw: pair(raw),
    default_raw: pair(def),
    direct: pair(direct),
    ratio: `${ratioPair(platform, raw)} (added to direct: p50 ${ms(platform.p50 - direct.p50)})`,
    data: { platform, raw, default_raw: def, direct },
  };
}

export async function streaming(c: Ctx): Promise<Row> {
  const n = c.quick ? 5 : 30;
  c.provider.set({ latency_ms: 0, tokens: 200, token_delay_ms: 2, tool_steps: 0 });
  const ttft: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(`${c.developer.base}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.developer.key}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ agent: 'one', input: 'hi', stream: true }),
    });
    let first = 0;
    let last = 0;
    await readFrames(res, (f) => {
      if (f.event === 'message.delta') {
        if (!first) first = f.at;
        else gaps.push(f.at - last);
        last = f.at;
      }
      return f.event === 'run.completed' || f.event === 'run.failed';
    });
    ttft.push(first - t);
  }
  const direct = { ttft: [] as number[], gaps: [] as number[] };
  for (let i = 0; i < n; i++) {
    const r = await directCall(c.provider.baseUrl);
    direct.ttft.push(r.first_token_ms);
    direct.gaps.push(...r.gaps_ms);
  }
  const p = summary(ttft);
  const d = summary(direct.ttft);
  const gapP = summary(gaps);
  const gapD = summary(direct.gaps);
  return {
    scenario: '`stream: true`, provider streams 200 tokens (2 ms apart): first token; inter-token',
    platform: `${pair(p)}; ${pair(gapP)}`,
    tuned_raw: NA,
    default_raw: NA,
    direct: `${pair(d)}; ${pair(gapD)}`,
    ratio: `${NA} (added to direct: first token p50 ${ms(p.p50 - d.p50)}, p99 ${ms(p.p99 - d.p99)}; inter-token p50 ${ms(gapP.p50 - gapD.p50)})`,
    data: { ttft: p, direct_ttft: d, gaps: gapP, direct_gaps: gapD },
  };
}

export async function fiveSteps(c: Ctx): Promise<Row> {
  const n = c.quick ? 3 : 40;
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 4, tool_name: 'lookup' });
  const args = [c.provider.baseUrl, `${c.toolUrl}/lookup`, 4];
  await runWait(c, 'steps');
  await rawWait(c.stack.raw, 'steps', args);
  await rawWait(c.stack.rawDefaults, 'steps', args);
  const platform = summary(await sequential(n, () => runWait(c, 'steps')));
  const raw = summary(await sequential(n, () => rawWait(c.stack.raw, 'steps', args)));
  const def = summary(await sequential(n, () => rawWait(c.stack.rawDefaults, 'steps', args)));
  const direct = summary(await sequential(n, () => directSteps(c.provider.baseUrl, `${c.toolUrl}/lookup`, 4)));
  return {
    scenario: '5-step run with 4 read-tool calls (raw: the same 9 activities)',
    platform: pair(platform),
    tuned_raw: pair(raw),
    default_raw: pair(def),
    direct: pair(direct),
    ratio: `${ratioPair(platform, raw)} (overhead per step p50 ${ms((platform.p50 - raw.p50) / 5)})`,
    data: { platform, raw, default_raw: def, direct },
  };
}

/** A run of agent `approve` parked on the approval of `act`; returns its approval id and last seq. */
async function parked(c: Ctx): Promise<{ runId: string; approvalId: string; seq: number }> {
  const run = await c.developer.must('POST', '/v1/runs', { agent: 'approve', input: 'do it', wait: true, wait_timeout_seconds: 120 });
  if (run.status !== 'waiting_approval') throw new Error(`run ${run.id} is ${run.status}`);
  const events = await c.developer.must('GET', `/v1/runs/${run.id}/events?limit=100`);
  return { runId: run.id, approvalId: run.pending_approvals[0].id, seq: events.data.at(-1).seq };
}

async function approveUntil(c: Ctx, p: { runId: string; approvalId: string; seq: number }, type: string): Promise<number> {
  const res = await openStream(c.developer, p.runId, p.seq);
  let t = 0;
  let took = NaN;
  const done = readFrames(res, (f) => {
    if (f.event === type) {
      took = f.at - t;
      return true;
    }
    return f.event.startsWith('run.') && f.event !== 'run.status_changed';
  });
  t = performance.now();
  await c.admin.must('POST', `/v1/approvals/${p.approvalId}/approve`, {});
  await done;
  return took;
}

export async function approveToStarted(c: Ctx): Promise<Row> {
  const n = c.quick ? 8 : 50;
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 1, tool_name: 'act' });
  const platform: number[] = [];
  for (let i = 0; i < n; i++) platform.push(await approveUntil(c, await parked(c), 'tool_call.started'));
  const r = await updateRoundTrips(c.stack.raw, n);
  const d = await updateRoundTrips(c.stack.rawDefaults, n);
  const p = summary(platform);
  return {
    scenario: 'approve → `tool_call.started` (raw: update round trip of a bare workflow)',
    platform: pair(p),
    tuned_raw: pair(r),
    default_raw: pair(d),
    direct: NA,
    ratio: ratioPair(p, r),
    data: { platform: p, raw: r, default_raw: d },
  };
}

async function updateRoundTrips(target: RawTarget, n: number): Promise<ReturnType<typeof summary>> {
  const handle = await target.client.workflow.start('bare', { taskQueue: target.taskQueue, workflowId: `raw-${crypto.randomUUID()}` });
  const raw = await sequential(n, async () => {
    const t = performance.now();
    await handle.executeUpdate('ping', { args: [1] });
    return performance.now() - t;
  });
  await handle.executeUpdate('ping', { args: [-1] });
  return summary(raw);
}

export async function sustained(c: Ctx): Promise<Row> {
  const seconds = c.quick ? 4 : 60;
  const rates = c.quick ? [5, 10] : [5, 10, 20, 40, 80];
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 0 });
  const args = [c.provider.baseUrl];
  const ok = (r: { errors: number; latencies_ms: number[] }) => r.errors === 0 && pct(r.latencies_ms, 99) < 1000;
  const brief = (r: OpenLoopResult) => ({ ...summary(r.latencies_ms), errors: r.error_reasons, per_s: r.achieved_per_s });
  const steps: Record<string, unknown>[] = [];
  const best = { platform: 0, raw: 0, default_raw: 0 };
  for (const rate of rates) {
    const p = await openLoop(rate, seconds, () => runWait(c, 'one').then(() => true as const));
    const r = await openLoop(rate, seconds, () => rawWait(c.stack.raw, 'oneActivity', args).then(() => true as const));
    const d = await openLoop(rate, seconds, () => rawWait(c.stack.rawDefaults, 'oneActivity', args).then(() => true as const));
    steps.push({ rate, platform: brief(p), raw: brief(r), default_raw: brief(d) });
    if (ok(p)) best.platform = rate;
    if (ok(r)) best.raw = rate;
    if (ok(d)) best.default_raw = rate;
    if (!ok(p) && !ok(r) && !ok(d)) break;
  }
  const rate = (v: number) => `${v}/s${v === rates.at(-1) ? ' (not saturated)' : ''}`;
  return {
    scenario: `sustained 1-step runs/s, ${seconds} s per rate (${rates.join(', ')}/s): max rate with p99 < 1 s`,
    platform: rate(best.platform),
    tuned_raw: rate(best.raw),
    default_raw: rate(best.default_raw),
    direct: NA,
    ratio: best.raw ? `${Math.round((100 * best.platform) / best.raw)}% of tuned raw` : 'raw saturated below the lowest rate',
    data: { steps, best },
  };
}

export async function sseFanOut(c: Ctx): Promise<Row> {
  const clients = c.quick ? 100 : 1000;
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 1, tool_name: 'act' });
  const p = await parked(c);
  const delays: number[] = [];
  const streams = await Promise.all(Array.from({ length: clients }, () => openStream(c.developer, p.runId, p.seq)));
  const reading = streams.map((res) =>
    readFrames(res, (f) => {
      if (f.id) delays.push(f.wall - Date.parse(f.data.created_at));
      return f.event === 'run.completed';
    }),
  );
  await new Promise((r) => setTimeout(r, 500)); // every stream subscribed before the events happen
  await c.admin.must('POST', `/v1/approvals/${p.approvalId}/approve`, {});
  await Promise.all(reading);
  const s = summary(delays);
  const rss = rssMiB(c.stack.api.child.pid);
  return {
    scenario: `${clients} concurrent SSE clients on one run stream`,
    platform: `delivery delay ${pair(s)} over ${s.n} deliveries; API RSS ${rss} MiB`,
    tuned_raw: NA,
    default_raw: NA,
    direct: NA,
    ratio: NA,
    data: { clients, delay: s, api_rss_mib: rss },
  };
}

export async function parkedMany(c: Ctx): Promise<Row> {
  const n = c.parked ?? (c.quick ? 100 : 10_000);
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 1, tool_name: 'act' });
  const idle = { worker: rssMiB(c.stack.worker.child.pid), api: rssMiB(c.stack.api.child.pid), temporal: rssMiB(c.stack.temporalPid) };
  const runIds: string[] = [];
  const created = await openLoop(c.quick ? 50 : 100, n / (c.quick ? 50 : 100), async () => {
    const res = await c.developer.call('POST', '/v1/runs', { agent: 'approve', input: 'do it' });
    if (res.status === 202) runIds.push(res.body.id);
    return res.status === 202 || `HTTP ${res.status} ${res.body?.error?.code ?? ''}`;
  });
  const deadline = Date.now() + (c.quick ? 120_000 : 1_800_000);
  let pending = 0;
  while (Date.now() < deadline) {
    const metrics = (await c.admin.call<string>('GET', '/metrics')).body;
    pending = Number(/^ap_approvals_pending(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    if (pending >= runIds.length) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const rss = { worker: rssMiB(c.stack.worker.child.pid), api: rssMiB(c.stack.api.child.pid), temporal: rssMiB(c.stack.temporalPid) };
  const list = summary(
    await sequential(c.quick ? 20 : 50, async () => {
      const t = performance.now();
      await c.admin.must('GET', '/v1/approvals?status=pending&limit=100');
      return performance.now() - t;
    }),
  );
  const picks = [...runIds].sort(() => Math.random() - 0.5).slice(0, c.quick ? 20 : 100);
  const completions: number[] = [];
  for (let i = 0; i < picks.length; i += 10) {
    await Promise.all(
      picks.slice(i, i + 10).map(async (runId) => {
        const run = await c.developer.must('GET', `/v1/runs/${runId}`);
        const events = await c.developer.must('GET', `/v1/runs/${runId}/events?limit=100`);
        completions.push(await approveUntil(c, { runId, approvalId: run.pending_approvals[0].id, seq: events.data.at(-1).seq }, 'run.completed'));
      }),
    );
  }
  const done = summary(completions);
  return {
    scenario: `${n} runs parked on approvals, then approve ${picks.length} random ones`,
    platform: `parked ${pending}/${created.ok}${created.errors ? ` (${created.errors} creates failed: ${JSON.stringify(created.error_reasons)})` : ''}; RSS worker ${rss.worker} MiB, API ${rss.api} MiB, Temporal ${rss.temporal} MiB (before: ${idle.worker}, ${idle.api}, ${idle.temporal}); GET /v1/approvals?status=pending p99 ${ms(list.p99)}; approve → completed ${pair(done)}`,
    tuned_raw: NA,
    default_raw: NA,
    direct: NA,
    ratio: NA,
    data: { n, created: created.ok, create_errors: created.error_reasons, pending, rss_mib: rss, rss_before_mib: idle, list, approve_to_completed: done },
  };
}
