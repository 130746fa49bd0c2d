// Model cards, agents (with versions), tools and vault secrets: the definitions runs are made of.
import type { Provider } from '../domain/model-card';
import type { Queryable } from './pool';
import type { ModelRef } from '../domain/agent';

export interface ModelCardRow {
  workspace_id: string;
  id: string;
  provider: Provider;
  base_url: string;
  api_key_enc: string;
  api_key_preview: string;
  headers_enc: string | null;
  default_model: string;
  pricing: { input_per_mtok: number; output_per_mtok: number } | null;
  /** Seconds the provider has to start answering (its response headers); null = no bound of ours. */
  timeout_seconds: number | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * lock: 'update' for the card's own writes (a delete checks its users under it); 'share' for a
 * transaction that makes something use the card, so that a delete waits for it and then sees the user.
 */
export async function getModelCard(q: Queryable, ws: string, id: string, lock?: 'update' | 'share'): Promise<ModelCardRow | undefined> {
  const clause = lock === 'update' ? ' FOR UPDATE' : lock === 'share' ? ' FOR SHARE' : '';
  return (await q.query<ModelCardRow>(`SELECT * FROM model_cards WHERE workspace_id = $1 AND id = $2${clause}`, [ws, id])).rows[0];
}

export async function listModelCards(q: Queryable, ws: string, limit: number, after?: string): Promise<ModelCardRow[]> {
  return (
    await q.query<ModelCardRow>(
      'SELECT * FROM model_cards WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3',
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

export async function insertModelCard(q: Queryable, r: Omit<ModelCardRow, 'created_at' | 'updated_at'>): Promise<ModelCardRow | undefined> {
  const res = await q.query<ModelCardRow>(
    `INSERT INTO model_cards (workspace_id, id, provider, base_url, api_key_enc, api_key_preview, headers_enc, default_model, pricing, timeout_seconds)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING *`,
    [r.workspace_id, r.id, r.provider, r.base_url, r.api_key_enc, r.api_key_preview, r.headers_enc, r.default_model, r.pricing, r.timeout_seconds],
  );
  return res.rows[0];
}

export async function updateModelCard(q: Queryable, r: Omit<ModelCardRow, 'created_at' | 'updated_at'>): Promise<ModelCardRow> {
  const res = await q.query<ModelCardRow>(
    `UPDATE model_cards SET base_url = $3, api_key_enc = $4, api_key_preview = $5, headers_enc = $6, default_model = $7,
            pricing = $8, timeout_seconds = $9, updated_at = now() WHERE workspace_id = $1 AND id = $2 RETURNING *`,
    [r.workspace_id, r.id, r.base_url, r.api_key_enc, r.api_key_preview, r.headers_enc, r.default_model, r.pricing, r.timeout_seconds],
  );
  return res.rows[0]!;
}

/**
 * What would break without a card: agent versions that call it (primary or fallback) and are the current
 * version of an unarchived agent, or pinned by an active run or an open eval (older versions pinned only
 * by idle sessions are not counted), and memory stores that embed with it. Names, a few at most.
 */
export async function modelCardUsers(q: Queryable, ws: string, id: string): Promise<{ agents: string[]; memory_stores: string[] }> {
  const agents = await q.query<{ name: string }>(
    `WITH used AS (
       SELECT a.id AS agent_id, a.current_version AS version FROM agents a WHERE a.workspace_id = $1 AND a.archived_at IS NULL
       UNION SELECT r.agent_id, r.agent_version FROM runs r WHERE r.workspace_id = $1 AND r.status NOT IN ('completed', 'failed', 'canceled')
       UNION SELECT e.agent_id, e.agent_version FROM evals e WHERE e.workspace_id = $1 AND e.status IN ('queued', 'running'))
     SELECT DISTINCT a.name FROM used u JOIN agents a ON a.id = u.agent_id JOIN agent_versions v ON v.agent_id = u.agent_id AND v.version = u.version
      WHERE v.spec->'model'->>'card' = $2
         OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v.spec->'model'->'fallbacks') = 'array' THEN v.spec->'model'->'fallbacks' ELSE '[]'::jsonb END) f
                     WHERE f->>'card' = $2)
      ORDER BY a.name LIMIT 10`,
    [ws, id],
  );
  const stores = await q.query<{ name: string }>('SELECT name FROM memory_stores WHERE workspace_id = $1 AND embedding_card = $2 ORDER BY name LIMIT 10', [ws, id]);
  return { agents: agents.rows.map((r) => r.name), memory_stores: stores.rows.map((r) => r.name) };
}

export async function deleteModelCard(q: Queryable, ws: string, id: string): Promise<boolean> {
  return ((await q.query('DELETE FROM model_cards WHERE workspace_id = $1 AND id = $2', [ws, id])).rowCount ?? 0) > 0;
}

export interface AgentRow {
  id: string;
  workspace_id: string;
  name: string;
  current_version: number;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AgentVersionRow {
  agent_id: string;
  version: number;
  spec: Record<string, unknown>;
  created_at: Date;
}

/** `:id` accepts the id or the name; archived agents are found by id only. */
export async function findAgent(q: Queryable, ws: string, idOrName: string, forUpdate = false): Promise<AgentRow | undefined> {
  const lock = forUpdate ? ' FOR UPDATE' : '';
  return (
    await q.query<AgentRow>(
      `SELECT * FROM agents WHERE workspace_id = $1 AND (id = $2 OR (name = $2 AND archived_at IS NULL))
        ORDER BY archived_at NULLS FIRST LIMIT 1${lock}`,
      [ws, idOrName],
    )
  ).rows[0];
}

export async function listAgents(q: Queryable, ws: string, limit: number, after?: string): Promise<AgentRow[]> {
  return (
    await q.query<AgentRow>(
      `SELECT * FROM agents WHERE workspace_id = $1 AND archived_at IS NULL AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

export async function insertAgent(q: Queryable, id: string, ws: string, name: string): Promise<AgentRow | undefined> {
  return (
    await q.query<AgentRow>(
      'INSERT INTO agents (id, workspace_id, name, current_version) VALUES ($1, $2, $3, 1) ON CONFLICT DO NOTHING RETURNING *',
      [id, ws, name],
    )
  ).rows[0];
}

export async function insertAgentVersion(q: Queryable, agentId: string, version: number, spec: unknown): Promise<AgentVersionRow> {
  return (
    await q.query<AgentVersionRow>('INSERT INTO agent_versions (agent_id, version, spec) VALUES ($1, $2, $3) RETURNING *', [
      agentId,
      version,
      spec,
    ])
  ).rows[0]!;
}

export async function bumpAgentVersion(q: Queryable, agentId: string, version: number): Promise<AgentRow> {
  return (
    await q.query<AgentRow>('UPDATE agents SET current_version = $2, updated_at = now() WHERE id = $1 RETURNING *', [agentId, version])
  ).rows[0]!;
}

export async function archiveAgent(q: Queryable, agentId: string): Promise<void> {
  await q.query('UPDATE agents SET archived_at = now(), updated_at = now() WHERE id = $1', [agentId]);
}

export async function getAgentVersion(q: Queryable, agentId: string, version: number): Promise<AgentVersionRow | undefined> {
  return (await q.query<AgentVersionRow>('SELECT * FROM agent_versions WHERE agent_id = $1 AND version = $2', [agentId, version])).rows[0];
}

/** The `model` of the agent version a run is pinned to (API.md 2, 12); undefined for an unknown run. */
export async function modelOfRun(q: Queryable, runId: string): Promise<ModelRef | undefined> {
  const res = await q.query<{ model: ModelRef | null }>(
    `SELECT v.spec->'model' AS model FROM runs r JOIN agent_versions v ON v.agent_id = r.agent_id AND v.version = r.agent_version WHERE r.id = $1`,
    [runId],
  );
  return res.rows[0]?.model ?? undefined;
}

export async function listAgentVersions(q: Queryable, agentId: string): Promise<AgentVersionRow[]> {
  return (await q.query<AgentVersionRow>('SELECT * FROM agent_versions WHERE agent_id = $1 ORDER BY version DESC', [agentId])).rows;
}

export interface ToolRow {
  id: string;
  workspace_id: string;
  name: string;
  spec: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export async function getTool(q: Queryable, ws: string, name: string): Promise<ToolRow | undefined> {
  return (await q.query<ToolRow>('SELECT * FROM tools WHERE workspace_id = $1 AND name = $2 AND deleted_at IS NULL', [ws, name])).rows[0];
}

export async function getToolsByName(q: Queryable, ws: string, names: string[]): Promise<ToolRow[]> {
  return (
    await q.query<ToolRow>('SELECT * FROM tools WHERE workspace_id = $1 AND name = ANY($2) AND deleted_at IS NULL', [ws, names])
  ).rows;
}

export async function listTools(q: Queryable, ws: string, limit: number, after?: string): Promise<ToolRow[]> {
  return (
    await q.query<ToolRow>(
      'SELECT * FROM tools WHERE workspace_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3',
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

export async function insertTool(q: Queryable, id: string, ws: string, name: string, spec: unknown): Promise<ToolRow | undefined> {
  return (
    await q.query<ToolRow>(
      'INSERT INTO tools (id, workspace_id, name, spec) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *',
      [id, ws, name, spec],
    )
  ).rows[0];
}

export async function updateTool(q: Queryable, id: string, spec: unknown): Promise<ToolRow> {
  return (await q.query<ToolRow>('UPDATE tools SET spec = $2, updated_at = now() WHERE id = $1 RETURNING *', [id, spec])).rows[0]!;
}

export async function deleteTool(q: Queryable, ws: string, name: string): Promise<boolean> {
  const r = await q.query('UPDATE tools SET deleted_at = now() WHERE workspace_id = $1 AND name = $2 AND deleted_at IS NULL', [ws, name]);
  return (r.rowCount ?? 0) > 0;
}

export interface VaultRow {
  id: string;
  workspace_id: string;
  name: string;
  value_enc: string;
  created_at: Date;
  updated_at: Date;
}

export async function getVaultSecrets(q: Queryable, ws: string, names: string[]): Promise<VaultRow[]> {
  return (await q.query<VaultRow>('SELECT * FROM vault_secrets WHERE workspace_id = $1 AND name = ANY($2)', [ws, names])).rows;
}

export async function listVault(q: Queryable, ws: string, limit: number, after?: string): Promise<VaultRow[]> {
  return (
    await q.query<VaultRow>(
      'SELECT * FROM vault_secrets WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3',
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

export async function insertVault(q: Queryable, id: string, ws: string, name: string, valueEnc: string): Promise<VaultRow | undefined> {
  return (
    await q.query<VaultRow>(
      'INSERT INTO vault_secrets (id, workspace_id, name, value_enc) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *',
      [id, ws, name, valueEnc],
    )
  ).rows[0];
}

export async function updateVault(q: Queryable, ws: string, name: string, valueEnc: string): Promise<VaultRow | undefined> {
  return (
    await q.query<VaultRow>(
      'UPDATE vault_secrets SET value_enc = $3, updated_at = now() WHERE workspace_id = $1 AND name = $2 RETURNING *',
      [ws, name, valueEnc],
    )
  ).rows[0];
}

export async function deleteVault(q: Queryable, ws: string, name: string): Promise<boolean> {
  return ((await q.query('DELETE FROM vault_secrets WHERE workspace_id = $1 AND name = $2', [ws, name])).rowCount ?? 0) > 0;
}
