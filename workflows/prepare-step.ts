// The gate's first step for each tool call: validation result → policy decision → (in a dry-run eval) an
// answer without effect → the approval request (with its dry-run preview) and the client-tool record that
// later steps wait on. Nothing here waits for a person.
import { isCancellation, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CheckedToolCall } from '../activities/model';
import type { ToolCallResult } from '../activities/tools';
import type { ApprovalRecord } from '../src/domain/approval';
import type { ToolResultMessage } from '../src/domain/message';
import { canonicalJson, type PolicyDecision } from '../src/domain/policy';
import type { ToolSpec } from '../src/domain/tool';
import { failCall, messageOf, personTimeoutSeconds, publicCall, type GateHost, type GateState, type Prepared } from './gate-state';
import { decidePolicy } from './policy-engine';
import { toolResult } from './tool-result';

/** Patch: runs of a dry-run eval (API.md 10) answer write and client tools without executing them. */
const EVAL_DRY_RUN_PATCH = 'eval-dry-run-v1';

const dryRunOptions: ActivityOptions = { startToCloseTimeout: '45s', heartbeatTimeout: '10s', retry: { maximumAttempts: 2 } };

const approvalIdFor = (toolCallId: string): string => `apr_${toolCallId.replace(/^tc_/, '')}`;

export async function prepareCall(gate: GateState, call: CheckedToolCall): Promise<Prepared> {
  const { host } = gate;
  const tool = host.tools.get(call.name);
  if (call.arguments_error && tool && host.allowed.includes(call.name)) {
    return { call, tool, result: failCall(host, call, 'invalid_tool_arguments', `Invalid arguments for ${call.name}: ${call.arguments_error}`) };
  }
  const decision = decideCall(host, call, tool, call.arguments, countCall(gate, call));
  host.emit('policy.decided', { tool_call_id: call.id, name: call.name, action: decision.action, rule_id: decision.rule_id, reason: decision.reason });
  if (decision.action === 'deny') {
    return { call, tool, result: failCall(host, call, decision.rule_id === 'loop_detected' ? 'loop_detected' : 'policy_denied', `Denied by policy: ${decision.reason}`) };
  }
  if (host.tool_mode === 'dry_run' && host.has(EVAL_DRY_RUN_PATCH)) {
    const settled = await settleWithoutEffect(host, call, tool!, decision.action === 'require_approval');
    if (settled) return { call, tool, result: settled };
  }
  const p: Prepared = { call, tool };
  if (decision.action === 'require_approval') {
    let preview: unknown = null;
    if (hasOwnDryRun(tool!)) {
      const dry = await dryRun(host, call, tool!, () => 'The dry run failed');
      preview = dry.ok ? dry.output : { error: dry.error };
    }
    p.approval = approvalRequest(host, call, tool!, decision, preview);
  }
  if (tool!.executor.type === 'client') {
    p.client = { id: call.id, name: call.name, arguments: call.arguments, status: 'pending', requested_at: '', expires_at: '', resolved_at: null };
  }
  return p;
}

/** The policy's decision on a call with these arguments (the run's rules, then the agent's constraints). */
export function decideCall(host: GateHost, call: CheckedToolCall, tool: ToolSpec | undefined, args: Record<string, unknown>, identicalEarlierCalls: number): PolicyDecision {
  return decidePolicy([host.agent.policy?.rules ?? [], host.constraints.rules ?? []], host.has, {
    tool: call.name,
    effect: tool?.effect,
    arguments: args,
    allowed_tools: host.allowed,
    identical_earlier_calls: identicalEarlierCalls,
    require_approval_for: host.constraints.require_approval_for ?? [],
    now: new Date(),
  });
}

/** Counts the call among identical ones (same tool, same arguments); returns how many came before it. */
function countCall(gate: GateState, call: CheckedToolCall): number {
  const key = `${call.name}:${canonicalJson(call.arguments)}`;
  const earlier = gate.callCounts.get(key) ?? 0;
  gate.callCounts.set(key, earlier + 1);
  return earlier;
}

/** A pending approval of the call, expiring after the agent's approval timeout. */
function approvalRequest(host: GateHost, call: CheckedToolCall, tool: ToolSpec, decision: PolicyDecision, preview: unknown): ApprovalRecord {
  const timeout = personTimeoutSeconds(host);
  const now = new Date();
  return {
    id: approvalIdFor(call.id),
    tool_call: publicCall(call),
    effect: tool.effect,
    policy_rule_id: decision.rule_id,
    reason: decision.reason,
    preview,
    status: 'pending',
    requested_at: now.toISOString(),
    expires_at: new Date(now.getTime() + timeout * 1000).toISOString(),
    decided_at: null,
    decided_by: null,
    comment: null,
    decision: null,
  };
}

/**
 * In a dry-run eval: a write or client tool is answered from its dry run (or a "not executed" result),
 * a read tool that would need an approval is denied at once, and any other read runs as usual (undefined).
 */
async function settleWithoutEffect(host: GateHost, call: CheckedToolCall, tool: ToolSpec, needsApproval: boolean): Promise<ToolResultMessage | undefined> {
  if (tool.effect !== 'write' && tool.executor.type !== 'client') {
    return needsApproval ? failCall(host, call, 'approval_denied', 'Denied automatically: an eval in dry_run mode asks nobody for approval') : undefined;
  }
  let output: unknown = { not_executed: true, reason: `${call.name} is a ${tool.executor.type === 'client' ? 'client' : 'write'} tool and this eval runs in dry_run mode` };
  if (hasOwnDryRun(tool)) {
    const dry = await dryRun(host, call, tool, messageOf);
    if (!dry.ok) return failCall(host, call, dry.error.code, dry.error.message);
    output = { not_executed: true, dry_run: dry.output };
  }
  host.emit('tool_call.completed', { tool_call_id: call.id, name: call.name, output, dry_run: true });
  return toolResult(call, output, false);
}

const hasOwnDryRun = (tool: ToolSpec): boolean => Boolean(tool.supports_dry_run) && tool.executor.type === 'http';

/** The tool's own dry run; a failure (not a cancellation) comes back as `dry_run_failed` with `describe`'s message. */
function dryRun(host: GateHost, call: CheckedToolCall, tool: ToolSpec, describe: (err: unknown) => string): Promise<ToolCallResult> {
  return proxyActivities<Activities>(dryRunOptions)
    .executeTool({ workspace_id: host.workspace_id, run_id: host.run_id, request_id: host.request_id, tool_call: publicCall(call), tool, dry_run: true })
    .catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      return { ok: false as const, error: { code: 'dry_run_failed', message: describe(err) } };
    });
}
