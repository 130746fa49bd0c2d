// How a run ends: completed with the model's answer, or failed (a limit, an expired approval, the timeout,
// an error) or canceled; either way its last events and its transcript are stored, never canceled.
import { ApplicationFailure, CancellationScope, CancelledFailure, isCancellation, log } from '@temporalio/workflow';
import type { RunState } from '../src/domain/run';
import { RUN_ERROR, type RunErrorCode } from '../src/domain/errors';
import type { Message, ToolResultMessage } from '../src/domain/message';
import { GateFailure, messageOf } from './gate-state';
import { adoptStoredEnd, setStatus, type RunScope } from './run-scope';

/** As in run-loop.ts: the end stored with the model's answer, or by the workflow, whichever comes first. */
const ANSWER_STORED_PATCH = 'answer-stored-with-model-v1';

export class RunFailure extends Error {
  constructor(
    readonly code: RunErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The run's body returned: `completed`, with its transcript stored. */
export async function completeRun(run: RunScope): Promise<RunState> {
  const { state } = run;
  if (!run.endStored) {
    state.completed_at = new Date().toISOString();
    setStatus(run, 'completed');
    run.events.emit('run.completed', { output_text: state.output_text, usage: state.usage });
    await storeEnd(run, run.transcript);
  }
  log.info('run ended', { ...run.logIds, status: state.status, steps: state.usage.steps, tool_calls: state.usage.tool_calls });
  return run.endStored ? endAs(run) : state;
}

/**
 * The run's body threw: `failed` (rethrown as a non-retryable failure of its code) or `canceled` (rethrown).
 * Unless its answer was stored as its end first (the model activity committed it while the cancel or the
 * timeout reached the workflow): then that end stays, and the run is completed with it.
 */
export async function endRunOnError(run: RunScope, err: unknown): Promise<RunState> {
  const { state } = run;
  // completeRun found the run ended otherwise, adopted that end and threw it: it is stored already.
  if (run.endStored) return endAs(run, err);
  const canceled = isCancellation(err) && !run.timedOut;
  const failure = failureOf(run, err, canceled);
  await CancellationScope.nonCancellable(async () => {
    state.completed_at = new Date().toISOString();
    if (failure) {
      state.error = { code: failure.code, message: failure.message };
      setStatus(run, 'failed');
      run.events.emit('run.failed', { error: state.error, usage: state.usage });
    } else {
      state.error = null;
      setStatus(run, 'canceled');
      run.events.emit('run.canceled', { usage: state.usage });
    }
    // What was still pending (approvals, client calls) is stored as canceled.
    const leftovers = run.gate?.cancelPending();
    await storeEnd(run, completeExchanges(run.transcript), leftovers && (leftovers.approvals.length || leftovers.client_tool_calls.length) ? leftovers : undefined);
  });
  log.info('run ended', { ...run.logIds, status: state.status, error_code: state.error?.code ?? null });
  if (run.endStored) return endAs(run, err);
  if (canceled) throw err;
  throw ApplicationFailure.nonRetryable(failure!.message, failure!.code);
}

/**
 * How the workflow ends when it adopted the run's stored end: completed with it, or canceled or failed as
 * the stored end says (so that Temporal and the store tell the same end).
 */
function endAs(run: RunScope, err?: unknown): RunState {
  const { state } = run;
  if (state.status === 'completed') return state;
  if (state.status === 'canceled') throw isCancellation(err) ? err : new CancelledFailure('The run was canceled');
  throw ApplicationFailure.nonRetryable(state.error?.message ?? 'The run failed', state.error?.code ?? RUN_ERROR.internal_error);
}

/** Stores the run's last batch; under ANSWER_STORED_PATCH an end stored before it is adopted instead. */
async function storeEnd(run: RunScope, messages: Message[], extra?: Parameters<RunScope['events']['flush']>[1]): Promise<void> {
  if (!run.has(ANSWER_STORED_PATCH)) return run.events.flush(messages, extra);
  const ended = await run.events.flushEnd(messages, extra);
  if (ended) adoptStoredEnd(run, ended);
}

/** Why the run failed; undefined when it was canceled. */
function failureOf(run: RunScope, err: unknown, canceled: boolean): RunFailure | GateFailure | undefined {
  if (err instanceof RunFailure || err instanceof GateFailure) return err;
  if (run.timedOut) return new RunFailure(RUN_ERROR.timeout, `The run exceeded its timeout of ${run.timeoutSeconds}s`);
  return canceled ? undefined : new RunFailure(errorCodeOf(err), messageOf(err));
}

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
