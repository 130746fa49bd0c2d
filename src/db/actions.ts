// Action invocations.
import type { Queryable } from './pool';
import type { ActionState } from '../domain/action';

export interface ActionRow {
  id: string;
  workspace_id: string;
  workflow_id: string;
  tool: string;
  tool_call_id: string;
  arguments: Record<string, unknown>;
  dry_run: boolean;
  status: string;
  result: unknown;
  error: { code: string; message: string } | null;
  approval_id: string | null;
  events: unknown[];
  metadata: Record<string, unknown>;
  request_id: string | null;
  created_by_key_id: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export async function insertAction(q: Queryable, a: Pick<ActionRow, 'id' | 'workspace_id' | 'workflow_id' | 'tool' | 'tool_call_id' | 'arguments' | 'dry_run' | 'metadata' | 'request_id' | 'created_by_key_id'>): Promise<ActionRow | undefined> {
  return (
    await q.query<ActionRow>(
      `INSERT INTO action_invocations (id, workspace_id, workflow_id, tool, tool_call_id, arguments, dry_run, status, metadata, request_id, created_by_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10) ON CONFLICT (workflow_id) DO NOTHING RETURNING *`,
      [a.id, a.workspace_id, a.workflow_id, a.tool, a.tool_call_id, a.arguments, a.dry_run, a.metadata, a.request_id, a.created_by_key_id],
    )
  ).rows[0];
}

export async function getAction(q: Queryable, id: string, ws?: string): Promise<ActionRow | undefined> {
  return (await q.query<ActionRow>('SELECT * FROM action_invocations WHERE id = $1 AND ($2::text IS NULL OR workspace_id = $2)', [id, ws ?? null])).rows[0];
}

export async function getActionByWorkflowId(q: Queryable, workflowId: string): Promise<ActionRow | undefined> {
  return (await q.query<ActionRow>('SELECT * FROM action_invocations WHERE workflow_id = $1', [workflowId])).rows[0];
}

/** Appends the workflow's events (by seq, so a retried write adds nothing) and stores its state. */
export async function recordAction(q: Queryable, id: string, s: ActionState, events: { seq: number }[]): Promise<void> {
  await q.query(
    `UPDATE action_invocations SET status = $2, result = $3, error = $4, approval_id = $5, completed_at = $6::timestamptz,
            events = events || COALESCE((SELECT jsonb_agg(e) FROM jsonb_array_elements($7::jsonb) e
                                          WHERE (e->>'seq')::int > COALESCE((SELECT max((x->>'seq')::int) FROM jsonb_array_elements(events) x), 0)), '[]'::jsonb)
      WHERE id = $1 AND status NOT IN ('completed', 'failed', 'canceled')`,
    [id, s.status, JSON.stringify(s.result ?? null), s.error, s.approval_id, s.completed_at, JSON.stringify(events)],
  );
}
