// Dashboard sign-in sessions (migration 0021): looked up by the hash of the cookie's opaque id.
import type { Queryable } from './pool';
import type { KeyPrincipalRow } from './workspaces';

/** Also drops the key's sessions that ended over a day ago, so that the table does not grow with sign-ins. */
export async function insertSession(q: Queryable, s: { id_hash: string; workspace_id: string; key_id: string; expires_at: Date }): Promise<void> {
  await q.query(`DELETE FROM dashboard_sessions WHERE key_id = $1 AND LEAST(expires_at, COALESCE(revoked_at, expires_at)) < now() - interval '1 day'`, [s.key_id]);
  await q.query('INSERT INTO dashboard_sessions (id_hash, workspace_id, key_id, expires_at) VALUES ($1, $2, $3, $4)', [s.id_hash, s.workspace_id, s.key_id, s.expires_at]);
}

/** The key a live session acts for: none once the session expired or was revoked, or its key was revoked. */
export async function sessionKey(q: Queryable, idHash: string): Promise<KeyPrincipalRow | undefined> {
  return (
    await q.query<KeyPrincipalRow>(
      `SELECT k.id, k.workspace_id, k.name, k.roles, k.prefix, k.created_at, k.last_used_at, k.revoked_at, w.name AS workspace_name
         FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id JOIN workspaces w ON w.id = k.workspace_id
        WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND k.revoked_at IS NULL`,
      [idHash],
    )
  ).rows[0];
}

export async function revokeSession(q: Queryable, idHash: string): Promise<void> {
  await q.query('UPDATE dashboard_sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL', [idHash]);
}
