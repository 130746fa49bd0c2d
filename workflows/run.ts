// The run workflow: model step → validated, policy-checked tool calls → model step …, until the model
// answers without tool calls. Limits, the run timeout and cancellation are enforced here, and every
// transition is numbered here as a run event, so retries of the storing activity cannot shift a seq.
// The steps, in order: openRun (run-scope.ts) → registerRunHandlers (run-gate.ts) → awaitSessionTurn and
// startRun (run-start.ts) → runSteps (run-loop.ts) → completeRun or endRunOnError (run-end.ts).
import { CancellationScope } from '@temporalio/workflow';
import type { RunState } from '../src/domain/run';
import type { RunWorkflowInput } from './definitions';
import { completeRun, endRunOnError } from './run-end';
import { registerRunHandlers } from './run-gate';
import { runSteps } from './run-loop';
import { openRun } from './run-scope';
import { awaitSessionTurn, startRun } from './run-start';

export async function runWorkflow({ run_id, context: given }: RunWorkflowInput): Promise<RunState> {
  const run = openRun(run_id);
  registerRunHandlers(run);
  run.events.emit('run.queued', {});
  // With the local store, run.queued is stored with the next batch unless the run has to wait its turn.
  if (!run.events.fastStore) await run.events.flush();
  // Canceled by the timeout, or by the workflow's cancellation; the end is stored outside it.
  const body = new CancellationScope();
  try {
    await body.run(async () => {
      // The context comes with the input when the session's turn was the run's at once (the API loads it at create).
      const ctx = given ?? (await awaitSessionTurn(run));
      startRun(run, ctx, body);
      await runSteps(run, ctx);
    });
    return await completeRun(run);
  } catch (err) {
    return await endRunOnError(run, err);
  }
}
