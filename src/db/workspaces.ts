// Workspaces and API keys.
import type { Queryable } from './pool';
import type { Role } from '../domain/workspace';

export interface WorkspaceRow {
  id: string;
  name: string;
  is_default: boolean;
  token_budget: string | null;
  rate_limit_per_minute: number | null;
  max_active_runs: number | null;
  created_at: Date;
}

export interface ApiKeyRow {
  id: string;
  workspace_id: string;
  name: string;
  roles: Role[];
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export async function insertWorkspace(q: Queryable, id: string, name: string, isDefault: boolean): Promise<WorkspaceRow> {
  const r = await q.query<WorkspaceRow>(
    'INSERT INTO workspaces (id, name, is_default) VALUES ($1, $2, $3) RETURNING *',
    [id, name, isDefault],
  );
  return r.rows[0]!;
}

export async function getWorkspace(q: Queryable, id: string): Promise<WorkspaceRow | undefined> {
  return (await q.query<WorkspaceRow>('SELECT * FROM workspaces WHERE id = $1', [id])).rows[0];
}

export async function getDefaultWorkspace(q: Queryable): Promise<WorkspaceRow | undefined> {
  return (await q.query<WorkspaceRow>('SELECT * FROM workspaces WHERE is_default')).rows[0];
}

export async function insertApiKey(
  q: Queryable,
  row: { id: string; workspace_id: string; name: string; roles: Role[]; key_hash: string; prefix: string },
): Promise<ApiKeyRow> {
  const r = await q.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, workspace_id, name, roles, key_hash, prefix) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, workspace_id, name, roles, prefix, created_at, last_used_at, revoked_at`,
    [row.id, row.workspace_id, row.name, row.roles, row.key_hash, row.prefix],
  );
  return r.rows[0]!;
}

export interface KeyPrincipalRow extends ApiKeyRow {
  workspace_name: string;
}

/** Finds an active key by hash and stamps last_used_at (at most once a minute, to spare writes). */
export async function authenticateKey(q: Queryable, keyHash: string): Promise<KeyPrincipalRow | undefined> {
  const r = await q.query<KeyPrincipalRow>(
    `SELECT k.id, k.workspace_id, k.name, k.roles, k.prefix, k.created_at, k.last_used_at, k.revoked_at, w.name AS workspace_name
       FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
      WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
    [keyHash],
  );
  const row = r.rows[0];
  if (row && (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000)) {
    await q.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [row.id]);
  }
  return row;
}

export async function listApiKeys(q: Queryable, workspaceId: string, limit: number, after?: string): Promise<ApiKeyRow[]> {
  const r = await q.query<ApiKeyRow>(
    `SELECT id, workspace_id, name, roles, prefix, created_at, last_used_at, revoked_at FROM api_keys
      WHERE workspace_id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [workspaceId, after ?? null, limit + 1],
  );
  return r.rows;
}

export async function revokeApiKey(q: Queryable, workspaceId: string, id: string): Promise<boolean> {
  const r = await q.query('UPDATE api_keys SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL', [
    workspaceId,
    id,
  ]);
  return (r.rowCount ?? 0) > 0;
}
