// The action-invocation workflow (API.md 5): one tool call without a model, through the same gate as a
// run's tool calls (validation, policy, dry-run preview, approval, execution exactly once).
import { ApplicationFailure, CancellationScope, isCancellation, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ActionState } from '../src/domain/action';
import type { ApprovalRecord } from '../src/domain/approval';
import type { RunState, RunStatus } from '../src/domain/run';
import { emptyUsage } from '../src/domain/usage';
import type { PendingEvent } from '../src/domain/event';
import { approvalDecisionSignal, type ActionWorkflowInput } from './definitions';
import { GateFailure, messageOf } from './gate-state';
import { createToolGate } from './tool-gate';
import type { Emit } from '../src/domain/run-event';

const store = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumInterval: '10s', backoffCoefficient: 2 },
});
const dryRun = proxyActivities<Activities>({ startToCloseTimeout: '45s', heartbeatTimeout: '10s', retry: { maximumAttempts: 2 } });

export async function actionWorkflow({ action_id }: ActionWorkflowInput): Promise<ActionState> {
  const action: ActionState = { status: 'queued', result: null, error: null, approval_id: null, completed_at: null };
  // The gate works on a run's state; an action uses the parts that apply (status, pending approvals).
  const shadow: RunState = { status: 'queued', started_at: null, completed_at: null, output: [], output_text: null, usage: emptyUsage(), error: null, pending_approvals: [], pending_tool_calls: [] };
  let seq = 0;
  let pending: PendingEvent[] = [];
  const emit: Emit = (type, data) => void pending.push({ seq: ++seq, type, data });
  const flush = async (approvals?: ApprovalRecord[]): Promise<void> => {
    const batch = pending;
    pending = [];
    if (approvals?.[0]) action.approval_id = approvals[0].id;
    await CancellationScope.nonCancellable(() => store.recordAction(action_id, { ...action }, batch, approvals));
  };
  const setStatus = (s: RunStatus): void => {
    shadow.status = s;
    if (s === 'running' || s === 'waiting_approval') action.status = s;
  };

  let gate: ReturnType<typeof createToolGate> | undefined;
  try {
    const ctx = await store.loadActionContext(action_id);
    gate = createToolGate({
      run_id: action_id,
      workspace_id: ctx.workspace_id,
      request_id: ctx.request_id,
      agent: { model: { card: '' }, instructions: '', tools: [ctx.tool_call.name], limits: {}, policy: { rules: [] }, approval: {}, enabled: true },
      constraints: {},
      tools: new Map(ctx.tool ? [[ctx.tool.name, ctx.tool]] : []),
      allowed: ctx.tool ? [ctx.tool.name] : [],
      state: shadow,
      emit,
      setStatus,
      flush: (extra) => flush(extra?.approvals),
      has: patched,
      // An action's events are stored by recordAction, never by the tool's activity (that stores runs' events).
      handOff: async () => void (await flush()),
      requeue: () => undefined,
      defer: (extra) => flush(extra.approvals),
    });
    const g = gate;
    setHandler(approvalDecisionSignal, (d) => g.onDecision(d));
    setStatus('running');
    emit('run.started', { tool: ctx.tool_call.name, dry_run: ctx.dry_run });
    await flush();
    if (ctx.dry_run) {
      // A dry run never has a side effect: the tool's own dry run when it has one, else nothing runs.
      if (ctx.tool?.supports_dry_run && ctx.tool.executor.type === 'http') {
        const r = await dryRun.executeTool({ workspace_id: ctx.workspace_id, run_id: action_id, request_id: ctx.request_id, tool_call: ctx.tool_call, tool: ctx.tool, dry_run: true });
        if (r.ok) action.result = { dry_run: true, preview: r.output };
        else action.error = r.error;
      } else {
        action.result = { dry_run: true, executed: false, reason: 'The tool has no dry run; nothing was executed' };
      }
    } else {
      const [message] = await gate.processStep([{ ...ctx.tool_call }], () => emit('tool_call.requested', { tool_call: ctx.tool_call }));
      const text = message!.content.map((p) => p.text).join('');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* a plain-text result */
      }
      if (message!.is_error) action.error = (parsed as { error?: { code: string; message: string } }).error ?? { code: 'tool_error', message: text };
      else action.result = parsed;
    }
    action.status = action.error ? 'failed' : 'completed';
  } catch (err) {
    if (isCancellation(err)) {
      action.status = 'canceled';
      const left = gate?.cancelPending() ?? { approvals: [] };
      action.completed_at = new Date().toISOString();
      emit('run.canceled', {});
      await flush(left.approvals);
      throw err;
    }
    action.status = 'failed';
    action.error = err instanceof GateFailure ? { code: err.code, message: err.message } : { code: 'internal_error', message: messageOf(err) };
  }
  action.completed_at = new Date().toISOString();
  emit(action.status === 'completed' ? 'run.completed' : 'run.failed', { result: action.result, error: action.error });
  await flush();
  if (action.status === 'failed' && action.error?.code === 'internal_error') throw ApplicationFailure.nonRetryable(action.error.message, 'internal_error');
  return action;
}
