// Action invocations (API.md 5): validated here (tool, arguments), then one durable workflow that
// takes the same gated path as a run's tool call.
import { WorkflowNotFoundError } from '@temporalio/client';
import crypto from 'node:crypto';
import * as actions from '../db/actions';
import { getTool } from '../db/tools';
import { newId } from '../db/ids';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate } from '../domain/common';
import type { ActionCreate } from '../domain/action';
import { isTerminal } from '../domain/run';
import type { ToolSpec } from '../domain/tool';
import { hasRole, type Principal } from '../domain/workspace';
import { ACTION_WORKFLOW_TYPE, SEARCH_ATTRIBUTES, type ActionWorkflowInput } from '../../workflows/definitions';
import { validateArguments } from '../core/json-schema';
import * as approvals from '../db/governance';
import { approvalView } from './approvals';
import type { ServiceDeps } from './deps';
import { temporalCall } from './temporal-errors';
import { startWorkflowFor } from './workflow-start';
import { waitUntil } from './wait';
import { engineOf } from '../temporal/engine';

async function actionView(deps: ServiceDeps, a: actions.ActionRow) {
  const approval = a.approval_id ? await approvals.getApproval(deps.db, a.workspace_id, a.approval_id) : undefined;
  return {
    id: a.id,
    object: 'action_invocation' as const,
    status: a.status,
    tool: a.tool,
    arguments: a.arguments,
    dry_run: a.dry_run,
    result: a.result ?? null,
    error: a.error,
    approval: approval ? approvalView(approval) : null,
    metadata: a.metadata,
    request_id: a.request_id,
    created_at: isoDate(a.created_at),
    completed_at: isoDate(a.completed_at),
  };
}

export async function createAction(
  deps: ServiceDeps,
  p: Principal,
  b: ActionCreate,
  requestId: string,
  idempotencyKey?: string,
  /** Called with the action id as soon as it exists: the audit record is written at creation. */
  onCreated?: (id: string) => Promise<void>,
) {
  const toolRow = await getTool(deps.db, p.workspace_id, b.tool);
  if (!toolRow) throw new PlatformError('unknown_tool', `Tool ${b.tool} does not exist`, 'tool');
  const tool = toolRow.spec as Omit<ToolSpec, 'name'>;
  if (tool.executor.type === 'client') throw new PlatformError('validation_failed', 'A client-executed tool cannot be invoked by the server', 'tool');
  const error = validateArguments(tool.input_schema, b.arguments);
  if (error) throw new PlatformError('invalid_tool_arguments', `arguments do not match the tool's input schema: ${error}`, 'arguments');
  const id = newId('act');
  const workflowId = idempotencyKey ? `act-${crypto.createHash('sha256').update(`${p.workspace_id}\n${idempotencyKey}`).digest('hex').slice(0, 40)}` : id;
  const inserted = await actions.insertAction(deps.db, {
      id,
      workspace_id: p.workspace_id,
      workflow_id: workflowId,
      tool: b.tool,
      tool_call_id: newId('tc'),
      arguments: b.arguments,
      dry_run: b.dry_run,
      metadata: b.metadata,
      request_id: requestId,
      created_by_key_id: p.key_id,
    });
  const row = inserted ?? (await actions.getActionByWorkflowId(deps.db, workflowId))!;
  // An idempotent retry of an action that already got past `queued` needs nothing started.
  if (inserted || row.status === 'queued') {
    await startWorkflowFor(
      deps.temporal,
      {
        type: ACTION_WORKFLOW_TYPE,
        workflowId: row.workflow_id,
        taskQueue: deps.config.temporal.taskQueue,
        args: [{ action_id: row.id } satisfies ActionWorkflowInput],
        searchAttributes: [{ key: SEARCH_ATTRIBUTES.workspaceId, value: row.workspace_id }],
      },
      () => (inserted ? deps.db.query('DELETE FROM action_invocations WHERE id = $1', [row.id]) : Promise.resolve()),
    );
  }
  await onCreated?.(row.id);
  if (!b.wait) return { status: 202, body: await actionView(deps, row) };
  const current = await waitUntil(
    deps.bus,
    row.id,
    b.wait_timeout_seconds * 1000,
    async () => (await actions.getAction(deps.db, row.id))!,
    (a) => isTerminal(a.status) || a.status === 'waiting_approval',
  );
  return { status: 200, body: await actionView(deps, current) };
}

export async function getAction(deps: ServiceDeps, p: Principal, id: string) {
  const a = await actions.getAction(deps.db, id, p.workspace_id);
  if (!a) throw notFound('action invocation', 'id');
  return actionView(deps, a);
}

export async function cancelAction(deps: ServiceDeps, p: Principal, id: string) {
  const a = await actions.getAction(deps.db, id, p.workspace_id);
  if (!a) throw notFound('action invocation', 'id');
  if (!hasRole(p, 'developer')) throw new PlatformError('permission_denied', 'Canceling needs the developer or admin role');
  if (isTerminal(a.status)) throw new PlatformError('run_not_active', `The action invocation is already ${a.status}`);
  try {
    await temporalCall(() => engineOf(deps.temporal).cancel(a.workflow_id));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PlatformError('run_not_active', 'The action invocation is no longer active');
    throw err;
  }
  return actionView(deps, a);
}
