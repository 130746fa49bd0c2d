// Model cards: a provider's endpoint, its encrypted key and headers, the default model and pricing;
// and what still uses a card, which a delete must check first.
import type { Provider } from '../domain/model-card';
import type { Queryable } from './pool';

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
