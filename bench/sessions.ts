// Issue 18 point 5: the shape of real traffic. 10 sessions side by side, each running 5-step runs one
// after another (`wait: true`), against 10 raw `steps` workflow loops on either server and the direct calls.
import { directSteps } from './provider';
import { parallelLoops, summary } from './stats';
import { pair, rawWait, ratioPair, runWait, times, type Ctx, type Row } from './common';

const SESSIONS = 10;

export async function sessions5Steps(c: Ctx): Promise<Row> {
  const each = c.quick ? 2 : 10;
  c.provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 4, tool_name: 'lookup' });
  const tool = `${c.toolUrl}/lookup`;
  const args = [c.provider.baseUrl, tool, 4];
  await runWait(c, 'steps'); // warm-up
  const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => c.developer.must<{ id: string }>('POST', '/v1/sessions', { agent: 'steps' })));
  const sessionRun = async (w: number): Promise<number> => {
    const t = performance.now();
    const run = await c.developer.must('POST', `/v1/sessions/${sessions[w]!.id}/runs`, { input: 'hi', wait: true, wait_timeout_seconds: 120 });
    if (run.status !== 'completed') throw new Error(`run ${run.id} ended ${run.status}`);
    if (run.usage?.tool_calls !== 4) throw new Error(`run ${run.id} made ${run.usage?.tool_calls} tool calls, not 4`);
    return performance.now() - t;
  };
  const platform = await parallelLoops(SESSIONS, each, sessionRun);
  const raw = await parallelLoops(SESSIONS, each, () => rawWait(c.stack.raw, 'steps', args));
  const def = await parallelLoops(SESSIONS, each, () => rawWait(c.stack.rawDefaults, 'steps', args));
  const direct = await parallelLoops(SESSIONS, each, () => directSteps(c.provider.baseUrl, tool, 4));
  const view = (r: { latencies_ms: number[]; per_s: number }) => ({ ...summary(r.latencies_ms), per_s: r.per_s });
  const [p, r, d, x] = [view(platform), view(raw), view(def), view(direct)];
  const cell = (v: typeof p) => `${pair(v)}; ${v.per_s.toFixed(1)} runs/s`;
  return {
    scenario: `${SESSIONS} concurrent sessions, each ${each} 5-step runs one after another (raw: ${SESSIONS} loops of the 9-activity workflow)`,
    platform: cell(p),
    tuned_raw: cell(r),
    default_raw: cell(d),
    direct: cell(x),
    ratio: `${ratioPair(p, r)}; throughput ${times(p.per_s, r.per_s)}`,
    data: { sessions: SESSIONS, runs_per_session: each, platform: p, raw: r, default_raw: d, direct: x },
  };
}
