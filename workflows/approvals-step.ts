// The gate's approval step: every approval of a model step is requested at once; the run then waits
// (durably, paused against its timeout) until each is decided or expired, and a call a human denied, or
// approved with arguments that no longer fit the tool, is settled as failed.
import { condition, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ApprovalDecision, ApprovalRecord } from '../src/domain/approval';
import { DEFAULT_APPROVAL } from '../src/domain/defaults';
import { RUN_ERROR } from '../src/domain/errors';
import { adoptEarlyDecisions } from './gate-signals';
import { failCall, GateFailure, type GateState, type Prepared } from './gate-state';

/**
 * Patch: a decision counts only with the API's proof (an HMAC, checked by a local activity: the sandbox
 * has no crypto); one without it is refused and the approval keeps waiting. Approved edited arguments are
 * validated again against the tool's schema. Before it, any `approvalDecision` signal was taken as sent.
 */
const DECISION_PROOF_PATCH = 'approval-decision-proof-v1';

// Pure computation in the worker that runs the workflow; retried as long as it takes.
const decisionCheck = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '500ms', maximumInterval: '10s', backoffCoefficient: 2 } });

/** Requests every approval of the step at once, then waits (durably) until each is decided or expired. */
export async function awaitApprovals(gate: GateState, waiting: Prepared[]): Promise<void> {
  const { host } = gate;
  const records = requestApprovals(gate, waiting);
  await host.flush({ approvals: records });
  const timeoutMs = Date.parse(records[0]!.expires_at) - Date.parse(records[0]!.requested_at);
  const deadline = Date.now() + timeoutMs;
  host.pauseDeadline?.();
  await condition(() => records.every((a) => gate.candidates.has(a.id)), timeoutMs);
  if (host.has(DECISION_PROOF_PATCH)) {
    await acceptProven(gate, records, deadline);
  } else {
    for (const a of records) if (gate.candidates.has(a.id)) gate.decisions.set(a.id, gate.candidates.get(a.id)![0]!);
  }
  host.resumeDeadline?.();
  const onTimeout = host.agent.approval?.on_timeout ?? DEFAULT_APPROVAL.on_timeout;
  const expired = recordDecisions(gate, records);
  host.state.pending_approvals = [];
  if (expired && onTimeout === 'fail') {
    await host.flush({ approvals: records });
    throw new GateFailure(RUN_ERROR.approval_expired, 'An approval expired and the agent fails runs on approval timeout');
  }
  host.setStatus('running');
  // Stored with the next batch: with tool_call.started, or the next step's start.
  await host.defer({ approvals: records });
}

/** Makes the step's approvals live (with any decision signaled early) and the run `waiting_approval`. */
function requestApprovals(gate: GateState, waiting: Prepared[]): ApprovalRecord[] {
  const { host } = gate;
  const records = waiting.map((p) => p.approval!);
  for (const a of records) {
    gate.live.set(a.id, a);
    host.emit('approval.requested', { approval: a });
    adoptEarlyDecisions(gate, a.id);
  }
  host.state.pending_approvals = records.map((a) => ({ id: a.id, tool_call: a.tool_call }));
  host.setStatus('waiting_approval');
  return records;
}

/** Writes each approval's outcome (decided, or expired) and its event; says whether any expired. */
function recordDecisions(gate: GateState, records: ApprovalRecord[]): boolean {
  let expired = false;
  for (const a of records) {
    const d = gate.decisions.get(a.id);
    a.decided_at = new Date().toISOString();
    if (d) {
      a.status = d.decision === 'approve' ? 'approved' : 'denied';
      a.decided_by = d.decided_by;
      a.comment = d.comment ?? null;
      a.decision = d.decision === 'approve' ? (d.arguments ? { arguments: d.arguments } : {}) : { reason: d.reason ?? 'Denied' };
    } else {
      a.status = 'expired';
      expired = true;
    }
    gate.live.delete(a.id);
    gate.host.emit('approval.decided', { approval_id: a.id, tool_call_id: a.tool_call.id, status: a.status, decided_by: a.decided_by, comment: a.comment, ...(a.decision ?? {}) });
  }
  return expired;
}

/**
 * Accepts for each approval the first decision whose proof the verification activity confirms; until
 * every approval has one, waits (to the approval deadline) for more decisions and checks each as it
 * comes. A refused decision changes nothing: the approval stays pending and nothing executes.
 */
async function acceptProven(gate: GateState, records: ApprovalRecord[], deadline: number): Promise<void> {
  const { host, candidates, decisions } = gate;
  const checked = new Map<string, number>();
  const unchecked = (a: ApprovalRecord): ApprovalDecision[] => (decisions.has(a.id) ? [] : (candidates.get(a.id) ?? []).slice(checked.get(a.id) ?? 0));
  for (;;) {
    const batch = records.flatMap((a) => unchecked(a).map((decision) => ({ a, decision })));
    if (batch.length) {
      const verdicts = await decisionCheck.verifyApprovalDecisions({
        workspace_id: host.workspace_id,
        run_id: host.run_id,
        request_id: host.request_id,
        candidates: batch.map(({ a, decision }) => ({ approval_id: a.id, input_schema: host.tools.get(a.tool_call.name)?.input_schema, decision })),
      });
      batch.forEach(({ a, decision }, i) => {
        checked.set(a.id, (checked.get(a.id) ?? 0) + 1);
        const v = verdicts[i]!;
        if (!v.accepted || decisions.has(a.id)) return;
        decisions.set(a.id, decision);
        if (v.arguments_error) gate.editedArgumentErrors.set(a.id, v.arguments_error);
      });
    }
    const open = records.filter((a) => !decisions.has(a.id));
    const remaining = deadline - Date.now();
    if (!open.length || remaining <= 0) return;
    if (!(await condition(() => open.some((a) => unchecked(a).length > 0), remaining))) return;
  }
}

/** After the wait: a call whose approval was denied, expired or approved with invalid arguments fails. */
export function failUnapproved(gate: GateState, p: Prepared): void {
  const a = p.approval!;
  if (a.status === 'denied') p.result = failCall(gate.host, p.call, 'approval_denied', `A human denied this call: ${a.decision?.reason ?? 'no reason given'}`);
  if (a.status === 'expired') p.result = failCall(gate.host, p.call, 'approval_expired', 'The approval request expired without a decision');
  // Only set under DECISION_PROOF_PATCH: the API checked the edit against the tool as it is now, the run has its own.
  const argumentsError = gate.editedArgumentErrors.get(a.id);
  if (a.status === 'approved' && argumentsError) p.result = failCall(gate.host, p.call, 'invalid_tool_arguments', `The approved arguments do not match the tool's input schema: ${argumentsError}`);
}
