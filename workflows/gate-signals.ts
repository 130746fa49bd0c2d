// What reaches the gate from outside the workflow: approval decisions, client-tool resolutions and
// completed authorizations (the run's signal handlers call these), the early ones kept until their
// approval or client call is live, and the cancel that ends whatever is still pending.
import type { ApprovalDecision, ApprovalRecord, ClientToolRecord, ToolResolution } from '../src/domain/approval';
import { isApprovalDecision } from '../src/domain/approval-decision';
import type { GateState } from './gate-state';

/**
 * Patch: a decision (or client resolution) that arrives before its approval is live in this execution is
 * kept and applied once the approval is requested. On a replay after a lost worker, the signal and the
 * model result that leads to the approval land in one activation, signals first: the decision was dropped
 * and the run waited for its approval timeout (found by the scale-out test).
 */
const EARLY_SIGNALS_PATCH = 'early-decisions-kept-v1';

/** Kept as a candidate; what counts is decided in awaitApprovals (the first one, or the first proven one). */
export function receiveDecision(gate: GateState, d: ApprovalDecision): void {
  // A refused (unencrypted) payload arrives as undefined; anything else that is no decision is ignored too.
  if (!isApprovalDecision(d) || gate.decisions.has(d.approval_id)) return;
  const into = gate.live.has(d.approval_id) ? gate.candidates : gate.earlyDecisions;
  into.set(d.approval_id, [...(into.get(d.approval_id) ?? []), d]);
}

export function receiveResolution(gate: GateState, r: ToolResolution): void {
  if (!r || typeof r !== 'object' || typeof r.tool_call_id !== 'string') return;
  if (gate.liveClient.has(r.tool_call_id)) {
    if (!gate.resolutions.has(r.tool_call_id)) gate.resolutions.set(r.tool_call_id, r);
  } else if (!gate.resolutions.has(r.tool_call_id) && !gate.earlyResolutions.has(r.tool_call_id)) {
    gate.earlyResolutions.set(r.tool_call_id, r);
  }
}

export function receiveAuthorization(gate: GateState, connection: string): void {
  if (typeof connection !== 'string') return;
  gate.authorized.set(connection, (gate.authorized.get(connection) ?? 0) + 1);
  // State only (the run object's list): what the user has just authorized is no longer pending.
  const state = gate.host.state;
  if (state.pending_authorizations?.length) state.pending_authorizations = state.pending_authorizations.filter((a) => a.connection !== connection);
}

/** An approval just made live takes the decisions signaled before it (under EARLY_SIGNALS_PATCH). */
export function adoptEarlyDecisions(gate: GateState, approvalId: string): void {
  const early = gate.earlyDecisions.get(approvalId);
  if (early && gate.host.has(EARLY_SIGNALS_PATCH)) gate.candidates.set(approvalId, [...early]);
}

/** A client call just made live takes the resolution signaled before it (under EARLY_SIGNALS_PATCH). */
export function adoptEarlyResolution(gate: GateState, toolCallId: string): void {
  const early = gate.earlyResolutions.get(toolCallId);
  if (early && gate.host.has(EARLY_SIGNALS_PATCH)) gate.resolutions.set(toolCallId, early);
}

/** On cancel: what is still pending is canceled (written by the caller's final flush). */
export function cancelPending(gate: GateState): { approvals: ApprovalRecord[]; client_tool_calls: ClientToolRecord[] } {
  const at = new Date().toISOString();
  const approvals = [...gate.live.values()].map((a) => Object.assign(a, { status: 'canceled' as const, decided_at: at }));
  const clientCalls = [...gate.liveClient.values()].map((r) => Object.assign(r, { status: 'canceled' as const, resolved_at: at }));
  gate.live.clear();
  gate.liveClient.clear();
  gate.host.state.pending_approvals = [];
  gate.host.state.pending_tool_calls = [];
  gate.host.state.pending_authorizations = [];
  return { approvals, client_tool_calls: clientCalls };
}
