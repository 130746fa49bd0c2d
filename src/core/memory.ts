// Memory as a run uses it (API.md 11), also the API's entries and search: a store with an embedding card
// embeds each entry when it is written and each query when it is searched (the card's OpenAI-wire
// /embeddings, through the private-network guard, the key decrypted only for the call); the ranking is
// cosine similarity, with pgvector where it is installed. A store without one ranks by PostgreSQL full
// text, and entries that do not match are not returned. Stores and their listing are src/services/memory.ts.
import { transaction, type Queryable } from '../db/pool';
import { getModelCard } from '../db/model-cards';
import * as repo from '../db/memory';
import { newId } from '../db/ids';
import { cell } from '../db/secret-cells';
import { isoDate } from '../domain/common';
import { PlatformError, notFound } from '../domain/errors';
import { MAX_STORE_ENTRIES, memoryTools, type AgentMemory, type MemoryEntryCreate, type MemorySearch } from '../domain/memory';
import type { ToolSpec } from '../domain/tool';
import { embedOpenAI } from '../providers/embeddings';
import { ProviderError } from '../providers/types';
import { PrivateNetworkError, sharedGuardedFetch } from '../security/network-guard';
import type { CoreDeps } from './deps';

/** What memory needs: the API passes its ServiceDeps, the tool activity its ActivityDeps. */
export type MemoryDeps = CoreDeps;

const EMBEDDING_TIMEOUT_MS = 30_000;
/** How long a pgvector check holds: an operator who installs the extension sees it used within a minute. */
const PGVECTOR_CHECK_MS = 60_000;

export const entryView = (e: repo.MemoryEntryRow) => ({
  id: e.id,
  object: 'memory_entry' as const,
  store_id: e.store_id,
  text: e.text,
  metadata: e.metadata,
  run_id: e.run_id,
  tool_call_id: e.tool_call_id,
  created_at: isoDate(e.created_at),
});

// ---------- entries and search

/**
 * Embeds (outside any transaction: the provider may be slow), then stores under the store's lock, so the
 * entry cap holds between concurrent writes and a store deleted meanwhile takes no entry. A run's entry
 * is keyed by its tool call: a retried `memory_write` returns the entry stored the first time.
 */
export async function writeEntry(deps: MemoryDeps, ws: string, store: repo.MemoryStoreRow, b: MemoryEntryCreate, source?: { run_id: string; tool_call_id: string }, signal?: AbortSignal) {
  const embedding = store.embedding_card ? await embed(deps, ws, store, b.text, signal) : null;
  const row = await transaction(deps.db, async (c) => {
    if (!(await repo.findStore(c, ws, store.id, true))) throw notFound('memory store', 'id');
    if ((await repo.countEntries(c, store.id)) >= MAX_STORE_ENTRIES) {
      throw new PlatformError('memory_store_full', `Memory store ${store.name} holds ${MAX_STORE_ENTRIES} entries, its limit; delete some first`, 'id');
    }
    return repo.insertEntry(c, { id: newId('mement'), workspace_id: ws, store_id: store.id, text: b.text, metadata: b.metadata ?? {}, embedding, ...source });
  });
  return entryView(row);
}

export type SearchMode = 'semantic' | 'full_text';

export async function searchStore(deps: MemoryDeps, ws: string, store: repo.MemoryStoreRow, b: MemorySearch, signal?: AbortSignal) {
  let rows: repo.ScoredEntryRow[];
  let mode: SearchMode;
  if (store.embedding_card) {
    const vector = await embed(deps, ws, store, b.query, signal);
    rows = await repo.searchByVector(deps.db, store.id, vector, b.limit, await pgvectorInstalled(deps.db));
    mode = 'semantic';
  } else {
    rows = await repo.searchFullText(deps.db, store.id, b.query, b.limit);
    mode = 'full_text';
  }
  return { object: 'list' as const, mode, data: rows.map((r) => ({ ...entryView(r), score: Number(r.score) })), has_more: false, next_cursor: null };
}

const pgvectorChecks = new WeakMap<Queryable, { at: number; installed: Promise<boolean> }>();

/** Checked in the database (pg_available_extensions), remembered for a minute per pool. */
function pgvectorInstalled(db: Queryable): Promise<boolean> {
  const hit = pgvectorChecks.get(db);
  if (hit && Date.now() - hit.at < PGVECTOR_CHECK_MS) return hit.installed;
  const installed = repo.pgvectorInstalled(db);
  pgvectorChecks.set(db, { at: Date.now(), installed });
  installed.catch(() => pgvectorChecks.delete(db));
  return installed;
}

// ---------- embeddings

/**
 * One text's vector from the store's card. The card's key and headers are decrypted for this call only;
 * error messages name the card and the HTTP status, never what the provider sent back.
 */
async function embed(deps: MemoryDeps, ws: string, store: repo.MemoryStoreRow, text: string, signal?: AbortSignal): Promise<number[]> {
  const card = await getModelCard(deps.db, ws, store.embedding_card!);
  if (!card) throw new PlatformError('embedding_card_missing', `Model card ${store.embedding_card} of memory store ${store.name} no longer exists`, 'embedding.card');
  const endpoint = {
    base_url: card.base_url,
    api_key: deps.secrets.decrypt(card.api_key_enc, cell.modelCard(card, 'api_key')),
    headers: card.headers_enc ? (JSON.parse(deps.secrets.decrypt(card.headers_enc, cell.modelCard(card, 'headers'))) as Record<string, string>) : {},
    fetch: sharedGuardedFetch(deps.config.allowPrivateNetwork),
  };
  const timeout = AbortSignal.timeout(EMBEDDING_TIMEOUT_MS);
  try {
    return await embedOpenAI(endpoint, store.embedding_model!, text, signal ? AbortSignal.any([signal, timeout]) : timeout);
  } catch (err) {
    if (signal?.aborted) throw err;
    const why = err instanceof ProviderError ? { status: err.status ?? null, retryable: err.retryable } : { name: (err as Error)?.name };
    deps.log.warn({ workspace_id: ws, store_id: store.id, card: card.id, ...why }, 'embedding call failed');
    if (err instanceof PrivateNetworkError) throw new PlatformError('private_network_blocked', err.message, 'embedding.card');
    if (!(err instanceof ProviderError)) throw err;
    const message = `Embedding with model card ${card.id} failed: ${err.message}`;
    if (err.retryable) throw new PlatformError('embedding_unavailable', message, undefined, { 'Retry-After': '5' });
    throw new PlatformError('embedding_failed', message, 'embedding');
  }
}

// ---------- runs

/** The memory tools a run offers: none without `memory` or when the store was deleted since. */
export async function memoryToolsFor(db: Queryable, ws: string, memory: AgentMemory | null | undefined): Promise<ToolSpec[]> {
  if (!memory) return [];
  const store = await repo.findStore(db, ws, memory.store);
  return store ? memoryTools(store.name, memory.write === true) : [];
}
