// Approvals (API.md 4) and client tool resolution (API.md 3.3). A decision is checked against
// PostgreSQL under a row lock (role, self-approval, already decided) and then signaled to the run's
// workflow inside the same transaction: if Temporal is unreachable nothing is recorded. The signal carries
// the API's proof (src/security/approval-proof.ts): the workflow ignores a decision without it.
import { WorkflowNotFoundError } from '@temporalio/client';
import { transaction } from '../db/pool';
import { findAgent } from '../db/agents';
import { getTool } from '../db/tools';
import * as repo from '../db/governance';
import * as runs from '../db/runs';
import * as actions from '../db/actions';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate } from '../domain/common';
import type { Principal } from '../domain/workspace';
import type { ApprovalDecision, ToolResolution } from '../domain/approval';
import { signDecision } from '../security/approval-proof';
import { validateArguments } from '../core/json-schema';
import { page, type ServiceDeps } from './deps';
import { temporalCall } from './temporal-errors';
import type { ApprovalObject } from '../domain/api-objects';
import type { ApprovalStatus } from '../domain/approval';
import { engineOf } from '../temporal/engine';

/** A workflow that has ended (terminated, or raced to its end) cannot take a decision: 409, not 500. */
async function signalOrConflict(send: () => Promise<void>): Promise<void> {
  try {
    await temporalCall(send);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PlatformError('run_not_active', 'The run or action is no longer active');
    throw err;
  }
}

export const approvalView = (a: repo.ApprovalRow): ApprovalObject => ({
  id: a.id,
  object: 'approval' as const,
  run_id: a.run_id,
  ...(a.action_id ? { action_invocation_id: a.action_id } : {}),
  session_id: a.session_id,
  agent_id: a.agent_id,
  tool_call: a.tool_call,
  effect: a.effect,
  policy_rule_id: a.policy_rule_id,
  reason: a.reason,
  preview: a.preview ?? null,
  status: a.status as ApprovalStatus,
  requested_at: isoDate(a.requested_at),
  expires_at: isoDate(a.expires_at),
  decided_at: isoDate(a.decided_at),
  decided_by: a.decided_by,
  comment: a.comment,
  decision: a.decision,
});

export async function listApprovals(deps: ServiceDeps, p: Principal, q: { limit: number; after?: string; status?: string; run_id?: string; agent?: string }) {
  let agentId: string | undefined;
  if (q.agent) {
    const agent = await findAgent(deps.db, p.workspace_id, q.agent);
    if (!agent) return { object: 'list' as const, data: [], has_more: false, next_cursor: null };
    agentId = agent.id;
  }
  const rows = await repo.listApprovals(deps.db, p.workspace_id, { ...q, agent_id: agentId });
  const pg = page(rows, q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(approvalView) };
}

export async function getApproval(deps: ServiceDeps, p: Principal, id: string) {
  const a = await repo.getApproval(deps.db, p.workspace_id, id);
  if (!a) throw notFound('approval', 'id');
  return approvalView(a);
}

export async function decide(
  deps: ServiceDeps,
  p: Principal,
  id: string,
  body: { decision: 'approve'; comment?: string; arguments?: Record<string, unknown> } | { decision: 'deny'; reason: string; comment?: string },
) {
  const before = await repo.getApproval(deps.db, p.workspace_id, id);
  if (!before) throw notFound('approval', 'id');
  // The approval belongs to a run or to an action invocation: both carry their creator and workflow.
  const run = before.run_id
    ? await runs.getRun(deps.db, before.run_id, p.workspace_id)
    : before.action_id
      ? await actions.getAction(deps.db, before.action_id, p.workspace_id)
      : undefined;
  if (!run) throw notFound('approval', 'id');
  if (run.created_by_key_id === p.key_id) {
    throw new PlatformError('self_approval_forbidden', 'The key that created the run cannot decide its approvals');
  }
  if (body.decision === 'approve' && body.arguments) {
    const tool = await getTool(deps.db, p.workspace_id, before.tool_call.name);
    const error = tool ? validateArguments((tool.spec as { input_schema: Record<string, unknown> }).input_schema, body.arguments) : 'the tool no longer exists';
    if (error) throw new PlatformError('invalid_tool_arguments', `arguments do not match the tool's input schema: ${error}`, 'arguments');
  }
  const by = { key_id: p.key_id, name: p.key_name };
  const decision = body.decision === 'approve' ? (body.arguments ? { arguments: body.arguments } : {}) : { reason: body.reason };
  return transaction(deps.db, async (c) => {
    const locked = await repo.getApproval(c, p.workspace_id, id, true);
    if (locked && locked.status === 'pending' && locked.expires_at.getTime() <= Date.now()) {
      throw new PlatformError('approval_already_decided', 'The approval has expired');
    }
    if (!locked || locked.status !== 'pending' || !(await repo.decideApproval(c, id, body.decision === 'approve' ? 'approved' : 'denied', by, body.comment ?? null, decision))) {
      throw new PlatformError('approval_already_decided', `The approval is already ${locked?.status ?? 'decided'}`);
    }
    const signal: ApprovalDecision = {
      approval_id: id,
      decision: body.decision,
      ...(body.decision === 'approve' && body.arguments ? { arguments: body.arguments } : {}),
      ...(body.decision === 'deny' ? { reason: body.reason } : {}),
      ...(body.comment ? { comment: body.comment } : {}),
      decided_by: by,
    };
    signal.proof = signDecision(deps.config, run.workflow_id, signal);
    await signalOrConflict(() => engineOf(deps.temporal).decideApproval(run.workflow_id, signal));
    return approvalView((await repo.getApproval(c, p.workspace_id, id))!);
  });
}

export async function resolveToolCall(deps: ServiceDeps, p: Principal, runId: string, body: ToolResolution) {
  const run = await runs.getRun(deps.db, runId, p.workspace_id);
  if (!run) throw notFound('run', 'id');
  return transaction(deps.db, async (c) => {
    const call = await repo.getClientToolCall(c, runId, body.tool_call_id, true);
    if (!call) throw notFound('tool call', 'tool_call_id');
    if (call.status !== 'pending') throw new PlatformError('tool_call_already_resolved', `The tool call is already ${call.status}`, 'tool_call_id');
    if (call.expires_at.getTime() <= Date.now()) throw new PlatformError('tool_call_already_resolved', 'The tool call expired', 'tool_call_id');
    await repo.markClientToolResolved(c, call.id);
    await signalOrConflict(() => engineOf(deps.temporal).resolveToolCall(run.workflow_id, body));
    return { run_id: runId, tool_call_id: call.id, object: 'tool_call.resolution' as const, status: 'resolved' as const };
  });
}
