// The run workflow: model step → validated, policy-checked tool calls → model step …, until the model
// answers without tool calls. Limits, the run timeout and cancellation are enforced here, and every
// transition is numbered here as a run event, so retries of the storing activity cannot shift a seq.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CheckedToolCall, ModelCallResult } from '../activities/model';
import type { EventBatch } from '../activities/run-log';
import type { RunContext } from '../src/domain/run-context';
import { DEFAULT_LIMITS } from '../src/domain/defaults';
import { RUN_ERROR, type RunErrorCode } from '../src/domain/errors';
import type { PendingEvent } from '../src/domain/event';
import type { Message, ToolResultMessage } from '../src/domain/message';
import type { RunState, RunStatus } from '../src/domain/run';
import { emptyUsage } from '../src/domain/usage';
import type { ToolSpec } from '../src/domain/tool';
import { approvalDecisionSignal, authorizationCompletedSignal, runStateQuery, SEARCH_ATTRIBUTES, sessionTurnSignal, toolResolutionSignal, type RunWorkflowInput } from './definitions';
import { GateFailure, messageOf } from './gate-state';
import { createToolGate } from './tool-gate';
import { legacyToolCall } from './legacy-tool-call';
import { toolResult } from './tool-result';
import type { ApprovalDecision, ApprovalRecord, ClientToolRecord, ToolResolution } from '../src/domain/approval';
import type { Emit } from '../src/domain/run-event';

/** Patch: tool calls go through the approval/client-tool gate (before: write tools refused outright). */
const GOVERNANCE_PATCH = 'governance-v1';
/** Patch: the run timeout stops while the run waits for an approval or a client tool. */
const PAUSABLE_TIMEOUT_PATCH = 'timeout-pauses-for-people-v1';
/** Patch: every status change is upserted as the ApRunStatus search attribute (a history event each). */
const SEARCH_ATTRIBUTES_PATCH = 'search-attributes-v1';
/**
 * Patch: the store activities (event batches, session turn, run context) run as local activities in the
 * worker that runs the workflow, instead of a round trip each through the task queue (issue 7: they were
 * most of a short run's overhead over raw Temporal).
 */
const LOCAL_STORE_PATCH = 'local-store-activities-v1';
/**
 * Patch: fewer local activities on the hot path (issue 18). The start claims the session's turn and loads
 * the run's context in one (beginRun); the events before a model call or a tool call are handed to that
 * activity, which stores them first (retrying through outages), instead of a recordEvents of their own,
 * unless they carry approval or client-tool records or are large. Decided approvals wait for the next
 * batch (defer). A batch whose activity fails is stored again with the next one (storing is idempotent).
 */
const STORE_WITH_ACTIVITY_PATCH = 'store-with-activity-v1';
/**
 * Patch: every patch of this file, the tool gate's and the policy engine's applies, under this one marker.
 * A patched() call of a new execution records a marker and upserts TemporalChangeVersion: a 1-step run had
 * four of each in its first workflow task, each a history event and the upserts a visibility write on the
 * server (issue 18). Histories without this marker call the individual patches as before. A new patch
 * still goes behind its own patched() (CURRENT_PATCH runs do not have it either), until the next
 * consolidation, which adds a new CURRENT_PATCH covering it.
 */
const CURRENT_PATCH = 'run-patches-current-v1';
/** The largest batch (as JSON) handed to a model or tool call to store; a larger one is flushed first. */
const HAND_OFF_MAX_CHARS = 64 * 1024;

// Activity options, one set per kind of activity, named for why.
// Platform data must not be lost: keep retrying through a database outage.
const STORE_RETRY = { initialInterval: '500ms', maximumInterval: '10s', backoffCoefficient: 2 } as const;
const remoteRunLog = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });
// Past localRetryThreshold a failing local activity backs off on a workflow timer, so a long database
// outage does not hold the workflow task.
const localRunLog = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s', localRetryThreshold: '5s', retry: STORE_RETRY });
const modelCall = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '20s', backoffCoefficient: 2, maximumAttempts: 4, nonRetryableErrorTypes: [RUN_ERROR.model_error] },
});
class RunFailure extends Error {
  constructor(
    readonly code: RunErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const SESSION_TURN_RECHECK = '30s';

export async function runWorkflow({ run_id, context: given }: RunWorkflowInput): Promise<RunState> {
  const state: RunState = {
    status: 'queued',
    started_at: null,
    completed_at: null,
    output: [],
    output_text: null,
    usage: emptyUsage(),
    error: null,
    pending_approvals: [],
    pending_tool_calls: [],
    pending_authorizations: [],
  };
  const current = patched(CURRENT_PATCH);
  /** Whether a patch applies: all of them under CURRENT_PATCH, else as each one's marker says. */
  const has = (patch: string): boolean => current || patched(patch);
  const fastStore = has(LOCAL_STORE_PATCH);
  const runLog = fastStore ? localRunLog : remoteRunLog;
  const storeWithActivity = has(STORE_WITH_ACTIVITY_PATCH);
  let seq = 0;
  let pending: PendingEvent[] = [];
  // Records to store with the next batch (STORE_WITH_ACTIVITY_PATCH only; else always empty).
  let pendingExtra: Extra = {};
  let turnSignaled = false;
  // What every workflow log line about this run carries (the workspace and request once the context is loaded).
  const logIds: { run_id: string; workspace_id?: string; request_id?: string | null } = { run_id };
  setHandler(runStateQuery, () => state);
  setHandler(sessionTurnSignal, () => void (turnSignaled = true));
  // Signals may arrive before the gate exists (never in practice: nothing is pending then); buffer them.
  let gate: ReturnType<typeof createToolGate> | undefined;
  const earlyDecisions: ApprovalDecision[] = [];
  const earlyResolutions: ToolResolution[] = [];
  setHandler(approvalDecisionSignal, (d) => (gate ? gate.onDecision(d) : void earlyDecisions.push(d)));
  setHandler(toolResolutionSignal, (r) => (gate ? gate.onResolution(r) : void earlyResolutions.push(r)));
  const earlyAuthorizations: string[] = [];
  // A payload the codec refused arrives as undefined: nothing to destructure, and the gate ignores it.
  setHandler(authorizationCompletedSignal, (signal) => {
    const connection = (signal as { connection?: string } | undefined)?.connection as string;
    if (gate) gate.onAuthorized(connection);
    else earlyAuthorizations.push(connection);
  });

  const emit: Emit = (type, data) => {
    pending.push({ seq: ++seq, type, data });
  };
  // A flush is never canceled: a batch that was numbered must be stored, or the log would have a gap.
  const flush = async (messages?: Message[], more?: Extra): Promise<void> => {
    const batch = pending;
    const extra = mergeExtra(pendingExtra, more);
    pending = [];
    pendingExtra = {};
    await CancellationScope.nonCancellable(() =>
      extra ? runLog.recordEvents(run_id, batch, { ...state }, messages, extra) : runLog.recordEvents(run_id, batch, { ...state }, messages),
    );
  };
  const handOff = async (): Promise<EventBatch | undefined> => {
    if (!storeWithActivity) {
      await flush();
      return undefined;
    }
    // Stored here instead: approval and client-tool records (an approvals list must not show a decided or
    // expired approval as pending while the next activity waits for a slot), and large batches (a tool's
    // output, already in the model call's messages, would count twice against the payload limit).
    if (mergeExtra(pendingExtra) || JSON.stringify(pending).length > HAND_OFF_MAX_CHARS) {
      await flush();
      return undefined;
    }
    if (!pending.length) return undefined;
    const batch: EventBatch = { events: pending, state: { ...state } };
    pending = [];
    return batch;
  };
  const requeue = (batch: EventBatch | undefined): void => {
    if (!batch) return;
    pending = [...batch.events, ...pending];
  };
  const defer = async (more: Extra): Promise<void> => {
    if (!storeWithActivity) return flush(undefined, more);
    pendingExtra = mergeExtra(pendingExtra, more) ?? {};
  };
  const setStatus = (to: RunStatus): void => {
    if (state.status === to) return;
    const from = state.status;
    state.status = to;
    emit('run.status_changed', { from, to });
    if (has(SEARCH_ATTRIBUTES_PATCH)) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.runStatus, value: to }]);
  };

  emit('run.queued', {});
  // With the local store, run.queued is stored with the next batch unless the run has to wait its turn.
  if (!fastStore) await flush();
  const transcript: Message[] = [];
  let timeoutSeconds = 0;
  let timedOut = false;
  let deadline: { pause(): void; resume(): void } | undefined;
  const body = new CancellationScope();

  try {
    await body.run(async () => {
      // Runs of one session take turns: wait until every earlier run of the session has ended. The context is
      // loaded once this run's turn has come, so that it sees every earlier run of the session (by the API at
      // create, in the input, when the turn was the run's at once).
      let ctx: RunContext | undefined = given;
      while (!ctx) {
        turnSignaled = false;
        if (storeWithActivity) {
          const begun = await runLog.beginRun(run_id);
          if (begun.claimed) {
            ctx = begun.context;
            break;
          }
        } else if (await runLog.claimSessionTurn(run_id)) {
          ctx = await runLog.loadRunContext(run_id);
          break;
        }
        if (pending.length) await flush(); // waiting for the session: clients see run.queued meanwhile
        await condition(() => turnSignaled, SESSION_TURN_RECHECK);
      }
      Object.assign(logIds, { workspace_id: ctx.workspace_id, request_id: ctx.request_id });
      transcript.push(...ctx.input);
      timeoutSeconds = Math.min(
        ctx.agent.limits?.timeout_seconds ?? DEFAULT_LIMITS.timeout_seconds,
        ctx.constraints.timeout_seconds ?? Number.POSITIVE_INFINITY,
      );
      const expire = (): void => {
        timedOut = true;
        body.cancel();
      };
      if (has(PAUSABLE_TIMEOUT_PATCH)) {
        deadline = pausableDeadline(timeoutSeconds * 1000, expire);
      } else {
        sleep(timeoutSeconds * 1000).then(expire).catch(() => undefined);
      }
      state.started_at = new Date().toISOString();
      setStatus('running');
      emit('run.started', { request_id: ctx.request_id });
      log.info('run started', { ...logIds });
      await loop(ctx, transcript);
    });
    state.completed_at = new Date().toISOString();
    setStatus('completed');
    emit('run.completed', { output_text: state.output_text, usage: state.usage });
    await flush(transcript);
    log.info('run ended', { ...logIds, status: state.status, steps: state.usage.steps, tool_calls: state.usage.tool_calls });
    return state;
  } catch (err) {
    const canceled = isCancellation(err) && !timedOut;
    const failure =
      err instanceof RunFailure || err instanceof GateFailure
        ? err
        : timedOut
          ? new RunFailure(RUN_ERROR.timeout, `The run exceeded its timeout of ${timeoutSeconds}s`)
          : canceled
            ? undefined
            : new RunFailure(errorCodeOf(err), messageOf(err));
    await CancellationScope.nonCancellable(async () => {
      state.completed_at = new Date().toISOString();
      if (failure) {
        state.error = { code: failure.code, message: failure.message };
        setStatus('failed');
        emit('run.failed', { error: state.error, usage: state.usage });
      } else {
        state.error = null;
        setStatus('canceled');
        emit('run.canceled', { usage: state.usage });
      }
      const leftovers = gate?.cancelPending();
      await flush(completeExchanges(transcript), leftovers && (leftovers.approvals.length || leftovers.client_tool_calls.length) ? leftovers : undefined);
    });
    log.info('run ended', { ...logIds, status: state.status, error_code: state.error?.code ?? null });
    if (canceled) throw err;
    throw ApplicationFailure.nonRetryable(failure!.message, failure!.code);
  }

  async function loop(ctx: RunContext, transcript: Message[]): Promise<void> {
    const limits = { ...DEFAULT_LIMITS, ...ctx.agent.limits };
    const c = ctx.constraints;
    const maxSteps = Math.min(limits.max_steps, c.max_steps ?? Number.POSITIVE_INFINITY);
    const maxToolCalls = Math.min(limits.max_tool_calls, c.max_tool_calls ?? Number.POSITIVE_INFINITY);
    const maxTokens = Math.min(limits.max_tokens ?? Number.POSITIVE_INFINITY, c.max_tokens ?? Number.POSITIVE_INFINITY);
    const budget = ctx.tokens_remaining ?? Number.POSITIVE_INFINITY;
    const allowed = ctx.tools
      .map((t) => t.name)
      .filter((n) => (ctx.agent.tools ?? []).includes(n) && (!c.allowed_tools || c.allowed_tools.includes(n)));
    const toolsByName = new Map(ctx.tools.map((t) => [t.name, t]));
    const callCounts = new Map<string, number>();

    for (;;) {
      if (state.usage.steps >= maxSteps) {
        throw new RunFailure(RUN_ERROR.max_steps_exceeded, `The run reached its limit of ${maxSteps} steps`);
      }
      const step = ++state.usage.steps;
      emit('step.started', { step });
      const batch = await handOff();
      const result: ModelCallResult = await modelCall
        .callModel({
          workspace_id: ctx.workspace_id,
          run_id,
          request_id: ctx.request_id,
          step,
          card: ctx.agent.model.card,
          model: ctx.agent.model.model,
          instructions: ctx.agent.instructions ?? '',
          messages: [...ctx.history, ...transcript],
          tools: allowed.map((n) => toolsByName.get(n)!).map((t) => ({ name: t.name, description: t.description, input_schema: t.input_schema })),
          ...(batch ? { store: batch } : {}),
        })
        .catch((err: unknown) => {
          requeue(batch);
          throw err;
        });
      state.usage.model_calls += 1;
      state.usage.input_tokens += result.usage.input_tokens;
      state.usage.output_tokens += result.usage.output_tokens;
      state.usage.cost_usd += result.usage.cost_usd;
      transcript.push(result.message);
      emit('message.completed', { step, message: result.message, usage: result.usage, card: result.card, model: result.model, finish_reason: result.finish_reason });
      if (state.usage.input_tokens + state.usage.output_tokens > maxTokens) {
        throw new RunFailure(RUN_ERROR.budget_exceeded, `The run used more than its limit of ${maxTokens} tokens`);
      }
      if (state.usage.input_tokens + state.usage.output_tokens > budget) {
        throw new RunFailure(RUN_ERROR.budget_exceeded, "The run crossed the workspace's monthly token budget");
      }
      if (result.tool_calls.length === 0) {
        state.output = [result.message];
        state.output_text = result.message.content.map((p) => p.text).join('');
        emit('step.completed', { step });
        return;
      }
      const countCall = (call: CheckedToolCall): void => {
        emit('tool_call.requested', { step, tool_call: publicCall(call) });
        if (state.usage.tool_calls >= maxToolCalls) {
          throw new RunFailure(RUN_ERROR.max_tool_calls_exceeded, `The run reached its limit of ${maxToolCalls} tool calls`);
        }
        state.usage.tool_calls += 1;
      };
      if (has(GOVERNANCE_PATCH)) {
        gate ??= createGate(ctx, toolsByName, allowed);
        transcript.push(...(await gate.processStep(result.tool_calls, countCall)));
      } else {
        for (const call of result.tool_calls) {
          countCall(call);
          transcript.push(await legacyToolCall({ run_id, emit, flush: () => flush() }, ctx, call, toolsByName.get(call.name), allowed, callCounts));
        }
      }
      emit('step.completed', { step });
    }
  }

  function createGate(ctx: RunContext, toolsByName: Map<string, ToolSpec>, allowed: string[]) {
    const g = createToolGate({
      run_id,
      workspace_id: ctx.workspace_id,
      request_id: ctx.request_id,
      agent: ctx.agent,
      constraints: ctx.constraints,
      tools: toolsByName,
      allowed,
      ...(ctx.tool_mode ? { tool_mode: ctx.tool_mode } : {}),
      state,
      emit,
      setStatus,
      flush: (extra) => flush(undefined, extra),
      has,
      handOff,
      requeue,
      defer,
      pauseDeadline: () => deadline?.pause(),
      resumeDeadline: () => deadline?.resume(),
    });
    for (const d of earlyDecisions.splice(0)) g.onDecision(d);
    for (const r of earlyResolutions.splice(0)) g.onResolution(r);
    for (const c of earlyAuthorizations.splice(0)) g.onAuthorized(c);
    return g;
  }
}

type Extra = { approvals?: ApprovalRecord[]; client_tool_calls?: ClientToolRecord[] };

/** Records of both in order (a later record of the same id is upserted after the earlier); undefined when none. */
function mergeExtra(a: Extra | undefined, b?: Extra): Extra | undefined {
  const approvals = [...(a?.approvals ?? []), ...(b?.approvals ?? [])];
  const clientToolCalls = [...(a?.client_tool_calls ?? []), ...(b?.client_tool_calls ?? [])];
  if (!approvals.length && !clientToolCalls.length) return undefined;
  return { ...(approvals.length ? { approvals } : {}), ...(clientToolCalls.length ? { client_tool_calls: clientToolCalls } : {}) };
}

/** A timer that can stop and go on: each pause cancels the running sleep and keeps what was left. */
function pausableDeadline(ms: number, onExpire: () => void): { pause(): void; resume(): void } {
  let remaining = ms;
  let started = 0;
  let scope: CancellationScope | undefined;
  const arm = (): void => {
    started = Date.now();
    const s = new CancellationScope();
    scope = s;
    s.run(() => sleep(remaining))
      .then(() => {
        if (scope === s) onExpire();
      })
      .catch(() => undefined);
  };
  arm();
  return {
    pause() {
      if (!scope) return;
      const s = scope;
      scope = undefined;
      s.cancel();
      remaining = Math.max(1, remaining - (Date.now() - started));
    },
    resume() {
      if (!scope) arm();
    },
  };
}

const publicCall = (c: CheckedToolCall) => ({
  id: c.id,
  name: c.name,
  arguments: c.arguments,
  ...(c.arguments_error ? { arguments_error: c.arguments_error } : {}),
});


/** Drops a trailing assistant tool request whose results are incomplete, so the next run's context is valid. */
function completeExchanges(messages: Message[]): Message[] {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === 'assistant' && m.tool_calls?.length) {
      const answered = new Set(messages.slice(i + 1).filter((x): x is ToolResultMessage => x.role === 'tool').map((x) => x.tool_call_id));
      return m.tool_calls.every((c) => answered.has(c.id)) ? messages : messages.slice(0, i);
    }
  }
  return messages;
}

function errorCodeOf(err: unknown): RunErrorCode {
  let e: unknown = err;
  while (e && typeof e === 'object') {
    const type = (e as { type?: string }).type;
    if (type && type in RUN_ERROR) return type as RunErrorCode;
    if ((e as { name?: string }).name === 'ActivityFailure' && isModelActivity(e)) return RUN_ERROR.model_error;
    e = (e as { cause?: unknown }).cause;
  }
  return RUN_ERROR.internal_error;
}

const isModelActivity = (e: unknown): boolean => (e as { activityType?: string }).activityType === 'callModel';

