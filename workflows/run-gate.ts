// The run's handlers (state query, session turn, and the signals for its tool gate) and the gate itself,
// created at the first tool call of a governed run with the signals that came before it.
import { setHandler } from '@temporalio/workflow';
import type { RunContext } from '../src/domain/run-context';
import { approvalDecisionSignal, authorizationCompletedSignal, runStateQuery, sessionTurnSignal, toolResolutionSignal } from './definitions';
import type { RunTools } from './run-loop';
import { setStatus, type RunScope } from './run-scope';
import { createToolGate, type ToolGate } from './tool-gate';

/** Sets every handler of the run: call it before the run's first await, so that no signal finds none. */
export function registerRunHandlers(run: RunScope): void {
  setHandler(runStateQuery, () => run.state);
  setHandler(sessionTurnSignal, () => void (run.turnSignaled = true));
  // Signals may arrive before the gate exists (never in practice: nothing is pending then); buffer them.
  setHandler(approvalDecisionSignal, (d) => (run.gate ? run.gate.onDecision(d) : void run.early.decisions.push(d)));
  setHandler(toolResolutionSignal, (r) => (run.gate ? run.gate.onResolution(r) : void run.early.resolutions.push(r)));
  // A payload the codec refused arrives as undefined: nothing to destructure, and the gate ignores it.
  setHandler(authorizationCompletedSignal, (signal) => {
    const connection = (signal as { connection?: string } | undefined)?.connection as string;
    if (run.gate) run.gate.onAuthorized(connection);
    else run.early.authorizations.push(connection);
  });
}

/** The run's tool gate, created on first use. */
export function gateOf(run: RunScope, ctx: RunContext, tools: RunTools): ToolGate {
  run.gate ??= openGate(run, ctx, tools);
  return run.gate;
}

function openGate(run: RunScope, ctx: RunContext, tools: RunTools): ToolGate {
  const { events } = run;
  const g = createToolGate({
    run_id: run.run_id,
    workspace_id: ctx.workspace_id,
    request_id: ctx.request_id,
    agent: ctx.agent,
    constraints: ctx.constraints,
    tools: tools.byName,
    allowed: tools.allowed,
    ...(ctx.tool_mode ? { tool_mode: ctx.tool_mode } : {}),
    state: run.state,
    emit: events.emit,
    setStatus: (to) => setStatus(run, to),
    flush: (extra) => events.flush(undefined, extra),
    has: run.has,
    handOff: () => events.handOff(),
    requeue: (batch) => events.requeue(batch),
    defer: (extra) => events.defer(extra),
    pauseDeadline: () => run.deadline?.pause(),
    resumeDeadline: () => run.deadline?.resume(),
  });
  for (const d of run.early.decisions.splice(0)) g.onDecision(d);
  for (const r of run.early.resolutions.splice(0)) g.onResolution(r);
  for (const c of run.early.authorizations.splice(0)) g.onAuthorized(c);
  return g;
}
