// What every scenario shares: its context, the shape of a report row, and the timed calls it is made of
// (a platform run, a raw workflow on either server, with or without eager start).
import crypto from 'node:crypto';
import type { Stack } from './stack';
import type { BenchProvider } from './provider';
import type { Http } from './platform';
import type { RawTarget } from './raw-target';
import { summary } from './stats';

export interface Ctx {
  stack: Stack;
  provider: BenchProvider;
  admin: Http;
  developer: Http;
  toolUrl: string;
  quick: boolean;
  /** --parked=N: how many runs the parked scenario parks (default 100 quick, 10,000 full). */
  parked?: number;
}

/** One line of the report; '—' where a column does not apply. */
export interface Row {
  scenario: string;
  platform: string;
  /** The same Temporal work without the platform, on the platform's (tuned) server. */
  tuned_raw: string;
  /** The same, on a dev server started with the CLI's defaults. */
  default_raw: string;
  /** The provider (and tool) calls made directly, without Temporal. */
  direct: string;
  /** platform ÷ tuned raw, or what the platform adds to the direct call where there is no raw baseline. */
  ratio: string;
  data: Record<string, unknown>;
  /** A markdown table printed under the main one (a scenario with more figures than one row holds). */
  detail?: string[];
}

export const NA = '—';
export const ms = (v: number) => `${v.toFixed(1)} ms`;
export const pair = (s: { p50: number; p99: number }) => `p50 ${ms(s.p50)} · p99 ${ms(s.p99)}`;
export const times = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
export const ratioPair = (p: { p50: number; p99: number }, r: { p50: number; p99: number }) => `p50 ${times(p.p50, r.p50)} · p99 ${times(p.p99, r.p99)}`;

export async function runWait(c: Ctx, agent: string): Promise<number> {
  const t = performance.now();
  const run = await c.developer.must('POST', '/v1/runs', { agent, input: 'hi', wait: true, wait_timeout_seconds: 120 });
  if (run.status !== 'completed') throw new Error(`run ${run.id} ended ${run.status}`);
  return performance.now() - t;
}

/** Where a `wait: true` run's time went, from its own timestamps (ms resolution, same clock as ours). */
export interface RunPhases {
  /** Request sent → the run's row created. */
  to_created_ms: number;
  /** Created → the workflow marked it running. */
  to_started_ms: number;
  /** Running → completed (model call and the workflow's own work). */
  to_completed_ms: number;
  /** Completed → the waiting response arrived. */
  to_reply_ms: number;
}

export async function runWaitPhases(c: Ctx, agent: string): Promise<{ ms: number; phases: RunPhases }> {
  const wall = Date.now();
  const t = performance.now();
  const run = await c.developer.must('POST', '/v1/runs', { agent, input: 'hi', wait: true, wait_timeout_seconds: 120 });
  const took = performance.now() - t;
  if (run.status !== 'completed') throw new Error(`run ${run.id} ended ${run.status}`);
  const [created, started, completed] = [run.created_at, run.started_at, run.completed_at].map((v: string) => Date.parse(v)) as [number, number, number];
  return { ms: took, phases: { to_created_ms: created - wall, to_started_ms: started - created, to_completed_ms: completed - started, to_reply_ms: wall + took - completed } };
}

export async function rawWait(target: RawTarget, workflow: string, args: unknown[]): Promise<number> {
  const t = performance.now();
  await target.client.workflow.execute(workflow, { taskQueue: target.taskQueue, workflowId: `raw-${crypto.randomUUID()}`, args });
  return performance.now() - t;
}

/** A raw workflow started with `requestEagerStart`: its first workflow task comes back in the start's answer. */
export async function rawEagerWait(target: RawTarget, workflow: string, args: unknown[]): Promise<{ ms: number; eager: boolean }> {
  const t = performance.now();
  const handle = await target.eager.workflow.start(workflow, { taskQueue: target.taskQueue, workflowId: `raw-${crypto.randomUUID()}`, args, requestEagerStart: true });
  await handle.result();
  return { ms: performance.now() - t, eager: handle.eagerlyStarted };
}

/** n eager starts one after another: latency summary and how many the server really started eagerly. */
export async function sequentialEager(n: number, target: RawTarget, workflow: string, args: unknown[]): Promise<ReturnType<typeof summary> & { eager: number }> {
  const out: number[] = [];
  let eager = 0;
  for (let i = 0; i < n; i++) {
    const r = await rawEagerWait(target, workflow, args);
    out.push(r.ms);
    if (r.eager) eager++;
  }
  return { ...summary(out), eager };
}
