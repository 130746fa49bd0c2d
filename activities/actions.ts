// Activities of the action-invocation workflow: its context and its recorded state.
import { ApplicationFailure } from '@temporalio/activity';
import { transaction } from '../src/db/pool';
import * as actions from '../src/db/actions';
import { getTool } from '../src/db/tools';
import * as governance from '../src/db/governance';
import { RUN_ERROR } from '../src/domain/errors';
import type { ActionState } from '../src/domain/action';
import type { ApprovalRecord } from '../src/domain/approval';
import type { PendingEvent } from '../src/domain/event';
import type { ToolSpec } from '../src/domain/tool';
import type { ActivityDeps } from './deps';
import { EVENTS_CHANNEL } from '../workflows/definitions';
import { enqueueWebhooks, messageIdFor, startDeliveries } from './webhooks';
import { activityLog } from './log';

export interface ActionContext {
  workspace_id: string;
  request_id: string | null;
  tool: ToolSpec | undefined;
  tool_call: { id: string; name: string; arguments: Record<string, unknown> };
  dry_run: boolean;
}

export function createActionActivities({ db, temporal, config, log }: ActivityDeps) {
  return {
    async loadActionContext(actionId: string): Promise<ActionContext> {
      const a = await actions.getAction(db, actionId);
      if (!a) throw ApplicationFailure.nonRetryable(`Action invocation ${actionId} does not exist`, RUN_ERROR.internal_error);
      const row = await getTool(db, a.workspace_id, a.tool);
      activityLog(log, { action_id: a.id, workspace_id: a.workspace_id, request_id: a.request_id }).debug({ tool: a.tool, dry_run: a.dry_run }, 'action context loaded');
      return {
        workspace_id: a.workspace_id,
        request_id: a.request_id,
        tool: row ? { name: row.name, ...(row.spec as Omit<ToolSpec, 'name'>) } : undefined,
        tool_call: { id: a.tool_call_id, name: a.tool, arguments: a.arguments },
        dry_run: a.dry_run,
      };
    },

    async recordAction(actionId: string, state: ActionState, events: PendingEvent[], approvals?: ApprovalRecord[]): Promise<void> {
      let deliveries: string[] = [];
      await transaction(db, async (c) => {
        const a = await actions.getAction(c, actionId);
        if (!a) throw ApplicationFailure.nonRetryable(`Action invocation ${actionId} does not exist`, RUN_ERROR.internal_error);
        for (const ap of approvals ?? []) await governance.upsertApproval(c, { kind: 'action', workspace_id: a.workspace_id, id: a.id }, ap);
        await actions.recordAction(c, actionId, state, events.map((e) => ({ ...e, created_at: new Date().toISOString() })));
        const decided = events.filter((e) => e.type === 'approval.decided');
        const ended = ['completed', 'failed', 'canceled'].includes(state.status) ? events.find((e) => e.type.startsWith('run.') && e.type !== 'run.started') : undefined;
        deliveries = await enqueueWebhooks(c, a.workspace_id, [
          ...decided.map((e) => ({ type: 'approval.decided' as const, message_id: messageIdFor(actionId, e.seq), data: { action_invocation_id: actionId, ...e.data } })),
          ...(ended ? [{ type: 'action_invocation.completed' as const, message_id: messageIdFor(actionId, ended.seq), data: { id: actionId, object: 'action_invocation', tool: a.tool, ...state } }] : []),
        ]);
        const last = events[events.length - 1];
        if (last) await c.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, `${actionId}:${last.seq}`]);
        activityLog(log, { action_id: a.id, workspace_id: a.workspace_id, request_id: a.request_id }).debug({ status: state.status, types: events.map((e) => e.type), webhook_deliveries: deliveries.length }, 'action recorded');
      });
      await startDeliveries(temporal, config, deliveries);
    },
  };
}
