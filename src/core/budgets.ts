// A workspace's limits as set by the operator, and its monthly token budget: the API checks the budget
// before a run is created (src/services/limits.ts), the run's context carries what is left of it, and a
// run's end checks its thresholds (activities/budget-alerts.ts). The period is the UTC calendar month.
import type { Config } from '../config';
import type { Queryable } from '../db/pool';

export interface WorkspaceLimits {
  token_budget: string | null;
  rate_limit_per_minute: number | null;
  max_active_runs: number | null;
}

export async function limitsOf(q: Queryable, workspaceId: string): Promise<WorkspaceLimits> {
  return (await q.query<WorkspaceLimits>('SELECT token_budget, rate_limit_per_minute, max_active_runs FROM workspaces WHERE id = $1', [workspaceId])).rows[0]!;
}

/** Tokens of the workspace's runs this calendar month (UTC): runs count in the month they were created. */
async function tokensThisMonth(q: Queryable, workspaceId: string): Promise<number> {
  const r = await q.query<{ used: string | null }>(
    `SELECT SUM((usage->>'input_tokens')::bigint + (usage->>'output_tokens')::bigint) AS used FROM runs
      WHERE workspace_id = $1 AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
    [workspaceId],
  );
  return Number(r.rows[0]?.used ?? 0);
}

/** Tokens of the workspace's runs created in `[start, end)`: a budget period's spend, as tokensThisMonth counts it. */
export async function tokensBetween(q: Queryable, workspaceId: string, start: Date, end: Date): Promise<number> {
  const r = await q.query<{ used: string | null }>(
    `SELECT SUM((usage->>'input_tokens')::bigint + (usage->>'output_tokens')::bigint) AS used FROM runs
      WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3`,
    [workspaceId, start, end],
  );
  return Number(r.rows[0]?.used ?? 0);
}

/** The workspace's monthly token budget: its own, else the server's (AP_TOKEN_BUDGET); undefined when neither is set. */
export const tokenBudgetOf = (l: WorkspaceLimits, config: Config): number | undefined => (l.token_budget !== null ? Number(l.token_budget) : config.limits.tokenBudget);

/** Remaining monthly tokens, or undefined when the workspace has no budget (then nothing is summed). */
export async function remainingTokens(q: Queryable, config: Config, workspaceId: string, limits?: WorkspaceLimits): Promise<number | undefined> {
  const l = limits ?? (await limitsOf(q, workspaceId));
  const budget = tokenBudgetOf(l, config);
  if (budget === undefined) return undefined;
  return Math.max(0, budget - (await tokensThisMonth(q, workspaceId)));
}
