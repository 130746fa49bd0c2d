// What one tool gate holds between its steps and the signals that reach it: the host it works for (a run
// or an action) and the approvals, decisions, client calls and authorizations it tracks. Each step of
// the gate (prepare-step.ts, approvals-step.ts, authorizations-step.ts, client-tools-step.ts,
// execute-step.ts) reads and writes this one object; the signal handlers (gate-signals.ts) too.
import type { CheckedToolCall } from '../activities/model';
import type { EventBatch } from '../activities/run-log';
import type { AgentSpec } from '../src/domain/agent';
import type { ApprovalDecision, ApprovalRecord, ClientToolRecord, ToolResolution } from '../src/domain/approval';
import { DEFAULT_APPROVAL } from '../src/domain/defaults';
import { RUN_ERROR } from '../src/domain/errors';
import type { ToolResultMessage } from '../src/domain/message';
import type { Constraints, RunState, RunStatus } from '../src/domain/run';
import type { Emit } from '../src/domain/run-event';
import type { ToolSpec } from '../src/domain/tool';
import { toolResult } from './tool-result';

export class GateFailure extends Error {
  constructor(
    readonly code: typeof RUN_ERROR.approval_expired,
    message: string,
  ) {
    super(message);
  }
}

export interface GateHost {
  run_id: string;
  workspace_id: string;
  request_id: string | null;
  agent: AgentSpec;
  constraints: Constraints;
  tools: Map<string, ToolSpec>;
  allowed: string[];
  /** `dry_run`: a case of a dry-run eval, which must never cause a side effect or ask a person. */
  tool_mode?: 'dry_run';
  state: RunState;
  emit: Emit;
  setStatus(status: RunStatus): void;
  flush(extra?: { approvals?: ApprovalRecord[]; client_tool_calls?: ClientToolRecord[] }): Promise<void>;
  /** Whether a patch applies (the run's CURRENT_PATCH covers the gate's; an action asks patched()). */
  has(patch: string): boolean;
  /** The events (and records) so far, for the next activity to store first; without the patch, flushed now. */
  handOff(): Promise<EventBatch | undefined>;
  /** A batch whose activity failed goes back in front of the pending events (storing is idempotent). */
  requeue(batch: EventBatch | undefined): void;
  /** Records stored with the next batch; without the patch, flushed now. */
  defer(extra: { approvals?: ApprovalRecord[] }): Promise<void>;
  /** Time spent waiting for a person does not count against the run's timeout. */
  pauseDeadline?(): void;
  resumeDeadline?(): void;
}

/** One tool call on its way through the gate. */
export interface Prepared {
  call: CheckedToolCall;
  tool: ToolSpec | undefined;
  /** Set when the call is settled without execution (invalid, denied, ...). */
  result?: ToolResultMessage;
  approval?: ApprovalRecord;
  client?: ClientToolRecord;
}

export interface GateState {
  host: GateHost;
  /** Every decision signaled for a live approval, in arrival order; `decisions` holds the accepted one. */
  candidates: Map<string, ApprovalDecision[]>;
  decisions: Map<string, ApprovalDecision>;
  /** Approved edited arguments that no longer match the tool's schema, by approval id. */
  editedArgumentErrors: Map<string, string>;
  resolutions: Map<string, ToolResolution>;
  /** Calls made so far, by tool and canonical arguments (the policy's loop detection). */
  callCounts: Map<string, number>;
  live: Map<string, ApprovalRecord>;
  liveClient: Map<string, ClientToolRecord>;
  /** Decisions and resolutions for approvals and client calls not (yet) live: the first one of each id. */
  earlyDecisions: Map<string, ApprovalDecision[]>;
  earlyResolutions: Map<string, ToolResolution>;
  /** Completed authorizations per connection, counted: a wait is over once one arrives after its check. */
  authorized: Map<string, number>;
}

export function newGateState(host: GateHost): GateState {
  return {
    host,
    candidates: new Map(),
    decisions: new Map(),
    editedArgumentErrors: new Map(),
    resolutions: new Map(),
    callCounts: new Map(),
    live: new Map(),
    liveClient: new Map(),
    earlyDecisions: new Map(),
    earlyResolutions: new Map(),
    authorized: new Map(),
  };
}

/** Settles a call as failed: a `tool_call.failed` event, and the error as the model's tool result. */
export function failCall(host: GateHost, call: CheckedToolCall, code: string, message: string): ToolResultMessage {
  host.emit('tool_call.failed', { tool_call_id: call.id, name: call.name, error: { code, message } });
  return toolResult(call, { error: { code, message } }, true);
}

/** How long a person (approver, client, authorizing user) has: the agent's approval timeout. */
export const personTimeoutSeconds = (host: GateHost): number => host.agent.approval?.timeout_seconds ?? DEFAULT_APPROVAL.timeout_seconds;

export const publicCall = (c: CheckedToolCall) => ({ id: c.id, name: c.name, arguments: c.arguments });

export function messageOf(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (e && typeof e === 'object' && (e as { cause?: unknown }).cause) {
    e = (e as { cause?: unknown }).cause;
    if (e instanceof Error && e.message) message = e.message;
  }
  return message;
}
