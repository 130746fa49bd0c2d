// Budgets and rate limits: a per-key request rate (fixed one-minute windows in PostgreSQL, so every API
// process counts together), a per-workspace cap on active runs, and a per-workspace monthly token budget.
import type { Config } from '../config';
import type { Db, Queryable } from '../db/pool';
import { ApiError } from '../domain/errors';

interface WorkspaceLimits {
  token_budget: string | null;
  rate_limit_per_minute: number | null;
  max_active_runs: number | null;
}

async function limitsOf(q: Queryable, workspaceId: string): Promise<WorkspaceLimits> {
  return (await q.query<WorkspaceLimits>('SELECT token_budget, rate_limit_per_minute, max_active_runs FROM workspaces WHERE id = $1', [workspaceId])).rows[0]!;
}

export async function checkRate(db: Db, config: Config, workspaceId: string, keyId: string): Promise<void> {
  const r = await db.query<{ count: number; limit: number | null; retry: number }>(
    `WITH w AS (
       INSERT INTO rate_limit_windows (key_id, window_start, count) VALUES ($1, date_trunc('minute', now()), 1)
       ON CONFLICT (key_id, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
       RETURNING count, window_start)
     SELECT w.count, (SELECT rate_limit_per_minute FROM workspaces WHERE id = $2) AS limit,
            CEIL(EXTRACT(EPOCH FROM (w.window_start + interval '1 minute' - now())))::int AS retry FROM w`,
    [keyId, workspaceId],
  );
  const row = r.rows[0]!;
  const limit = row.limit ?? config.limits.ratePerMinute;
  if (row.count > limit) {
    throw new ApiError(429, 'rate_limited', `This API key is limited to ${limit} requests per minute`, undefined, { 'Retry-After': String(Math.max(1, row.retry)) });
  }
  // Old windows are dropped now and then; no job is needed.
  if (row.count === 1) await db.query(`DELETE FROM rate_limit_windows WHERE key_id = $1 AND window_start < now() - interval '5 minutes'`, [keyId]);
}

/** Tokens of the workspace's runs this calendar month (UTC). */
async function tokensThisMonth(q: Queryable, workspaceId: string): Promise<number> {
  const r = await q.query<{ used: string | null }>(
    `SELECT SUM((usage->>'input_tokens')::bigint + (usage->>'output_tokens')::bigint) AS used FROM runs
      WHERE workspace_id = $1 AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
    [workspaceId],
  );
  return Number(r.rows[0]?.used ?? 0);
}

/** Remaining monthly tokens, or undefined when the workspace has no budget. */
export async function remainingTokens(q: Queryable, config: Config, workspaceId: string): Promise<number | undefined> {
  const l = await limitsOf(q, workspaceId);
  const budget = l.token_budget !== null ? Number(l.token_budget) : config.limits.tokenBudget;
  if (budget === undefined) return undefined;
  return Math.max(0, budget - (await tokensThisMonth(q, workspaceId)));
}

/** Checked when a run is created (inside its transaction). */
export async function checkRunAdmission(q: Queryable, config: Config, workspaceId: string): Promise<void> {
  // Serializes run admission per workspace: concurrent creates cannot all pass the same count. An advisory
  // lock, not FOR UPDATE on the workspace row: that row is updated by every audit append and key-share
  // locked by every insert that references it, and the row lock deadlocked under load (issue 7 bench).
  await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`admission:${workspaceId}`]);
  const remaining = await remainingTokens(q, config, workspaceId);
  if (remaining !== undefined && remaining <= 0) {
    throw new ApiError(402, 'budget_exceeded', "The workspace's monthly token budget is used up");
  }
  const l = await limitsOf(q, workspaceId);
  const cap = l.max_active_runs ?? config.limits.maxActiveRuns;
  const active = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM runs WHERE workspace_id = $1 AND status NOT IN ('completed', 'failed', 'canceled')`,
    [workspaceId],
  );
  if (active.rows[0]!.n >= cap) {
    throw new ApiError(429, 'too_many_active_runs', `The workspace already has ${cap} active runs`, undefined, { 'Retry-After': '5' });
  }
}

export async function setWorkspaceLimits(db: Db, workspaceId: string, l: { token_budget?: number | null; rate_limit_per_minute?: number | null; max_active_runs?: number | null }) {
  await db.query(
    `UPDATE workspaces SET token_budget = CASE WHEN $2 THEN $3::bigint ELSE token_budget END,
            rate_limit_per_minute = CASE WHEN $4 THEN $5::int ELSE rate_limit_per_minute END,
            max_active_runs = CASE WHEN $6 THEN $7::int ELSE max_active_runs END WHERE id = $1`,
    [workspaceId, 'token_budget' in l, l.token_budget ?? null, 'rate_limit_per_minute' in l, l.rate_limit_per_minute ?? null, 'max_active_runs' in l, l.max_active_runs ?? null],
  );
}
