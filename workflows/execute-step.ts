// The gate's last step: a call that got through runs its tool (arguments an approver edited are decided
// by the policy again first), with the events so far handed to the tool's activity to store.
import { isCancellation, patched, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ToolCallResult } from '../activities/tools';
import type { ToolResultMessage } from '../src/domain/message';
import { LOAD_SKILL_TOOL } from '../src/domain/skill-tool';
import type { ToolSpec } from '../src/domain/tool';
import { failCall, messageOf, type GateHost, type Prepared } from './gate-state';
import { decideCall } from './prepare-step';
import { toolResult } from './tool-result';

/** Patch: a completed `load_skill` call is followed by a `skill.loaded` event (API.md 11). */
const SKILL_LOADED_PATCH = 'skill-loaded-event-v1';

/**
 * Patch: a result the tool activity answered from the tool result cache is `tool_call.completed` with
 * `cached: true` (API.md 16). Asked through patched() itself, only when a result is cached: histories
 * without one never meet it, and run-patches-current-v1 does not cover it.
 */
const TOOL_RESULT_CACHED_PATCH = 'tool-result-cached-v1';

/** Activity options of a tool call, by its effect (writeToolOnce for non-idempotent writes). */
export const toolOptions = (tool: ToolSpec): ActivityOptions => ({
  startToCloseTimeout: ((tool.executor.type === 'http' ? (tool.executor.timeout_seconds ?? 30) : 30) + 15) * 1000,
  heartbeatTimeout: '10s',
  // A write that is not idempotent is attempted at most once (writeToolOnce); reads may retry.
  retry:
    tool.effect === 'write' && !tool.idempotent
      ? { maximumAttempts: 1 }
      : { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

export async function executeCall(host: GateHost, p: Prepared): Promise<ToolResultMessage> {
  const args = p.approval?.decision?.arguments ?? p.call.arguments;
  if (args !== p.call.arguments) {
    const denied = decideEditedArguments(host, p, args);
    if (denied) return denied;
  }
  host.emit('tool_call.started', { tool_call_id: p.call.id, name: p.call.name, ...(args !== p.call.arguments ? { arguments: args } : {}) });
  const batch = await host.handOff();
  let result: ToolCallResult;
  try {
    result = await proxyActivities<Activities>(toolOptions(p.tool!)).executeTool({
      workspace_id: host.workspace_id,
      run_id: host.run_id,
      request_id: host.request_id,
      tool_call: { id: p.call.id, name: p.call.name, arguments: args },
      tool: p.tool!,
      ...(batch ? { store: batch } : {}),
    });
  } catch (err) {
    host.requeue(batch);
    if (isCancellation(err)) throw err;
    return failCall(host, p.call, 'tool_error', messageOf(err));
  }
  if (!result.ok) return failCall(host, p.call, result.error.code, result.error.message);
  const cached = result.cached === true && patched(TOOL_RESULT_CACHED_PATCH);
  host.emit('tool_call.completed', { tool_call_id: p.call.id, name: p.call.name, output: result.output, ...(cached ? { cached: true as const } : {}) });
  // Asked only on this path: histories without a load_skill call never meet the marker.
  if (p.tool!.executor.type === 'builtin' && p.tool!.executor.name === LOAD_SKILL_TOOL && host.has(SKILL_LOADED_PATCH)) {
    const loaded = result.output as { skill_id: string; files: { name: string }[] };
    host.emit('skill.loaded', { tool_call_id: p.call.id, skill_id: loaded.skill_id, files: loaded.files.map((f) => f.name) });
  }
  return toolResult(p.call, result.output, false);
}

/** Arguments an approver edited are decided again: a rule may deny them (approval is already given). */
function decideEditedArguments(host: GateHost, p: Prepared, args: Record<string, unknown>): ToolResultMessage | undefined {
  const again = decideCall(host, p.call, p.tool, args, 0);
  host.emit('policy.decided', { tool_call_id: p.call.id, name: p.call.name, action: again.action, rule_id: again.rule_id, reason: again.reason, edited_arguments: true });
  return again.action === 'deny' ? failCall(host, p.call, 'policy_denied', `Denied by policy: ${again.reason}`) : undefined;
}
