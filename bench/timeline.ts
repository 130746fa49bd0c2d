// `npx tsx bench/timeline.ts [one|steps|approve|stream] [N]`: where the wall time of a run goes. Runs N sequential
// runs of agent `one` or `steps` through the API (`wait: true`) and prints, per phase, the p50 of the time
// from the request to each Temporal history event of the run's workflow and to each stored run event
// (`created_at`), next to the raw workflow's events on the same server. `approve`: runs parked on an
// approval, timed from the approve request to each history event after it, each stored event and the
// arrival of `tool_call.started` on the run's stream. `stream`: `stream: true` runs, timed to each SSE
// frame up to the first token, with the history and stored events (docs/performance.md).
import crypto from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { openStream, readFrames } from './platform';
import { benchScript } from './script';

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Mark { label: string; at: number }

function table(title: string, runs: Mark[][]): string {
  const labels = runs[0]!.map((m) => m.label);
  const rows = labels.map((label, i) => {
    const at = runs.map((r) => r[i]?.at ?? NaN).filter((x) => !Number.isNaN(x));
    const gap = runs.map((r) => (r[i] && i > 0 ? r[i]!.at - r[i - 1]!.at : NaN)).filter((x) => !Number.isNaN(x));
    return `| ${label} | ${p50(at).toFixed(1)} | ${i ? p50(gap).toFixed(1) : ''} |`;
  });
  return [`${title} (p50 over ${runs.length} runs; ms from the request)`, '', '| event | at | since previous |', '|---|---|---|', ...rows, ''].join('\n');
}

function eventLabel(e: { eventType?: unknown; [k: string]: unknown }): string {
  const code = e.eventType;
  const type = String((typeof code === 'number' ? temporal.api.enums.v1.EventType[code] : code) ?? '').replace(/^EVENT_TYPE_/, '');
  for (const [k, v] of Object.entries(e)) {
    if (!k.endsWith('Attributes') || !v || typeof v !== 'object') continue;
    const a = v as { activityType?: { name?: string }; markerName?: string; searchAttributes?: { indexedFields?: Record<string, unknown> } };
    if (a.activityType?.name) return `${type} ${a.activityType.name}`;
    if (a.markerName) return `${type} ${a.markerName}`;
    if (a.searchAttributes?.indexedFields) return `${type} ${Object.keys(a.searchAttributes.indexedFields).join(',')}`;
  }
  return type;
}

const ms = (t: { seconds?: unknown; nanos?: number } | null | undefined): number => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

benchScript('bench-timeline', async ({ stack, provider, tools, admin, developer }) => {
  const mode = process.argv[2] ?? 'one';
  const agent = mode === 'steps' ? 'steps' : 'one';
  const n = Number(process.argv[3] ?? 30);
  provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: agent === 'steps' ? 4 : 0, tool_name: 'lookup' });
  const history = async (workflowId: string, t0: number): Promise<Mark[]> => {
    // Once closed: a reply can come before the workflow task that completes the run is recorded.
    const handle = stack.raw.client.workflow.getHandle(workflowId);
    await handle.result().catch(() => undefined);
    const h = await handle.fetchHistory();
    return (h.events ?? []).map((e) => ({ label: eventLabel(e as never), at: ms(e.eventTime as never) - t0 }));
  };
  if (mode === 'approve') {
    provider.set({ latency_ms: 0, tokens: 5, token_delay_ms: 0, tool_steps: 1, tool_name: 'act' });
    const approveRuns: Mark[][] = [];
    const stored: Mark[][] = [];
    for (let i = 0; i < n + 5; i++) {
      const run = (await developer.must('POST', '/v1/runs', { agent: 'approve', input: 'do it', wait: true, wait_timeout_seconds: 120 })) as { id: string; pending_approvals: { id: string }[] };
      const before = (await developer.must('GET', `/v1/runs/${run.id}/events?limit=100`)) as { data: { seq: number }[] };
      const res = await openStream(developer, run.id, before.data.at(-1)!.seq);
      let arrived = NaN;
      let t0 = 0;
      const done = readFrames(res, (f) => {
        if (f.event === 'tool_call.started') arrived = Date.now() - t0;
        return f.event === 'run.completed' || f.event === 'run.failed';
      });
      t0 = Date.now();
      await admin.must('POST', `/v1/approvals/${run.pending_approvals[0]!.id}/approve`, {});
      const replied = Date.now() - t0;
      await done;
      if (i < 5) continue;
      const marks = (await history(run.id, t0)).filter((m) => m.at >= -1);
      approveRuns.push([{ label: 'approve sent', at: 0 }, { label: 'approve answered', at: replied }, ...marks.slice(0, 8), { label: 'tool_call.started on the stream', at: arrived }]);
      const events = (await developer.must('GET', `/v1/runs/${run.id}/events?limit=100`)) as { data: { seq: number; type: string; created_at: string }[] };
      stored.push(events.data.filter((e) => e.seq > before.data.at(-1)!.seq).slice(0, 4).map((e) => ({ label: e.type, at: Date.parse(e.created_at) - t0 })));
    }
    process.stdout.write(`${table('approve: Temporal history after the approve request', approveRuns)}\n${table('approve: stored run events (created_at = its transaction start)', stored)}`);
    return;
  }
  if (mode === 'stream') {
    provider.set({ latency_ms: 0, tokens: 200, token_delay_ms: 2, tool_steps: 0 });
    const frameRuns: Mark[][] = [];
    const historyRuns: Mark[][] = [];
    const stored: Mark[][] = [];
    for (let i = 0; i < n + 5; i++) {
      const t0 = Date.now();
      const res = await fetch(`${developer.base}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${developer.key}`, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ agent: 'one', input: 'hi', stream: true }),
      });
      const headers = Date.now() - t0;
      const frames: Mark[] = [{ label: 'request sent', at: 0 }, { label: 'response headers', at: headers }];
      let runId = '';
      let deltas = 0;
      await readFrames(res, (f) => {
        const data = f.data as { run_id?: string; id?: string };
        runId ||= data.run_id ?? (f.event === 'run.created' ? (data.id ?? '') : '');
        if (f.event === 'message.delta') {
          if (deltas++ === 0) frames.push({ label: 'first message.delta frame', at: f.wall - t0 });
        } else if (frames.length < 8) frames.push({ label: `${f.event} frame`, at: f.wall - t0 });
        return f.event === 'run.completed' || f.event === 'run.failed';
      });
      if (i < 5) continue;
      frameRuns.push(frames);
      historyRuns.push((await history(runId, t0)).slice(0, 8));
      const events = (await developer.must('GET', `/v1/runs/${runId}/events?limit=100`)) as { data: { type: string; created_at: string }[] };
      stored.push(events.data.slice(0, 4).map((e) => ({ label: e.type, at: Date.parse(e.created_at) - t0 })));
    }
    process.stdout.write(`${table('stream: SSE frames', frameRuns)}\n${table('stream: Temporal history', historyRuns)}\n${table('stream: stored run events (created_at = its transaction start)', stored)}`);
    return;
  }
  const platformRuns: Mark[][] = [];
  const eventRuns: Mark[][] = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = Date.now();
    const run = (await developer.must('POST', '/v1/runs', { agent, input: 'hi', wait: true, wait_timeout_seconds: 120 })) as { id: string; workflow_id?: string };
    const replied = Date.now() - t0;
    if (i < 5) continue;
    const marks = await history(run.workflow_id ?? run.id, t0);
    platformRuns.push([{ label: 'request sent', at: 0 }, ...marks, { label: 'reply received', at: replied }]);
    const events = (await developer.must('GET', `/v1/runs/${run.id}/events?limit=100`)) as { data: { type: string; created_at: string }[] };
    eventRuns.push(events.data.map((e) => ({ label: e.type, at: Date.parse(e.created_at) - t0 })));
  }
  const rawRuns: Mark[][] = [];
  for (let i = 0; i < n + 5; i++) {
    const workflowId = `raw-${crypto.randomUUID()}`;
    const t0 = Date.now();
    if (agent === 'steps') {
      await stack.raw.client.workflow.execute('steps', { taskQueue: stack.raw.taskQueue, workflowId, args: [provider.baseUrl, `${tools.url}/lookup`, 4] });
    } else {
      await stack.raw.client.workflow.execute('oneActivity', { taskQueue: stack.raw.taskQueue, workflowId, args: [provider.baseUrl] });
    }
    const done = Date.now() - t0;
    if (i < 5) continue;
    rawRuns.push([{ label: 'start sent', at: 0 }, ...(await history(workflowId, t0)), { label: 'result received', at: done }]);
  }
  process.stdout.write(`${table('platform: Temporal history', platformRuns)}\n${table('platform: stored run events (created_at = its transaction start)', eventRuns)}\n${table('raw workflow', rawRuns)}`);
});
