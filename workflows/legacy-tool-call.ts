// A tool call as the run workflow made it before patch 'governance-v1' (write tools refused outright, no
// approvals, no client tools): kept only so that histories recorded before that patch still replay. New
// runs go through the tool gate (tool-gate.ts). Do not change what this does.
import { isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CheckedToolCall } from '../activities/model';
import type { ToolCallResult } from '../activities/tools';
import type { ToolResultMessage } from '../src/domain/message';
import { canonicalJson } from '../src/domain/policy';
import type { RunContext } from '../src/domain/run-context';
import type { ToolSpec } from '../src/domain/tool';
import { decidePolicy } from './policy-engine';
import { toolResult } from './tool-result';
import { toolOptions } from './execute-step';
import { messageOf } from './gate-state';
import type { Emit } from '../src/domain/run-event';

export async function legacyToolCall(
host: { run_id: string; emit: Emit; flush: () => Promise<void> },
  ctx: RunContext,
  call: CheckedToolCall,
  tool: ToolSpec | undefined,
  allowed: string[],
  callCounts: Map<string, number>,
): Promise<ToolResultMessage> {
  const fail = (code: string, message: string): ToolResultMessage => {
    host.emit('tool_call.failed', { tool_call_id: call.id, name: call.name, error: { code, message } });
    return toolResult(call, { error: { code, message } }, true);
  };
  if (call.arguments_error && tool && allowed.includes(call.name)) {
    return fail('invalid_tool_arguments', `Invalid arguments for ${call.name}: ${call.arguments_error}`);
  }
  const key = `${call.name}:${canonicalJson(call.arguments)}`;
  const earlier = callCounts.get(key) ?? 0;
  callCounts.set(key, earlier + 1);
  const decision = decidePolicy([ctx.agent.policy?.rules ?? [], ctx.constraints.rules ?? []], patched, {
    tool: call.name,
    effect: tool?.effect,
    arguments: call.arguments,
    allowed_tools: allowed,
    identical_earlier_calls: earlier,
    require_approval_for: ctx.constraints.require_approval_for ?? [],
    now: new Date(),
  });
  host.emit('policy.decided', { tool_call_id: call.id, name: call.name, action: decision.action, rule_id: decision.rule_id, reason: decision.reason });
  if (decision.action === 'deny') return fail(decision.rule_id === 'loop_detected' ? 'loop_detected' : 'policy_denied', `Denied by policy: ${decision.reason}`);
  if (decision.action === 'require_approval') {
    return fail('approval_unavailable', `Tool ${call.name} needs human approval, and approvals are not available on this server yet`);
  }
  if (tool!.executor.type === 'client') {
    return fail('unsupported_executor', `Client-executed tool ${call.name} is not supported on this server yet`);
  }
  host.emit('tool_call.started', { tool_call_id: call.id, name: call.name });
  await host.flush();
  let result: ToolCallResult;
  try {
    result = await proxyActivities<Activities>(toolOptions(tool!)).executeTool({
      workspace_id: ctx.workspace_id,
      run_id: host.run_id,
      request_id: ctx.request_id,
      tool_call: { id: call.id, name: call.name, arguments: call.arguments },
      tool: tool!,
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    return fail('tool_error', messageOf(err));
  }
  if (!result.ok) return fail(result.error.code, result.error.message);
  host.emit('tool_call.completed', { tool_call_id: call.id, name: call.name, output: result.output });
  return toolResult(call, result.output, false);
}
