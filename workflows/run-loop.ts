// The run's steps: model call → tool calls (through the gate) → model call …, until the model answers
// without tool calls. The run's limits (steps, tool calls, tokens, the workspace's budget) are checked here.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CheckedToolCall, ModelCallResult } from '../activities/model';
import type { EventBatch } from '../activities/run-log';
import { DEFAULT_LIMITS } from '../src/domain/defaults';
import { RUN_ERROR } from '../src/domain/errors';
import type { RunContext } from '../src/domain/run-context';
import type { ToolSpec } from '../src/domain/tool';
import { legacyToolCall } from './legacy-tool-call';
import { RunFailure } from './run-end';
import { gateOf } from './run-gate';
import { adoptStoredEnd, type RunScope } from './run-scope';

/** Patch: tool calls go through the approval/client-tool gate (before: write tools refused outright). */
const GOVERNANCE_PATCH = 'governance-v1';
/**
 * Patch (issue 18): the model activity that gets an answer without tool calls stores the run's end with it
 * (src/domain/run-answer.ts), and the workflow adopts that end instead of storing its own: one local
 * activity and one activation fewer per run, and `wait: true` and the streams see the end a workflow task
 * earlier. A cancel or the timeout that reaches the workflow first still ends the run (run-end.ts).
 */
const ANSWER_STORED_PATCH = 'answer-stored-with-model-v1';

const modelCall = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '20s', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: [RUN_ERROR.model_error] },
});

interface RunLimits {
  maxSteps: number;
  maxToolCalls: number;
  maxTokens: number;
  /** Tokens left in the workspace's monthly budget. */
  budget: number;
}

/** The tools the model is offered (the agent's, narrowed by the run's constraints), and every tool by name. */
export interface RunTools {
  allowed: string[];
  byName: Map<string, ToolSpec>;
  /** Identical calls so far, for the policy's loop detection (legacy runs only: the gate counts its own). */
  callCounts: Map<string, number>;
}

// Every await of a step stays in this function, as it was: a step moved into an async function of its
// own would resume a microtask later, and a timeout that fires in the same activation could then come first.
export async function runSteps(run: RunScope, ctx: RunContext): Promise<void> {
  const limits = limitsOf(ctx);
  const tools = toolsOf(ctx);
  for (;;) {
    const step = startStep(run, limits);
    const batch = await run.events.handOff();
    const result: ModelCallResult = await modelCall.callModel(modelRequest(run, ctx, tools, step, batch, limits)).catch((err: unknown) => {
      run.events.requeue(batch);
      throw err;
    });
    if (result.finished) {
      run.transcript.push(result.message);
      adoptStoredEnd(run, result.finished);
      return;
    }
    takeModelResult(run, limits, step, result);
    if (result.tool_calls.length === 0) {
      finishWithAnswer(run, step, result);
      return;
    }
    const count = toolCallCounter(run, limits, step);
    if (run.has(GOVERNANCE_PATCH)) {
      run.transcript.push(...(await gateOf(run, ctx, tools).processStep(result.tool_calls, count)));
    } else {
      for (const call of result.tool_calls) {
        count(call);
        const host = { run_id: run.run_id, emit: run.events.emit, flush: () => run.events.flush() };
        run.transcript.push(await legacyToolCall(host, ctx, call, tools.byName.get(call.name), tools.allowed, tools.callCounts));
      }
    }
    run.events.emit('step.completed', { step });
  }
}

function limitsOf(ctx: RunContext): RunLimits {
  const limits = { ...DEFAULT_LIMITS, ...ctx.agent.limits };
  const c = ctx.constraints;
  return {
    maxSteps: Math.min(limits.max_steps, c.max_steps ?? Number.POSITIVE_INFINITY),
    maxToolCalls: Math.min(limits.max_tool_calls, c.max_tool_calls ?? Number.POSITIVE_INFINITY),
    maxTokens: Math.min(limits.max_tokens ?? Number.POSITIVE_INFINITY, c.max_tokens ?? Number.POSITIVE_INFINITY),
    budget: ctx.tokens_remaining ?? Number.POSITIVE_INFINITY,
  };
}

function toolsOf(ctx: RunContext): RunTools {
  const c = ctx.constraints;
  const allowed = ctx.tools
    .map((t) => t.name)
    .filter((n) => (ctx.agent.tools ?? []).includes(n) && (!c.allowed_tools || c.allowed_tools.includes(n)));
  return { allowed, byName: new Map(ctx.tools.map((t) => [t.name, t])), callCounts: new Map() };
}

/** A new step (`step.started`), unless the run is at its step limit. */
function startStep(run: RunScope, limits: RunLimits): number {
  if (run.state.usage.steps >= limits.maxSteps) {
    throw new RunFailure(RUN_ERROR.max_steps_exceeded, `The run reached its limit of ${limits.maxSteps} steps`);
  }
  const step = ++run.state.usage.steps;
  run.events.emit('step.started', { step });
  return step;
}

/** The model call's input: the session's history and the transcript, the allowed tools, the events to store first, how to end the run. */
function modelRequest(run: RunScope, ctx: RunContext, tools: RunTools, step: number, batch: EventBatch | undefined, limits: RunLimits) {
  const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);
  return {
    workspace_id: ctx.workspace_id,
    run_id: run.run_id,
    request_id: ctx.request_id,
    step,
    card: ctx.agent.model.card,
    model: ctx.agent.model.model,
    instructions: ctx.agent.instructions ?? '',
    messages: [...ctx.history, ...run.transcript],
    tools: tools.allowed.map((n) => tools.byName.get(n)!).map((t) => ({ name: t.name, description: t.description, input_schema: t.input_schema })),
    ...(batch ? { store: batch } : {}),
    ...(run.has(ANSWER_STORED_PATCH)
      ? // The state before the call is the handed batch's, when there is one: not sent twice.
        { finish: { seq: run.events.nextSeq, ...(batch ? {} : { state: { ...run.state } }), history_length: ctx.history.length, max_tokens: finite(limits.maxTokens), budget: finite(limits.budget) } }
      : {}),
  };
}

/** Counts the model call's usage, keeps its message (`message.completed`) and checks the token limits. */
function takeModelResult(run: RunScope, limits: RunLimits, step: number, result: ModelCallResult): void {
  const { usage } = run.state;
  usage.model_calls += 1;
  usage.input_tokens += result.usage.input_tokens;
  usage.output_tokens += result.usage.output_tokens;
  usage.cost_usd += result.usage.cost_usd;
  run.transcript.push(result.message);
  run.events.emit('message.completed', { step, message: result.message, usage: result.usage, card: result.card, model: result.model, finish_reason: result.finish_reason });
  if (usage.input_tokens + usage.output_tokens > limits.maxTokens) {
    throw new RunFailure(RUN_ERROR.budget_exceeded, `The run used more than its limit of ${limits.maxTokens} tokens`);
  }
  if (usage.input_tokens + usage.output_tokens > limits.budget) {
    throw new RunFailure(RUN_ERROR.budget_exceeded, "The run crossed the workspace's monthly token budget");
  }
}

/** The model answered without tool calls: its message is the run's output. */
function finishWithAnswer(run: RunScope, step: number, result: ModelCallResult): void {
  run.state.output = [result.message];
  run.state.output_text = result.message.content.map((p) => p.text).join('');
  run.events.emit('step.completed', { step });
}

/** Each requested call (`tool_call.requested`) is counted against the run's tool-call limit before it is prepared. */
function toolCallCounter(run: RunScope, limits: RunLimits, step: number): (call: CheckedToolCall) => void {
  return (call) => {
    run.events.emit('tool_call.requested', { step, tool_call: requestedCall(call) });
    if (run.state.usage.tool_calls >= limits.maxToolCalls) {
      throw new RunFailure(RUN_ERROR.max_tool_calls_exceeded, `The run reached its limit of ${limits.maxToolCalls} tool calls`);
    }
    run.state.usage.tool_calls += 1;
  };
}

/** The call as its event shows it (with the reason its arguments are invalid, if they are). */
const requestedCall = (c: CheckedToolCall) => ({
  id: c.id,
  name: c.name,
  arguments: c.arguments,
  ...(c.arguments_error ? { arguments_error: c.arguments_error } : {}),
});
