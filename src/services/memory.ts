// Memory stores (API.md 11): stores, entries and search for the API. Writing, searching and embedding,
// which the memory tools of a run use too, are src/core/memory.ts.
import { transaction, type Queryable } from '../db/pool';
import { getModelCard } from '../db/model-cards';
import * as repo from '../db/memory';
import { newId } from '../db/ids';
import { isoDate, type ListQuery } from '../domain/common';
import { PlatformError, notFound, validationFailed } from '../domain/errors';
import type { AgentMemory, MemoryEntryCreate, MemorySearch, MemoryStoreCreate } from '../domain/memory';
import type { Principal } from '../domain/workspace';
import { entryView, searchStore, writeEntry, type MemoryDeps } from '../core/memory';
import { page } from './deps';

export const storeView = (s: repo.MemoryStoreRow) => ({
  id: s.id,
  object: 'memory_store' as const,
  name: s.name,
  embedding: s.embedding_card ? { card: s.embedding_card, model: s.embedding_model! } : null,
  created_at: isoDate(s.created_at),
});

// ---------- stores

export async function createStore(deps: MemoryDeps, p: Principal, b: MemoryStoreCreate) {
  return transaction(deps.db, async (c) => {
    if (b.embedding) {
      // Locked for share: a delete of the card under way is waited for, or waits and then sees this store.
      const card = await getModelCard(c, p.workspace_id, b.embedding.card, 'share');
      if (!card) throw validationFailed(`Model card ${b.embedding.card} does not exist`, 'embedding.card');
      if (card.provider !== 'openai') throw validationFailed(`Model card ${card.id} is not an OpenAI-wire card (provider openai): embeddings use POST /embeddings`, 'embedding.card');
    }
    const row = await repo.insertStore(c, {
      id: newId('mem'),
      workspace_id: p.workspace_id,
      name: b.name,
      embedding_card: b.embedding?.card ?? null,
      embedding_model: b.embedding?.model ?? null,
    });
    if (!row) throw new PlatformError('already_exists', `Memory store ${b.name} already exists`, 'name');
    return storeView(row);
  });
}

/** The store by id or name; `not_found` with `param` for the request field. */
export async function resolveStore(db: Queryable, ws: string, idOrName: string, param = 'id'): Promise<repo.MemoryStoreRow> {
  const row = await repo.findStore(db, ws, idOrName);
  if (!row) throw notFound('memory store', param);
  return row;
}

export const getStore = async (deps: MemoryDeps, p: Principal, idOrName: string) => storeView(await resolveStore(deps.db, p.workspace_id, idOrName));

export async function listStores(deps: MemoryDeps, p: Principal, q: ListQuery) {
  const pg = page(await repo.listStores(deps.db, p.workspace_id, q.limit, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(storeView) };
}

/** Removes the store and its entries; agents that name it lose their memory tools from their next run on. */
export async function deleteStore(deps: MemoryDeps, p: Principal, idOrName: string) {
  const row = await resolveStore(deps.db, p.workspace_id, idOrName);
  await repo.deleteStore(deps.db, row.id);
  return { id: row.id, object: 'memory_store' as const, deleted: true };
}

// ---------- entries

export async function addEntry(deps: MemoryDeps, p: Principal, idOrName: string, b: MemoryEntryCreate) {
  return writeEntry(deps, p.workspace_id, await resolveStore(deps.db, p.workspace_id, idOrName), b);
}

export async function listEntries(deps: MemoryDeps, p: Principal, idOrName: string, q: ListQuery) {
  const store = await resolveStore(deps.db, p.workspace_id, idOrName);
  const pg = page(await repo.listEntries(deps.db, store.id, q.limit, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(entryView) };
}

export async function deleteEntry(deps: MemoryDeps, p: Principal, idOrName: string, entryId: string) {
  const store = await resolveStore(deps.db, p.workspace_id, idOrName);
  if (!(await repo.deleteEntry(deps.db, store.id, entryId))) throw notFound('memory entry', 'entry_id');
  return { id: entryId, object: 'memory_entry' as const, deleted: true };
}

// ---------- search

export async function search(deps: MemoryDeps, p: Principal, idOrName: string, b: MemorySearch) {
  return searchStore(deps, p.workspace_id, await resolveStore(deps.db, p.workspace_id, idOrName), b);
}

// ---------- agents and runs

/** For agent validation (agents.ts): the store an agent names must exist in the workspace. */
export async function memoryStoreExists(db: Queryable, ws: string, memory: AgentMemory): Promise<boolean> {
  return (await repo.findStore(db, ws, memory.store)) !== undefined;
}

