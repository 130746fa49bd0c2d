// The run's start: runs of one session take turns, so a run waits until every earlier run of its session
// has ended, then loads its context (so that it sees every earlier run of the session), starts its
// timeout and becomes `running`.
import { CancellationScope, condition, log } from '@temporalio/workflow';
import { DEFAULT_LIMITS } from '../src/domain/defaults';
import type { RunContext } from '../src/domain/run-context';
import { startTimeout } from './run-deadline';
import { setStatus, type RunScope } from './run-scope';

/** How often a waiting run asks again without a signal (one may be lost while the earlier run ends). */
const SESSION_TURN_RECHECK = '30s';

/** Waits for the session's turn and loads the run's context (for a run whose context did not come with its input). */
export async function awaitSessionTurn(run: RunScope): Promise<RunContext> {
  const { events } = run;
  for (;;) {
    run.turnSignaled = false;
    if (events.storeWithActivity) {
      const begun = await events.store.beginRun(run.run_id);
      if (begun.claimed) return begun.context;
    } else if (await events.store.claimSessionTurn(run.run_id)) {
      return await events.store.loadRunContext(run.run_id);
    }
    if (events.hasPending) await events.flush(); // waiting for the session: clients see run.queued meanwhile
    await condition(() => run.turnSignaled, SESSION_TURN_RECHECK);
  }
}

/** The run's turn has come: its transcript and timeout from the context, then `running` and `run.started`. Call it inside `body`. */
export function startRun(run: RunScope, ctx: RunContext, body: CancellationScope): void {
  Object.assign(run.logIds, { workspace_id: ctx.workspace_id, request_id: ctx.request_id });
  run.transcript.push(...ctx.input);
  run.timeoutSeconds = Math.min(
    ctx.agent.limits?.timeout_seconds ?? DEFAULT_LIMITS.timeout_seconds,
    ctx.constraints.timeout_seconds ?? Number.POSITIVE_INFINITY,
  );
  startTimeout(run, body);
  run.state.started_at = new Date().toISOString();
  setStatus(run, 'running');
  run.events.emit('run.started', { request_id: ctx.request_id });
  log.info('run started', { ...run.logIds });
}
