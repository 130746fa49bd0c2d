// The eval workflow (API.md 10): each case of the eval set runs as an ordinary run in a fresh session, at
// most `concurrency` at a time; each finished case's verdict is stored by an activity, so a worker lost
// midway costs only the cases in flight, whose runs are found again (idempotent creation), not re-run.
import { ApplicationFailure, CancellationScope, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EvalSummary } from '../src/domain/eval';
import type { EvalWorkflowInput } from './definitions';

/** A canceled eval (POST /v1/evals/:id/cancel) is marked canceled and its open case runs canceled. */
export const EVAL_CANCEL_PATCH = 'eval-cancel-v1';

// Platform data must not be lost: keep retrying through a database outage.
const evalStore = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { initialInterval: '500ms', maximumInterval: '10s', backoffCoefficient: 2 } });
// A case's run is created through the same admission as any run: a 429 at the active-run cap is retried.
const caseStart = proxyActivities<Activities>({ startToCloseTimeout: '60s', retry: { initialInterval: '1s', maximumInterval: '15s', backoffCoefficient: 2 } });
// Waiting for a case's run lasts as long as the run; the heartbeat hands a lost worker's wait on in seconds.
const caseJudge = proxyActivities<Activities>({ startToCloseTimeout: '30 days', heartbeatTimeout: '15s', retry: { initialInterval: '1s', maximumInterval: '15s', backoffCoefficient: 2 } });

export async function evalWorkflow({ eval_id }: EvalWorkflowInput): Promise<EvalSummary> {
  try {
    const plan = await evalStore.startEval(eval_id);
    const queue = [...plan.pending_case_ids];
    const lane = async (): Promise<void> => {
      for (let caseId = queue.shift(); caseId !== undefined; caseId = queue.shift()) {
        const runId = await caseStart.startEvalCase(eval_id, caseId);
        if (runId) await caseJudge.judgeEvalCase(eval_id, caseId, runId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(plan.concurrency, queue.length) }, lane));
    return await evalStore.finishEval(eval_id);
  } catch (err) {
    if (isCancellation(err) && patched(EVAL_CANCEL_PATCH)) {
      await CancellationScope.nonCancellable(() => evalStore.cancelEval(eval_id));
      throw err;
    }
    const message = err instanceof Error ? err.message : String(err);
    // A cancel arriving while the failure is stored must not leave the eval `running`.
    if (patched(EVAL_CANCEL_PATCH)) await CancellationScope.nonCancellable(() => evalStore.failEval(eval_id, message));
    else await evalStore.failEval(eval_id, message);
    throw ApplicationFailure.nonRetryable(message, 'eval_failed');
  }
}
