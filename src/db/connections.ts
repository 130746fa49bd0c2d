// OAuth connections, users' tokens (ciphertexts only) and pending authorization states.
import type { Queryable } from './pool';

export interface ConnectionRow {
  workspace_id: string;
  id: string;
  authorize_url: string;
  token_url: string;
  /** RFC 7009; null: revocation only forgets the tokens here. */
  revocation_url: string | null;
  client_id: string;
  client_secret_enc: string;
  scopes: string[];
  created_at: Date;
  updated_at: Date;
}

export interface TokenRow {
  workspace_id: string;
  connection_id: string;
  user_reference: string;
  access_token_enc: string;
  refresh_token_enc: string | null;
  scopes: string[];
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface StateRow {
  state_hash: string;
  workspace_id: string;
  connection_id: string;
  user_reference: string;
  run_id: string;
  tool_call_id: string;
  code_verifier_enc: string;
  scopes: string[];
  created_at: Date;
  expires_at: Date;
  /** When the user's browser opened the link (once); the callback accepts only a started state. */
  started_at: Date | null;
  used_at: Date | null;
}

const json = (v: unknown): string => JSON.stringify(v);

export async function insertConnection(q: Queryable, c: Omit<ConnectionRow, 'created_at' | 'updated_at'>): Promise<ConnectionRow | undefined> {
  return (
    await q.query<ConnectionRow>(
      `INSERT INTO connections (workspace_id, id, authorize_url, token_url, revocation_url, client_id, client_secret_enc, scopes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING *`,
      [c.workspace_id, c.id, c.authorize_url, c.token_url, c.revocation_url, c.client_id, c.client_secret_enc, json(c.scopes)],
    )
  ).rows[0];
}

export async function getConnection(q: Queryable, ws: string, id: string): Promise<ConnectionRow | undefined> {
  return (await q.query<ConnectionRow>('SELECT * FROM connections WHERE workspace_id = $1 AND id = $2', [ws, id])).rows[0];
}

export async function listConnections(q: Queryable, ws: string, limit: number, after?: string): Promise<ConnectionRow[]> {
  return (await q.query<ConnectionRow>('SELECT * FROM connections WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3', [ws, after ?? null, limit + 1])).rows;
}

export async function deleteConnection(q: Queryable, ws: string, id: string): Promise<boolean> {
  return ((await q.query('DELETE FROM connections WHERE workspace_id = $1 AND id = $2', [ws, id])).rowCount ?? 0) > 0;
}

/** Tools of the workspace that declare this connection (`spec.auth.connection`). */
export async function toolsUsing(q: Queryable, ws: string, id: string): Promise<string[]> {
  return (await q.query<{ name: string }>("SELECT name FROM tools WHERE workspace_id = $1 AND spec->'auth'->>'connection' = $2 ORDER BY name", [ws, id])).rows.map((r) => r.name);
}

export async function getToken(q: Queryable, ws: string, connection: string, user: string, forUpdate = false): Promise<TokenRow | undefined> {
  return (
    await q.query<TokenRow>(`SELECT * FROM connection_tokens WHERE workspace_id = $1 AND connection_id = $2 AND user_reference = $3${forUpdate ? ' FOR UPDATE' : ''}`, [ws, connection, user])
  ).rows[0];
}

export async function upsertToken(q: Queryable, t: Pick<TokenRow, 'workspace_id' | 'connection_id' | 'user_reference' | 'access_token_enc' | 'refresh_token_enc' | 'scopes' | 'expires_at'>): Promise<void> {
  await q.query(
    `INSERT INTO connection_tokens (workspace_id, connection_id, user_reference, access_token_enc, refresh_token_enc, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (workspace_id, connection_id, user_reference) DO UPDATE
       SET access_token_enc = EXCLUDED.access_token_enc, refresh_token_enc = EXCLUDED.refresh_token_enc, scopes = EXCLUDED.scopes,
           expires_at = EXCLUDED.expires_at, updated_at = now()`,
    [t.workspace_id, t.connection_id, t.user_reference, t.access_token_enc, t.refresh_token_enc, json(t.scopes), t.expires_at],
  );
}

/** The deleted token's ciphertexts (for a revocation at the provider); undefined when there was none. */
export async function deleteToken(q: Queryable, ws: string, connection: string, user: string): Promise<Pick<TokenRow, 'access_token_enc' | 'refresh_token_enc'> | undefined> {
  return (
    await q.query<Pick<TokenRow, 'access_token_enc' | 'refresh_token_enc'>>(
      'DELETE FROM connection_tokens WHERE workspace_id = $1 AND connection_id = $2 AND user_reference = $3 RETURNING access_token_enc, refresh_token_enc',
      [ws, connection, user],
    )
  ).rows[0];
}

export async function listTokenUsers(q: Queryable, ws: string, connection: string): Promise<Pick<TokenRow, 'user_reference' | 'scopes' | 'expires_at' | 'created_at' | 'updated_at'>[]> {
  return (
    await q.query('SELECT user_reference, scopes, expires_at, created_at, updated_at FROM connection_tokens WHERE workspace_id = $1 AND connection_id = $2 ORDER BY user_reference', [ws, connection])
  ).rows;
}

export async function insertState(q: Queryable, s: Omit<StateRow, 'created_at' | 'started_at' | 'used_at'>): Promise<void> {
  await q.query(
    `INSERT INTO connection_states (state_hash, workspace_id, connection_id, user_reference, run_id, tool_call_id, code_verifier_enc, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [s.state_hash, s.workspace_id, s.connection_id, s.user_reference, s.run_id, s.tool_call_id, s.code_verifier_enc, json(s.scopes), s.expires_at],
  );
}

/** Marks a state started, once: undefined when unknown, for another connection, started, used or expired. */
export async function startState(q: Queryable, stateHash: string, connection: string): Promise<StateRow | undefined> {
  return (
    await q.query<StateRow>(
      'UPDATE connection_states SET started_at = now() WHERE state_hash = $1 AND connection_id = $2 AND started_at IS NULL AND used_at IS NULL AND expires_at > now() RETURNING *',
      [stateHash, connection],
    )
  ).rows[0];
}

/** Takes a started state for its one use: undefined when unknown, for another connection, not started, used or expired. */
export async function consumeState(q: Queryable, stateHash: string, connection: string): Promise<StateRow | undefined> {
  return (
    await q.query<StateRow>(
      'UPDATE connection_states SET used_at = now() WHERE state_hash = $1 AND connection_id = $2 AND started_at IS NOT NULL AND used_at IS NULL AND expires_at > now() RETURNING *',
      [stateHash, connection],
    )
  ).rows[0];
}

/**
 * Runs still waiting for this user's authorization of this connection (their other states are closed:
 * the token now stored serves them all).
 */
export async function closeWaitingStates(q: Queryable, ws: string, connection: string, user: string): Promise<{ run_id: string; workflow_id: string }[]> {
  return (
    await q.query<{ run_id: string; workflow_id: string }>(
      `WITH closed AS (
         UPDATE connection_states SET used_at = now()
          WHERE workspace_id = $1 AND connection_id = $2 AND user_reference = $3 AND used_at IS NULL RETURNING run_id)
       SELECT DISTINCT r.id AS run_id, r.workflow_id FROM runs r WHERE r.id IN (SELECT run_id FROM closed)`,
      [ws, connection, user],
    )
  ).rows;
}

/** What a tool of the workspace declares as `auth` (undefined: no such tool, or none). */
export async function toolAuth(q: Queryable, ws: string, tool: string): Promise<unknown> {
  return (await q.query<{ auth: unknown }>("SELECT spec->'auth' AS auth FROM tools WHERE workspace_id = $1 AND name = $2 AND deleted_at IS NULL", [ws, tool])).rows[0]?.auth ?? undefined;
}
