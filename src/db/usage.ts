// Usage figures of a workspace's runs (GET /v1/usage), aggregated in SQL, and the budget alerts sent.
// Every query reads only the runs created in the window, through runs_workspace_created (workspace_id,
// created_at); their approvals by approvals_run, their model calls by run_model_calls' key (migration 0024).
import type { Queryable } from './pool';

export interface UsageRow {
  /** null: the total of the window. */
  key: string | null;
  runs: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  tool_calls: number;
  failed_runs: number;
  approvals_requested: number;
  approvals_approved: number;
  approvals_denied: number;
  approvals_expired: number;
}

const APPROVAL_COUNTS = `count(*)::int AS requested, (count(*) FILTER (WHERE a.status = 'approved'))::int AS approved,
       (count(*) FILTER (WHERE a.status = 'denied'))::int AS denied, (count(*) FILTER (WHERE a.status = 'expired'))::int AS expired`;

const APPROVAL_SUMS = `COALESCE(sum(ap.requested), 0)::int AS approvals_requested, COALESCE(sum(ap.approved), 0)::int AS approvals_approved,
       COALESCE(sum(ap.denied), 0)::int AS approvals_denied, COALESCE(sum(ap.expired), 0)::int AS approvals_expired`;

/**
 * Run-level figures (each run counted once, from its `usage`), by the run's UTC day of creation or its
 * agent, with the window's total as the row whose key is null (one pass: GROUPING SETS).
 */
export async function usageByRun(q: Queryable, workspaceId: string, from: Date, to: Date, by: 'day' | 'agent' | 'none'): Promise<UsageRow[]> {
  const key = by === 'day' ? `to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')` : by === 'agent' ? 'r.agent_id' : 'NULL::text';
  const keyOut = by === 'none' ? key : `CASE WHEN GROUPING(${key}) = 0 THEN ${key} END`;
  const groups = by === 'none' ? '' : `GROUP BY GROUPING SETS ((${key}), ())`;
  return (
    await q.query<UsageRow>(
      `WITH r AS (SELECT id, agent_id, status, usage, created_at FROM runs WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3),
            ap AS (SELECT a.run_id, ${APPROVAL_COUNTS} FROM approvals a JOIN r ON r.id = a.run_id GROUP BY a.run_id)
       SELECT ${keyOut} AS key, count(*)::int AS runs,
              COALESCE(sum((r.usage->>'input_tokens')::bigint), 0)::float8 AS input_tokens,
              COALESCE(sum((r.usage->>'output_tokens')::bigint), 0)::float8 AS output_tokens,
              round(COALESCE(sum((r.usage->>'cost_usd')::numeric), 0), 6)::float8 AS cost_usd,
              COALESCE(sum((r.usage->>'tool_calls')::bigint), 0)::float8 AS tool_calls,
              (count(*) FILTER (WHERE r.status = 'failed'))::int AS failed_runs,
              ${APPROVAL_SUMS}
         FROM r LEFT JOIN ap ON ap.run_id = r.id
        ${groups}`,
      [workspaceId, from, to],
    )
  ).rows;
}

/**
 * Figures by the model that answered (run_model_calls, from message.completed: a fallback card's model
 * included): tokens and cost of that model's calls, the runs it answered in, the tool calls it asked for
 * and the approvals of those tool calls. A run whose calls were answered by two models counts under both.
 */
export async function usageByModel(q: Queryable, workspaceId: string, from: Date, to: Date): Promise<UsageRow[]> {
  return (
    await q.query<UsageRow>(
      `WITH r AS (SELECT id, status FROM runs WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3),
            c AS (SELECT r.id AS run_id, r.status, m.model, m.input_tokens, m.output_tokens, m.cost_usd, m.tool_call_ids
                    FROM r JOIN run_model_calls m ON m.run_id = r.id),
            ap AS (SELECT c.model, ${APPROVAL_COUNTS}
                     FROM c CROSS JOIN LATERAL unnest(c.tool_call_ids) AS t(id)
                     JOIN approvals a ON a.run_id = c.run_id AND a.tool_call->>'id' = t.id GROUP BY c.model),
            m AS (SELECT c.model, count(DISTINCT c.run_id)::int AS runs,
                         sum(c.input_tokens)::float8 AS input_tokens, sum(c.output_tokens)::float8 AS output_tokens,
                         round(sum(c.cost_usd), 6)::float8 AS cost_usd, sum(cardinality(c.tool_call_ids))::float8 AS tool_calls,
                         (count(DISTINCT c.run_id) FILTER (WHERE c.status = 'failed'))::int AS failed_runs
                    FROM c GROUP BY c.model)
       SELECT m.model AS key, m.runs, m.input_tokens, m.output_tokens, m.cost_usd, m.tool_calls, m.failed_runs,
              COALESCE(ap.requested, 0) AS approvals_requested, COALESCE(ap.approved, 0) AS approvals_approved,
              COALESCE(ap.denied, 0) AS approvals_denied, COALESCE(ap.expired, 0) AS approvals_expired
         FROM m LEFT JOIN ap ON ap.model = m.model`,
      [workspaceId, from, to],
    )
  ).rows;
}

/** The names of the workspace's agents among `ids` (archived ones included: their runs still count). */
export async function agentNames(q: Queryable, workspaceId: string, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const r = await q.query<{ id: string; name: string }>('SELECT id, name FROM agents WHERE workspace_id = $1 AND id = ANY($2)', [workspaceId, ids]);
  return new Map(r.rows.map((a) => [a.id, a.name]));
}

/**
 * Records that the workspace reached a threshold of its budget in a period; false when it was recorded
 * before (the alert was sent then). Inside the transaction that enqueues the alert's webhooks.
 */
export async function insertBudgetAlert(q: Queryable, a: { workspace_id: string; period: string; threshold: number; budget: number; spent: number }): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO budget_alerts (workspace_id, period, threshold, budget, spent) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (workspace_id, period, threshold) DO NOTHING`,
    [a.workspace_id, a.period, a.threshold, a.budget, a.spent],
  );
  return (r.rowCount ?? 0) > 0;
}
