// Stored answers of read tools (migration 0025): found by workspace and key hash while unexpired.
import type { Queryable } from './pool';

export interface CachedToolResult {
  output: unknown;
  run_id: string;
  tool_call_id: string;
  created_at: Date;
}

export async function getCachedResult(q: Queryable, ws: string, keyHash: string): Promise<CachedToolResult | undefined> {
  return (
    await q.query<CachedToolResult>(
      'SELECT output, run_id, tool_call_id, created_at FROM tool_result_cache WHERE workspace_id = $1 AND key_hash = $2 AND expires_at > now()',
      [ws, keyHash],
    )
  ).rows[0];
}

export interface CacheEntry {
  workspace_id: string;
  key_hash: string;
  tool_name: string;
  run_id: string;
  tool_call_id: string;
  /** The output as JSON text (its size already checked by the caller). */
  output_json: string;
  ttl_seconds: number;
}

/**
 * Stores (or replaces) an answer, and deletes the workspace's expired ones: a cache that is written is
 * also kept small. One statement each, no transaction: a lost cleanup is done by the next store.
 */
export async function storeCachedResult(q: Queryable, e: CacheEntry): Promise<void> {
  await q.query(
    `INSERT INTO tool_result_cache (workspace_id, key_hash, tool_name, run_id, tool_call_id, output, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, now() + make_interval(secs => $7))
     ON CONFLICT (workspace_id, key_hash) DO UPDATE SET tool_name = excluded.tool_name, run_id = excluded.run_id,
       tool_call_id = excluded.tool_call_id, output = excluded.output, created_at = now(), expires_at = excluded.expires_at`,
    [e.workspace_id, e.key_hash, e.tool_name, e.run_id, e.tool_call_id, e.output_json, e.ttl_seconds],
  );
  await q.query('DELETE FROM tool_result_cache WHERE workspace_id = $1 AND expires_at <= now()', [e.workspace_id]);
}

/** The retention purge (services/retention.ts): the answers the purged runs produced, and the expired ones (of the workspace, when one is purged). */
export async function deleteCachedResults(q: Queryable, runIds: string[], ws?: string): Promise<void> {
  await q.query('DELETE FROM tool_result_cache WHERE run_id = ANY($1) OR (expires_at <= now() AND ($2::text IS NULL OR workspace_id = $2))', [runIds, ws ?? null]);
}

/** The end user a run acts for (its session's user_reference, null when none); undefined when the id is not a run's (an action invocation's). */
export async function endUserOfRun(q: Queryable, ws: string, runId: string): Promise<{ user_reference: string | null } | undefined> {
  return (
    await q.query<{ user_reference: string | null }>(
      'SELECT s.user_reference FROM runs r JOIN sessions s ON s.id = r.session_id WHERE r.id = $1 AND r.workspace_id = $2',
      [runId, ws],
    )
  ).rows[0];
}

/** When each vault secret was last written: a rotation makes a new key, without the key ever holding a value. */
export async function vaultWrittenAt(q: Queryable, ws: string, names: string[]): Promise<{ name: string; updated_at: Date }[]> {
  return (await q.query<{ name: string; updated_at: Date }>('SELECT name, updated_at FROM vault_secrets WHERE workspace_id = $1 AND name = ANY($2)', [ws, names])).rows;
}
