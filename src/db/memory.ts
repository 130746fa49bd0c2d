// Memory stores and entries (migration 0012), and the three rankings: pgvector, cosine in SQL, full text.
import type { Queryable } from './pool';

export interface MemoryStoreRow {
  id: string;
  workspace_id: string;
  name: string;
  embedding_card: string | null;
  embedding_model: string | null;
  created_at: Date;
}

export interface MemoryEntryRow {
  id: string;
  store_id: string;
  text: string;
  metadata: Record<string, unknown>;
  run_id: string | null;
  tool_call_id: string | null;
  created_at: Date;
}

export type ScoredEntryRow = MemoryEntryRow & { score: number };

export interface NewEntry {
  id: string;
  workspace_id: string;
  store_id: string;
  text: string;
  metadata: Record<string, unknown>;
  embedding: number[] | null;
  run_id?: string;
  tool_call_id?: string;
}

/** Everything but the vector and the tsvector, which never leave the database. */
const ENTRY_COLUMNS = 'e.id, e.store_id, e.text, e.metadata, e.run_id, e.tool_call_id, e.created_at';

/** Undefined when the name is taken in the workspace (the unique key decides, also between concurrent creates). */
export async function insertStore(q: Queryable, s: Omit<MemoryStoreRow, 'created_at'>): Promise<MemoryStoreRow | undefined> {
  return (
    await q.query<MemoryStoreRow>(
      'INSERT INTO memory_stores (id, workspace_id, name, embedding_card, embedding_model) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING *',
      [s.id, s.workspace_id, s.name, s.embedding_card, s.embedding_model],
    )
  ).rows[0];
}

/** By id or by name, like environments. */
export async function findStore(q: Queryable, ws: string, idOrName: string, forUpdate = false): Promise<MemoryStoreRow | undefined> {
  return (
    await q.query<MemoryStoreRow>(
      `SELECT * FROM memory_stores WHERE workspace_id = $1 AND (id = $2 OR name = $2) ORDER BY id = $2 DESC LIMIT 1${forUpdate ? ' FOR UPDATE' : ''}`,
      [ws, idOrName],
    )
  ).rows[0];
}

export async function listStores(q: Queryable, ws: string, limit: number, after?: string): Promise<MemoryStoreRow[]> {
  return (
    await q.query<MemoryStoreRow>('SELECT * FROM memory_stores WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3', [ws, after ?? null, limit + 1])
  ).rows;
}

/** Its entries go with it (ON DELETE CASCADE). */
export async function deleteStore(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM memory_stores WHERE id = $1', [id]);
}

export async function countEntries(q: Queryable, storeId: string): Promise<number> {
  return (await q.query<{ n: number }>('SELECT count(*)::int AS n FROM memory_entries WHERE store_id = $1', [storeId])).rows[0]!.n;
}

/** A tool call's entry is stored once: a retry gets the entry stored the first time. */
export async function insertEntry(q: Queryable, e: NewEntry): Promise<MemoryEntryRow> {
  const inserted = (
    await q.query<MemoryEntryRow>(
      `INSERT INTO memory_entries AS e (id, workspace_id, store_id, text, metadata, embedding, run_id, tool_call_id)
       VALUES ($1, $2, $3, $4, $5, $6::real[], $7, $8) ON CONFLICT (store_id, tool_call_id) DO NOTHING RETURNING ${ENTRY_COLUMNS}`,
      [e.id, e.workspace_id, e.store_id, e.text, JSON.stringify(e.metadata), e.embedding, e.run_id ?? null, e.tool_call_id ?? null],
    )
  ).rows[0];
  if (inserted) return inserted;
  return (await q.query<MemoryEntryRow>(`SELECT ${ENTRY_COLUMNS} FROM memory_entries e WHERE e.store_id = $1 AND e.tool_call_id = $2`, [e.store_id, e.tool_call_id])).rows[0]!;
}

/** Newest first; `after` is the last id of the previous page. */
export async function listEntries(q: Queryable, storeId: string, limit: number, after?: string): Promise<MemoryEntryRow[]> {
  return (
    await q.query<MemoryEntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM memory_entries e WHERE e.store_id = $1 AND ($2::text IS NULL OR e.id < $2) ORDER BY e.id DESC LIMIT $3`,
      [storeId, after ?? null, limit + 1],
    )
  ).rows;
}

export async function deleteEntry(q: Queryable, storeId: string, entryId: string): Promise<boolean> {
  return ((await q.query('DELETE FROM memory_entries WHERE store_id = $1 AND id = $2', [storeId, entryId])).rowCount ?? 0) > 0;
}

/** Entries whose text matches the query (websearch syntax, English stemming), by ts_rank; ties newest first. */
export async function searchFullText(q: Queryable, storeId: string, query: string, limit: number): Promise<ScoredEntryRow[]> {
  return (
    await q.query<ScoredEntryRow>(
      `SELECT ${ENTRY_COLUMNS}, ts_rank(e.tsv, query)::float8 AS score
         FROM memory_entries e, websearch_to_tsquery('english', $2) AS query
        WHERE e.store_id = $1 AND e.tsv @@ query
        ORDER BY score DESC, e.id DESC LIMIT $3`,
      [storeId, query, limit],
    )
  ).rows;
}

/**
 * Entries by cosine similarity to `vector`, exact, best first. Only entries of the same dimension are
 * compared (a store's model gives one; this keeps a stray one from failing the query).
 */
export async function searchByVector(q: Queryable, storeId: string, vector: number[], limit: number, pgvector: boolean): Promise<ScoredEntryRow[]> {
  const sql = pgvector
    ? `SELECT ${ENTRY_COLUMNS}, (1 - (e.embedding::vector <=> $2::real[]::vector))::float8 AS score
         FROM memory_entries e
        WHERE e.store_id = $1 AND cardinality(e.embedding) = cardinality($2::real[])
        ORDER BY e.embedding::vector <=> $2::real[]::vector, e.id DESC LIMIT $3`
    : `SELECT ${ENTRY_COLUMNS}, s.score
         FROM memory_entries e
        CROSS JOIN LATERAL (
          SELECT sum(x * y) / NULLIF(sqrt(sum(x * x)) * sqrt(sum(y * y)), 0) AS score
            FROM unnest(e.embedding::float8[], $2::float8[]) AS t(x, y)
        ) s
        WHERE e.store_id = $1 AND cardinality(e.embedding) = cardinality($2::float8[])
        ORDER BY s.score DESC NULLS LAST, e.id DESC LIMIT $3`;
  return (await q.query<ScoredEntryRow>(sql, [storeId, vector, limit])).rows;
}

/** Whether the `vector` extension is installed in this database (the migration creates it where it can). */
export async function pgvectorInstalled(q: Queryable): Promise<boolean> {
  return (await q.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector' AND installed_version IS NOT NULL")).rowCount! > 0;
}

/** The store a run's agent version names in `memory`, with its `write` flag; undefined without one (or when it is gone). */
export async function storeOfRun(q: Queryable, ws: string, runId: string): Promise<{ store: MemoryStoreRow; write: boolean } | undefined> {
  const row = (
    await q.query<MemoryStoreRow & { write: boolean | null }>(
      `SELECT m.*, (v.spec->'memory'->>'write')::boolean AS write
         FROM runs r
         JOIN agent_versions v ON v.agent_id = r.agent_id AND v.version = r.agent_version
         JOIN memory_stores m ON m.workspace_id = r.workspace_id AND (m.id = v.spec->'memory'->>'store' OR m.name = v.spec->'memory'->>'store')
        WHERE r.id = $1 AND r.workspace_id = $2
        ORDER BY m.id = v.spec->'memory'->>'store' DESC LIMIT 1`,
      [runId, ws],
    )
  ).rows[0];
  if (!row) return undefined;
  const { write, ...store } = row;
  return { store, write: write === true };
}
