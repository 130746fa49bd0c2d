// The gated tool-call path shared by runs (and, later, action invocations): validation result → policy
// decision → optional dry-run preview → human approval (durable timer) → client resolution or execution.
// Every step is an event; nothing is executed unless the policy allowed it or a human approved it.
import { condition, isCancellation, proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CheckedToolCall } from '../activities/model';
import type { ToolCallResult } from '../activities/tools';
import type { EventBatch } from '../activities/run-log';
import type { AgentSpec } from '../src/domain/agent';
import { DEFAULT_APPROVAL } from '../src/domain/defaults';
import type { ApprovalDecision, ApprovalRecord, ClientToolRecord, ToolResolution } from '../src/domain/approval';
import { isApprovalDecision } from '../src/domain/approval-decision';
import { RUN_ERROR } from '../src/domain/errors';
import type { ToolResultMessage } from '../src/domain/message';
import { canonicalJson } from '../src/domain/policy';
import { decidePolicy } from './policy-engine';
import type { Constraints, PendingAuthorization, RunState, RunStatus } from '../src/domain/run';
import type { ToolSpec } from '../src/domain/tool';
import { LOAD_SKILL_TOOL } from '../src/domain/skill-tool';
import type { Emit } from '../src/domain/run-event';

/** Patch: a completed `load_skill` call is followed by a `skill.loaded` event (API.md 11). */
const SKILL_LOADED_PATCH = 'skill-loaded-event-v1';
/** Patch: runs of a dry-run eval (API.md 10) answer write and client tools without executing them. */
const EVAL_DRY_RUN_PATCH = 'eval-dry-run-v1';
/**
 * Patch: a decision (or client resolution) that arrives before its approval is live in this execution is
 * kept and applied once the approval is requested. On a replay after a lost worker, the signal and the
 * model result that leads to the approval land in one activation, signals first: the decision was dropped
 * and the run waited for its approval timeout (found by the scale-out test).
 */
const EARLY_SIGNALS_PATCH = 'early-decisions-kept-v1';
/** Patch: a tool that declares `auth` waits (`waiting_auth`) until the session's user authorized its connection (API.md 12). */
const OAUTH_PATCH = 'oauth-connections-v1';
/**
 * Patch: a decision counts only with the API's proof (an HMAC, checked by a local activity: the sandbox
 * has no crypto); one without it is refused and the approval keeps waiting. Approved edited arguments are
 * validated again against the tool's schema. Before it, any `approvalDecision` signal was taken as sent.
 */
const DECISION_PROOF_PATCH = 'approval-decision-proof-v1';

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
const dryRunOptions: ActivityOptions = { startToCloseTimeout: '45s', heartbeatTimeout: '10s', retry: { maximumAttempts: 2 } };
// The check may refresh a token at the authorization server: retried while that server is away.
const authCheck = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '10s', backoffCoefficient: 2 } });
// Pure computation in the worker that runs the workflow; retried as long as it takes.
const decisionCheck = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '500ms', maximumInterval: '10s', backoffCoefficient: 2 } });

const approvalIdFor = (toolCallId: string): string => `apr_${toolCallId.replace(/^tc_/, '')}`;

interface Prepared {
  call: CheckedToolCall;
  tool: ToolSpec | undefined;
  /** Set when the call is settled without execution (invalid, denied, ...). */
  result?: ToolResultMessage;
  approval?: ApprovalRecord;
  client?: ClientToolRecord;
}

export function createToolGate(host: GateHost) {
  // Every decision signaled for a live approval, in arrival order; `decisions` holds the accepted one.
  const candidates = new Map<string, ApprovalDecision[]>();
  const decisions = new Map<string, ApprovalDecision>();
  // Approved edited arguments that no longer match the tool's schema, by approval id.
  const editedArgumentErrors = new Map<string, string>();
  const resolutions = new Map<string, ToolResolution>();
  const callCounts = new Map<string, number>();
  const live = new Map<string, ApprovalRecord>();
  const liveClient = new Map<string, ClientToolRecord>();
  // Decisions and resolutions for approvals and client calls not (yet) live: the first one of each id.
  const earlyDecisions = new Map<string, ApprovalDecision[]>();
  const earlyResolutions = new Map<string, ToolResolution>();
  // Completed authorizations per connection, counted: a wait is over once one arrives after its check.
  const authorized = new Map<string, number>();

  const toolResult = (call: CheckedToolCall, output: unknown, isError: boolean): ToolResultMessage => ({
    role: 'tool',
    tool_call_id: call.id,
    name: call.name,
    content: [{ type: 'output_text', text: typeof output === 'string' ? output : JSON.stringify(output) }],
    is_error: isError,
  });
  const fail = (call: CheckedToolCall, code: string, message: string): ToolResultMessage => {
    host.emit('tool_call.failed', { tool_call_id: call.id, name: call.name, error: { code, message } });
    return toolResult(call, { error: { code, message } }, true);
  };

  async function prepare(call: CheckedToolCall): Promise<Prepared> {
    const tool = host.tools.get(call.name);
    if (call.arguments_error && tool && host.allowed.includes(call.name)) {
      return { call, tool, result: fail(call, 'invalid_tool_arguments', `Invalid arguments for ${call.name}: ${call.arguments_error}`) };
    }
    const key = `${call.name}:${canonicalJson(call.arguments)}`;
    const earlier = callCounts.get(key) ?? 0;
    callCounts.set(key, earlier + 1);
    const decision = decidePolicy([host.agent.policy?.rules ?? [], host.constraints.rules ?? []], host.has, {
      tool: call.name,
      effect: tool?.effect,
      arguments: call.arguments,
      allowed_tools: host.allowed,
      identical_earlier_calls: earlier,
      require_approval_for: host.constraints.require_approval_for ?? [],
      now: new Date(),
    });
    host.emit('policy.decided', { tool_call_id: call.id, name: call.name, action: decision.action, rule_id: decision.rule_id, reason: decision.reason });
    if (decision.action === 'deny') {
      return { call, tool, result: fail(call, decision.rule_id === 'loop_detected' ? 'loop_detected' : 'policy_denied', `Denied by policy: ${decision.reason}`) };
    }
    if (host.tool_mode === 'dry_run' && host.has(EVAL_DRY_RUN_PATCH)) {
      const settled = await settleWithoutEffect(call, tool!, decision.action === 'require_approval');
      if (settled) return { call, tool, result: settled };
    }
    const p: Prepared = { call, tool };
    if (decision.action === 'require_approval') {
      let preview: unknown = null;
      if (tool!.supports_dry_run && tool!.executor.type === 'http') {
        const dry = await proxyActivities<Activities>(dryRunOptions)
          .executeTool({ workspace_id: host.workspace_id, run_id: host.run_id, request_id: host.request_id, tool_call: publicCall(call), tool: tool!, dry_run: true })
          .catch((err: unknown) => {
            if (isCancellation(err)) throw err;
            return { ok: false as const, error: { code: 'dry_run_failed', message: 'The dry run failed' } };
          });
        preview = dry.ok ? dry.output : { error: dry.error };
      }
      const timeout = host.agent.approval?.timeout_seconds ?? DEFAULT_APPROVAL.timeout_seconds;
      const now = new Date();
      p.approval = {
        id: approvalIdFor(call.id),
        tool_call: publicCall(call),
        effect: tool!.effect,
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
    if (tool!.executor.type === 'client') {
      p.client = { id: call.id, name: call.name, arguments: call.arguments, status: 'pending', requested_at: '', expires_at: '', resolved_at: null };
    }
    return p;
  }

  /**
   * In a dry-run eval: a write or client tool is answered from its dry run (or a "not executed" result),
   * a read tool that would need an approval is denied at once, and any other read runs as usual (undefined).
   */
  async function settleWithoutEffect(call: CheckedToolCall, tool: ToolSpec, needsApproval: boolean): Promise<ToolResultMessage | undefined> {
    if (tool.effect !== 'write' && tool.executor.type !== 'client') {
      return needsApproval ? fail(call, 'approval_denied', 'Denied automatically: an eval in dry_run mode asks nobody for approval') : undefined;
    }
    let output: unknown = { not_executed: true, reason: `${call.name} is a ${tool.executor.type === 'client' ? 'client' : 'write'} tool and this eval runs in dry_run mode` };
    if (tool.supports_dry_run && tool.executor.type === 'http') {
      const dry = await proxyActivities<Activities>(dryRunOptions)
        .executeTool({ workspace_id: host.workspace_id, run_id: host.run_id, request_id: host.request_id, tool_call: publicCall(call), tool, dry_run: true })
        .catch((err: unknown) => {
          if (isCancellation(err)) throw err;
          return { ok: false as const, error: { code: 'dry_run_failed', message: messageOf(err) } };
        });
      if (!dry.ok) return fail(call, dry.error.code, dry.error.message);
      output = { not_executed: true, dry_run: dry.output };
    }
    host.emit('tool_call.completed', { tool_call_id: call.id, name: call.name, output, dry_run: true });
    return toolResult(call, output, false);
  }

  /** Requests every approval of the step at once, then waits (durably) until each is decided or expired. */
  async function awaitApprovals(waiting: Prepared[]): Promise<void> {
    const records = waiting.map((p) => p.approval!);
    for (const a of records) {
      live.set(a.id, a);
      host.emit('approval.requested', { approval: a });
      const early = earlyDecisions.get(a.id);
      if (early && host.has(EARLY_SIGNALS_PATCH)) candidates.set(a.id, [...early]);
    }
    host.state.pending_approvals = records.map((a) => ({ id: a.id, tool_call: a.tool_call }));
    host.setStatus('waiting_approval');
    await host.flush({ approvals: records });
    const timeoutMs = Date.parse(records[0]!.expires_at) - Date.parse(records[0]!.requested_at);
    const deadline = Date.now() + timeoutMs;
    host.pauseDeadline?.();
    await condition(() => records.every((a) => candidates.has(a.id)), timeoutMs);
    if (host.has(DECISION_PROOF_PATCH)) {
      await acceptProven(records, deadline);
    } else {
      for (const a of records) if (candidates.has(a.id)) decisions.set(a.id, candidates.get(a.id)![0]!);
    }
    host.resumeDeadline?.();
    const onTimeout = host.agent.approval?.on_timeout ?? DEFAULT_APPROVAL.on_timeout;
    let expired = false;
    for (const a of records) {
      const d = decisions.get(a.id);
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
      live.delete(a.id);
      host.emit('approval.decided', { approval_id: a.id, tool_call_id: a.tool_call.id, status: a.status, decided_by: a.decided_by, comment: a.comment, ...(a.decision ?? {}) });
    }
    host.state.pending_approvals = [];
    if (expired && onTimeout === 'fail') {
      await host.flush({ approvals: records });
      throw new GateFailure(RUN_ERROR.approval_expired, 'An approval expired and the agent fails runs on approval timeout');
    }
    host.setStatus('running');
    // Stored with the next batch: with tool_call.started, or the next step's start.
    await host.defer({ approvals: records });
  }

  /**
   * Accepts for each approval the first decision whose proof the verification activity confirms; until
   * every approval has one, waits (to the approval deadline) for more decisions and checks each as it
   * comes. A refused decision changes nothing: the approval stays pending and nothing executes.
   */
  async function acceptProven(records: ApprovalRecord[], deadline: number): Promise<void> {
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
          if (v.arguments_error) editedArgumentErrors.set(a.id, v.arguments_error);
        });
      }
      const open = records.filter((a) => !decisions.has(a.id));
      const remaining = deadline - Date.now();
      if (!open.length || remaining <= 0) return;
      if (!(await condition(() => open.some((a) => unchecked(a).length > 0), remaining))) return;
    }
  }

  /**
   * Calls of tools that act for the session's user: each is checked (a usable token, else a new
   * authorization URL); the run then waits in `waiting_auth`, with the approval timeout, until the user
   * has authorized every connection asked for. A call whose authorization does not come in time fails.
   */
  async function awaitAuthorizations(waiting: Prepared[]): Promise<void> {
    const timeout = host.agent.approval?.timeout_seconds ?? DEFAULT_APPROVAL.timeout_seconds;
    const asked: { p: Prepared; connection: string; seen: number; pending: PendingAuthorization }[] = [];
    for (const p of waiting) {
      const auth = p.tool!.auth!;
      const seen = authorized.get(auth.connection) ?? 0;
      const check = await authCheck.checkAuthorization({ workspace_id: host.workspace_id, run_id: host.run_id, tool_call_id: p.call.id, auth, ttl_seconds: timeout });
      if (check.ok) continue;
      if ('error' in check) {
        p.result = fail(p.call, check.error.code, check.error.message);
      } else if (host.tool_mode === 'dry_run') {
        p.result = fail(p.call, 'authorization_required', `Connection ${auth.connection} needs the user's authorization, and an eval in dry_run mode asks nobody`);
      } else {
        const pending = { tool_call_id: p.call.id, name: p.call.name, connection: auth.connection, authorization_url: check.authorization_url, expires_at: new Date(Date.now() + timeout * 1000).toISOString() };
        host.emit('auth.required', { ...pending });
        asked.push({ p, connection: auth.connection, seen, pending });
      }
    }
    if (!asked.length) return;
    const done = (a: (typeof asked)[number]): boolean => (authorized.get(a.connection) ?? 0) > a.seen;
    // Reported by the run state query only (the run object's pending_authorizations): no command changes.
    host.state.pending_authorizations = asked.map((a) => a.pending);
    host.setStatus('waiting_auth');
    await host.flush();
    host.pauseDeadline?.();
    await condition(() => asked.every(done), timeout * 1000);
    host.resumeDeadline?.();
    host.state.pending_authorizations = [];
    for (const a of asked) {
      if (!done(a)) a.p.result = fail(a.p.call, 'authorization_expired', `The user did not authorize connection ${a.connection} within ${timeout}s`);
    }
    host.setStatus('running');
    await host.flush();
  }

  /** Hands client-executed calls to the caller and waits for their results, with the approval deadline. */
  async function awaitClients(waiting: Prepared[]): Promise<void> {
    const timeout = host.agent.approval?.timeout_seconds ?? DEFAULT_APPROVAL.timeout_seconds;
    const now = new Date();
    const records = waiting.map((p) => {
      const r = p.client!;
      r.arguments = p.approval?.decision?.arguments ?? r.arguments;
      r.requested_at = now.toISOString();
      r.expires_at = new Date(now.getTime() + timeout * 1000).toISOString();
      liveClient.set(r.id, r);
      host.emit('tool_call.required', { tool_call_id: r.id, name: r.name, arguments: r.arguments, expires_at: r.expires_at });
      const early = earlyResolutions.get(r.id);
      if (early && host.has(EARLY_SIGNALS_PATCH)) resolutions.set(r.id, early);
      return r;
    });
    host.state.pending_tool_calls = records.map((r) => ({ id: r.id, name: r.name, arguments: r.arguments }));
    host.setStatus('tool_required');
    await host.flush({ client_tool_calls: records });
    host.pauseDeadline?.();
    await condition(() => records.every((r) => resolutions.has(r.id)), timeout * 1000);
    host.resumeDeadline?.();
    for (const p of waiting) {
      const r = p.client!;
      const res = resolutions.get(r.id);
      r.resolved_at = new Date().toISOString();
      liveClient.delete(r.id);
      if (!res) {
        r.status = 'expired';
        p.result = fail(p.call, 'client_tool_timeout', `The caller did not resolve ${r.name} within ${timeout}s`);
      } else if (res.error) {
        r.status = 'resolved';
        p.result = fail(p.call, 'client_tool_error', res.error.message);
      } else {
        r.status = 'resolved';
        host.emit('tool_call.completed', { tool_call_id: r.id, name: r.name, output: res.output });
        p.result = toolResult(p.call, res.output, false);
      }
    }
    host.state.pending_tool_calls = [];
    host.setStatus('running');
    await host.flush({ client_tool_calls: records });
  }

  async function execute(p: Prepared): Promise<ToolResultMessage> {
    const args = p.approval?.decision?.arguments ?? p.call.arguments;
    if (args !== p.call.arguments) {
      // Arguments an approver edited are decided again: a rule may deny them (approval is already given).
      const again = decidePolicy([host.agent.policy?.rules ?? [], host.constraints.rules ?? []], host.has, {
        tool: p.call.name, effect: p.tool?.effect, arguments: args, allowed_tools: host.allowed, identical_earlier_calls: 0,
        require_approval_for: host.constraints.require_approval_for ?? [], now: new Date(),
      });
      host.emit('policy.decided', { tool_call_id: p.call.id, name: p.call.name, action: again.action, rule_id: again.rule_id, reason: again.reason, edited_arguments: true });
      if (again.action === 'deny') return fail(p.call, 'policy_denied', `Denied by policy: ${again.reason}`);
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
      return fail(p.call, 'tool_error', messageOf(err));
    }
    if (!result.ok) return fail(p.call, result.error.code, result.error.message);
    host.emit('tool_call.completed', { tool_call_id: p.call.id, name: p.call.name, output: result.output });
    // Asked only on this path: histories without a load_skill call never meet the marker.
    if (p.tool!.executor.type === 'builtin' && p.tool!.executor.name === LOAD_SKILL_TOOL && host.has(SKILL_LOADED_PATCH)) {
      const loaded = result.output as { skill_id: string; files: { name: string }[] };
      host.emit('skill.loaded', { tool_call_id: p.call.id, skill_id: loaded.skill_id, files: loaded.files.map((f) => f.name) });
    }
    return toolResult(p.call, result.output, false);
  }

  return {
    /** Runs one model step's tool calls through the gate; results come back in call order. */
    async processStep(calls: CheckedToolCall[], beforeEach: (call: CheckedToolCall) => void): Promise<ToolResultMessage[]> {
      const prepared: Prepared[] = [];
      for (const call of calls) {
        beforeEach(call);
        prepared.push(await prepare(call));
      }
      const needApproval = prepared.filter((p) => !p.result && p.approval);
      if (needApproval.length) await awaitApprovals(needApproval);
      for (const p of needApproval) {
        const a = p.approval!;
        if (a.status === 'denied') p.result = fail(p.call, 'approval_denied', `A human denied this call: ${a.decision?.reason ?? 'no reason given'}`);
        if (a.status === 'expired') p.result = fail(p.call, 'approval_expired', 'The approval request expired without a decision');
        // Only set under DECISION_PROOF_PATCH: the API checked the edit against the tool as it is now, the run has its own.
        const argumentsError = editedArgumentErrors.get(a.id);
        if (a.status === 'approved' && argumentsError) p.result = fail(p.call, 'invalid_tool_arguments', `The approved arguments do not match the tool's input schema: ${argumentsError}`);
      }
      // Asked only when a tool declares auth: no recorded history has one.
      const needAuth = prepared.filter((p) => !p.result && p.tool?.auth && p.tool.executor.type === 'http');
      if (needAuth.length && host.has(OAUTH_PATCH)) await awaitAuthorizations(needAuth);
      const clients = prepared.filter((p) => !p.result && p.client);
      if (clients.length) await awaitClients(clients);
      const out: ToolResultMessage[] = [];
      for (const p of prepared) out.push(p.result ?? (await execute(p)));
      return out;
    },
    /** Kept as a candidate; what counts is decided in awaitApprovals (the first one, or the first proven one). */
    onDecision(d: ApprovalDecision): void {
      // A refused (unencrypted) payload arrives as undefined; anything else that is no decision is ignored too.
      if (!isApprovalDecision(d) || decisions.has(d.approval_id)) return;
      const into = live.has(d.approval_id) ? candidates : earlyDecisions;
      into.set(d.approval_id, [...(into.get(d.approval_id) ?? []), d]);
    },
    onAuthorized(connection: string): void {
      if (typeof connection !== 'string') return;
      authorized.set(connection, (authorized.get(connection) ?? 0) + 1);
      // State only (the run object's list): what the user has just authorized is no longer pending.
      if (host.state.pending_authorizations?.length) host.state.pending_authorizations = host.state.pending_authorizations.filter((a) => a.connection !== connection);
    },
    onResolution(r: ToolResolution): void {
      if (!r || typeof r !== 'object' || typeof r.tool_call_id !== 'string') return;
      if (liveClient.has(r.tool_call_id)) {
        if (!resolutions.has(r.tool_call_id)) resolutions.set(r.tool_call_id, r);
      } else if (!resolutions.has(r.tool_call_id) && !earlyResolutions.has(r.tool_call_id)) {
        earlyResolutions.set(r.tool_call_id, r);
      }
    },
    /** On cancel: what is still pending is canceled (written by the caller's final flush). */
    cancelPending(): { approvals: ApprovalRecord[]; client_tool_calls: ClientToolRecord[] } {
      const at = new Date().toISOString();
      const approvals = [...live.values()].map((a) => Object.assign(a, { status: 'canceled' as const, decided_at: at }));
      const clientCalls = [...liveClient.values()].map((r) => Object.assign(r, { status: 'canceled' as const, resolved_at: at }));
      live.clear();
      liveClient.clear();
      host.state.pending_approvals = [];
      host.state.pending_tool_calls = [];
      host.state.pending_authorizations = [];
      return { approvals, client_tool_calls: clientCalls };
    },
  };
}

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

