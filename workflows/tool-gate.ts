// The gated tool-call path shared by runs and action invocations: validation result → policy decision →
// optional dry-run preview → human approval (durable timer) → user authorization → client resolution or
// execution. Every step is an event; nothing is executed unless the policy allowed it or a human approved
// it. Each step is a module of its own (see gateToolCalls); what they share is the GateState.
import type { CheckedToolCall } from '../activities/model';
import type { ApprovalDecision, ToolResolution } from '../src/domain/approval';
import type { ToolResultMessage } from '../src/domain/message';
import { awaitApprovals, failUnapproved } from './approvals-step';
import { awaitAuthorizations, needsAuthorization, waitsForAuthorization } from './authorizations-step';
import { awaitClients } from './client-tools-step';
import { executeCall } from './execute-step';
import { cancelPending, receiveAuthorization, receiveDecision, receiveResolution } from './gate-signals';
import { newGateState, type GateHost, type GateState, type Prepared } from './gate-state';
import { prepareCall } from './prepare-step';

export type ToolGate = ReturnType<typeof createToolGate>;

export function createToolGate(host: GateHost) {
  const gate = newGateState(host);
  return {
    /** Runs one model step's tool calls through the gate; results come back in call order. */
    processStep: (calls: CheckedToolCall[], beforeEach: (call: CheckedToolCall) => void): Promise<ToolResultMessage[]> => gateToolCalls(gate, calls, beforeEach),
    onDecision: (d: ApprovalDecision): void => receiveDecision(gate, d),
    onAuthorized: (connection: string): void => receiveAuthorization(gate, connection),
    onResolution: (r: ToolResolution): void => receiveResolution(gate, r),
    cancelPending: () => cancelPending(gate),
  };
}

/**
 * The steps, in order: every call is prepared (decided, and settled when denied or invalid); then the run
 * waits for the approvals, the user's authorizations and the client tools the step needs, each wait once
 * for all calls of the step; what is still open then executes, one call after the other.
 */
async function gateToolCalls(gate: GateState, calls: CheckedToolCall[], beforeEach: (call: CheckedToolCall) => void): Promise<ToolResultMessage[]> {
  const prepared: Prepared[] = [];
  for (const call of calls) {
    beforeEach(call);
    prepared.push(await prepareCall(gate, call));
  }
  const needApproval = prepared.filter((p) => !p.result && p.approval);
  if (needApproval.length) await awaitApprovals(gate, needApproval);
  for (const p of needApproval) failUnapproved(gate, p);
  const needAuth = prepared.filter(needsAuthorization);
  if (waitsForAuthorization(gate, needAuth)) await awaitAuthorizations(gate, needAuth);
  const clients = prepared.filter((p) => !p.result && p.client);
  if (clients.length) await awaitClients(gate, clients);
  const out: ToolResultMessage[] = [];
  for (const p of prepared) out.push(p.result ?? (await executeCall(gate.host, p)));
  return out;
}
