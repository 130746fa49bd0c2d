// Budgets and rate limits: a request rate per API key and per workspace (fixed one-minute windows in
// PostgreSQL, so every API process counts together), a cap on the long-lived requests one key holds
// open (per API process), a per-workspace cap on active runs, and a per-workspace monthly token budget
// (counted in src/core/budgets.ts, which a run's context reads too).
import type { Config } from '../config';
import type { Db, Queryable } from '../db/pool';
import { PlatformError } from '../domain/errors';
import { limitsOf, remainingTokens } from '../core/budgets';

/**
 * Counts the request in its key's window and in its workspace's (an admin could otherwise multiply the
 * rate by minting keys). The operator's `rate_limit_per_minute` for a workspace bounds the workspace as
 * a whole, and so each of its keys; without it a key gets AP_RATE_LIMIT_PER_MINUTE and the workspace
 * AP_WORKSPACE_RATE_LIMIT_PER_MINUTE. Workspace windows share the table, under `ws:<id>`.
 */
export async function checkRate(db: Db, config: Config, workspaceId: string, keyId: string): Promise<void> {
  // One statement, the key's row before the workspace's in every request: no lock-order deadlock.
  const r = await db.query<{ key_id: string; count: number; limit: number | null; retry: number }>(
    `WITH w AS (
       INSERT INTO rate_limit_windows (key_id, window_start, count)
       VALUES ($1, date_trunc('minute', now()), 1), ($3, date_trunc('minute', now()), 1)
       ON CONFLICT (key_id, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
       RETURNING key_id, count, window_start)
     SELECT w.key_id, w.count, (SELECT rate_limit_per_minute FROM workspaces WHERE id = $2) AS limit,
            CEIL(EXTRACT(EPOCH FROM (w.window_start + interval '1 minute' - now())))::int AS retry FROM w`,
    [keyId, workspaceId, `ws:${workspaceId}`],
  );
  const key = r.rows.find((x) => x.key_id === keyId)!;
  const ws = r.rows.find((x) => x.key_id !== keyId)!;
  const retryAfter = (row: { retry: number }) => ({ 'Retry-After': String(Math.max(1, row.retry)) });
  const keyLimit = key.limit ?? config.limits.ratePerMinute;
  if (key.count > keyLimit) {
    throw new PlatformError('rate_limited', `This API key is limited to ${keyLimit} requests per minute`, undefined, retryAfter(key));
  }
  const wsLimit = ws.limit ?? config.limits.workspaceRatePerMinute;
  if (ws.count > wsLimit) {
    throw new PlatformError('rate_limited', `This workspace is limited to ${wsLimit} requests per minute, all its API keys together`, undefined, retryAfter(ws));
  }
  // Old windows are dropped now and then; no job is needed.
  const fresh = [key, ws].filter((x) => x.count === 1).map((x) => x.key_id);
  if (fresh.length) await db.query(`DELETE FROM rate_limit_windows WHERE key_id = ANY($1) AND window_start < now() - interval '5 minutes'`, [fresh]);
}

/**
 * Requests one key may hold open at once in this process (in memory, released when the response closes),
 * not across processes: a client spread over N processes can hold N × cap. Used for long-lived requests
 * (SSE streams, `wait: true`, chat completions: each holds a socket, a database subscription and a slot
 * until its run ends) and for uploads (each holds a body being read). Past the cap: `rate_limited` with Retry-After.
 */
export class KeySlots {
  private readonly held = new Map<string, number>();
  constructor(
    private readonly cap: number,
    /** The refusal's message: what the key already holds. */
    private readonly refusal: (cap: number) => string,
  ) {}

  /** Takes a slot for the key, or throws `rate_limited`; the returned function gives it back (once). */
  acquire(keyId: string): () => void {
    const n = this.held.get(keyId) ?? 0;
    if (n >= this.cap) throw new PlatformError('rate_limited', this.refusal(this.cap), undefined, { 'Retry-After': '5' });
    this.held.set(keyId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(keyId) ?? 1) - 1;
      if (left > 0) this.held.set(keyId, left);
      else this.held.delete(keyId);
    };
  }
}

export const longRequestSlots = (cap: number): KeySlots =>
  new KeySlots(cap, (n) => `This API key already holds ${n} long-lived requests (event streams, wait: true, chat completions) open on this server; retry when one has ended`);

/**
 * Checked before a run's create transaction: `budget_exceeded` when the monthly token budget is used up. Not
 * serialised with other creates (tokens are spent by runs later, so a lock here bought nothing), and
 * outside the transaction so that no pooled connection waits in it. Returns the active-run cap.
 */
/** The create's admission: 402 when the budget is used up; the cap, and what remains (null: no budget). */
export async function checkRunBudget(q: Queryable, config: Config, workspaceId: string): Promise<{ max_active_runs: number; tokens_remaining: number | null }> {
  const l = await limitsOf(q, workspaceId);
  const remaining = await remainingTokens(q, config, workspaceId, l);
  if (remaining !== undefined && remaining <= 0) {
    throw new PlatformError('budget_exceeded', "The workspace's monthly token budget is used up");
  }
  return { max_active_runs: l.max_active_runs ?? config.limits.maxActiveRuns, tokens_remaining: remaining ?? null };
}

/** The create's refusal at the cap (its commit refuses: src/db/runs.ts insertRun). */
export const tooManyActiveRuns = (cap: number): PlatformError =>
  new PlatformError('too_many_active_runs', `The workspace already has ${cap} active runs`, undefined, { 'Retry-After': '5' });

export async function setWorkspaceLimits(db: Db, workspaceId: string, l: { token_budget?: number | null; rate_limit_per_minute?: number | null; max_active_runs?: number | null }) {
  await db.query(
    `UPDATE workspaces SET token_budget = CASE WHEN $2 THEN $3::bigint ELSE token_budget END,
            rate_limit_per_minute = CASE WHEN $4 THEN $5::int ELSE rate_limit_per_minute END,
            max_active_runs = CASE WHEN $6 THEN $7::int ELSE max_active_runs END WHERE id = $1`,
    [workspaceId, 'token_budget' in l, l.token_budget ?? null, 'rate_limit_per_minute' in l, l.rate_limit_per_minute ?? null, 'max_active_runs' in l, l.max_active_runs ?? null],
  );
}
