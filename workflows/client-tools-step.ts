// The gate's client-tool step: calls the caller executes are handed over (`tool_required`) and the run
// waits, with the approval timeout, for their results; each call then completes, fails or expires.
import { condition } from '@temporalio/workflow';
import type { ClientToolRecord } from '../src/domain/approval';
import { adoptEarlyResolution } from './gate-signals';
import { failCall, personTimeoutSeconds, type GateState, type Prepared } from './gate-state';
import { toolResult } from './tool-result';

/** Hands client-executed calls to the caller and waits for their results, with the approval deadline. */
export async function awaitClients(gate: GateState, waiting: Prepared[]): Promise<void> {
  const { host } = gate;
  const timeout = personTimeoutSeconds(host);
  const records = requestClientCalls(gate, waiting, timeout);
  host.state.pending_tool_calls = records.map((r) => ({ id: r.id, name: r.name, arguments: r.arguments }));
  host.setStatus('tool_required');
  await host.flush({ client_tool_calls: records });
  host.pauseDeadline?.();
  await condition(() => records.every((r) => gate.resolutions.has(r.id)), timeout * 1000);
  host.resumeDeadline?.();
  for (const p of waiting) settleClientCall(gate, p, timeout);
  host.state.pending_tool_calls = [];
  host.setStatus('running');
  await host.flush({ client_tool_calls: records });
}

/** Makes each call live (with approved edited arguments, and any resolution signaled early) and asks for it. */
function requestClientCalls(gate: GateState, waiting: Prepared[], timeout: number): ClientToolRecord[] {
  const now = new Date();
  return waiting.map((p) => {
    const r = p.client!;
    r.arguments = p.approval?.decision?.arguments ?? r.arguments;
    r.requested_at = now.toISOString();
    r.expires_at = new Date(now.getTime() + timeout * 1000).toISOString();
    gate.liveClient.set(r.id, r);
    gate.host.emit('tool_call.required', { tool_call_id: r.id, name: r.name, arguments: r.arguments, expires_at: r.expires_at });
    adoptEarlyResolution(gate, r.id);
    return r;
  });
}

/** The call's result from its resolution: its output, the caller's error, or a timeout. */
function settleClientCall(gate: GateState, p: Prepared, timeout: number): void {
  const r = p.client!;
  const res = gate.resolutions.get(r.id);
  r.resolved_at = new Date().toISOString();
  gate.liveClient.delete(r.id);
  if (!res) {
    r.status = 'expired';
    p.result = failCall(gate.host, p.call, 'client_tool_timeout', `The caller did not resolve ${r.name} within ${timeout}s`);
  } else if (res.error) {
    r.status = 'resolved';
    p.result = failCall(gate.host, p.call, 'client_tool_error', res.error.message);
  } else {
    r.status = 'resolved';
    gate.host.emit('tool_call.completed', { tool_call_id: r.id, name: r.name, output: res.output });
    p.result = toolResult(p.call, res.output, false);
  }
}
