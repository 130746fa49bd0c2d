// Approvals and client tool calls as the workflow records them, and the API's conditional decisions.
import type { Queryable } from './pool';
import type { RunRow } from './runs';
import type { ApprovalRecord, ClientToolRecord, Decider } from '../domain/approval';

export interface ApprovalRow {
  id: string;
  workspace_id: string;
  run_id: string | null;
  action_id: string | null;
  session_id: string | null;
  agent_id: string | null;
  tool_call: { id: string; name: string; arguments: Record<string, unknown> };
  effect: string;
  policy_rule_id: string | null;
  reason: string | null;
  preview: unknown;
  status: string;
  requested_at: Date;
  expires_at: Date;
  decided_at: Date | null;
  decided_by: Decider | null;
  comment: string | null;
  decision: { arguments?: Record<string, unknown>; reason?: string } | null;
}

/** Whose approval it is: a run's, or an action invocation's. */
export type ApprovalParent =
  | Pick<RunRow, 'workspace_id' | 'id' | 'session_id' | 'agent_id'> & { kind?: 'run' }
  | { kind: 'action'; workspace_id: string; id: string };

/** The workflow's record wins: it is the authority on whether an approval is still pending. */
export async function upsertApproval(q: Queryable, parent: ApprovalParent, a: ApprovalRecord): Promise<void> {
  const isAction = parent.kind === 'action';
  const run = isAction ? undefined : (parent as RunRow);
  await q.query(
    `INSERT INTO approvals (id, workspace_id, run_id, session_id, agent_id, tool_call, effect, policy_rule_id, reason, preview, status,
                            requested_at, expires_at, decided_at, decided_by, comment, decision, action_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, decided_at = EXCLUDED.decided_at, decided_by = EXCLUDED.decided_by,
                                    comment = EXCLUDED.comment, decision = EXCLUDED.decision
       -- a retried write of the 'pending' record must not undo a decision stored since
       WHERE NOT (EXCLUDED.status = 'pending' AND approvals.status <> 'pending')`,
    [a.id, parent.workspace_id, run?.id ?? null, run?.session_id ?? null, run?.agent_id ?? null, a.tool_call, a.effect, a.policy_rule_id, a.reason,
      JSON.stringify(a.preview), a.status, a.requested_at, a.expires_at, a.decided_at, a.decided_by, a.comment, a.decision, isAction ? parent.id : null],
  );
}

export async function upsertClientToolCall(q: Queryable, run: RunRow, t: ClientToolRecord): Promise<void> {
  await q.query(
    `INSERT INTO client_tool_calls (id, workspace_id, run_id, name, arguments, status, requested_at, expires_at, resolved_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, resolved_at = EXCLUDED.resolved_at
       WHERE NOT (EXCLUDED.status = 'pending' AND client_tool_calls.status <> 'pending')`,
    [t.id, run.workspace_id, run.id, t.name, t.arguments, t.status, t.requested_at, t.expires_at, t.resolved_at],
  );
}

export async function getApproval(q: Queryable, ws: string, id: string, forUpdate = false): Promise<ApprovalRow | undefined> {
  return (await q.query<ApprovalRow>(`SELECT * FROM approvals WHERE workspace_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [ws, id])).rows[0];
}

export async function listApprovals(
  q: Queryable,
  ws: string,
  f: { status?: string; run_id?: string; agent_id?: string; after?: string; limit: number },
): Promise<ApprovalRow[]> {
  return (
    await q.query<ApprovalRow>(
      `SELECT * FROM approvals WHERE workspace_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR run_id = $3)
          AND ($4::text IS NULL OR agent_id = $4) AND ($5::text IS NULL OR id < $5) ORDER BY id DESC LIMIT $6`,
      [ws, f.status ?? null, f.run_id ?? null, f.agent_id ?? null, f.after ?? null, f.limit + 1],
    )
  ).rows;
}

/** Marks a pending approval decided; false when it was not pending any more (a second decision). */
export async function decideApproval(
  q: Queryable,
  id: string,
  status: 'approved' | 'denied',
  by: Decider,
  comment: string | null,
  decision: { arguments?: Record<string, unknown>; reason?: string },
): Promise<boolean> {
  const r = await q.query(
    `UPDATE approvals SET status = $2, decided_at = now(), decided_by = $3, comment = $4, decision = $5 WHERE id = $1 AND status = 'pending'`,
    [id, status, by, comment, decision],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function getClientToolCall(q: Queryable, runId: string, id: string, forUpdate = false): Promise<{ id: string; status: string; expires_at: Date } | undefined> {
  return (
    await q.query<{ id: string; status: string; expires_at: Date }>(`SELECT id, status, expires_at FROM client_tool_calls WHERE run_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [runId, id])
  ).rows[0];
}

export async function markClientToolResolved(q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE client_tool_calls SET status = 'resolved', resolved_at = now() WHERE id = $1`, [id]);
}
