// /v1/memory_stores (API.md 11): stores are definitions (admin writes; developers and auditors read, like
// environments and skills); entries are content that developers may also write and delete; search is a read.
import type { Router } from 'express';
import { listQuerySchema } from '../../domain/common';
import { MAX_ENTRY_TEXT_BYTES, MAX_SEARCH_LIMIT, MAX_STORE_ENTRIES, memoryEntryCreateSchema, memorySearchSchema, memoryStoreCreateSchema } from '../../domain/memory';
import * as svc from '../../services/memory';
import type { ServiceDeps } from '../../services/deps';
import { ADMIN_ONLY, defineRoutes, READ_DEFINITIONS, type RouteDoc } from '../route';

const WRITE_ENTRIES = ['developer' as const];

export function memoryRoutes(deps: ServiceDeps, registry: RouteDoc[]): Router {
  const r = defineRoutes(registry);
  r.post(
    '/memory_stores',
    {
      audit: 'memory_store.create',
      roles: ADMIN_ONLY,
      body: memoryStoreCreateSchema,
      status: 201,
      summary: 'Create a memory store; with `embedding` (an OpenAI-wire model card of the workspace and its embedding model) search is semantic, without it full text. 409 already_exists for a taken name',
    },
    ({ p, body }) => svc.createStore(deps, p, body),
  );
  r.get('/memory_stores', { roles: READ_DEFINITIONS, query: listQuerySchema, summary: 'Memory stores, in creation order' }, ({ p, query }) => svc.listStores(deps, p, query));
  r.get('/memory_stores/:id', { roles: READ_DEFINITIONS, summary: 'A memory store by id or name' }, ({ p, params }) => svc.getStore(deps, p, params.id!));
  r.delete('/memory_stores/:id', { audit: 'memory_store.delete', roles: ADMIN_ONLY, summary: 'Deletes a memory store and all its entries' }, ({ p, params }) => svc.deleteStore(deps, p, params.id!));

  r.post(
    '/memory_stores/:id/entries',
    {
      audit: 'memory_entry.create',
      roles: WRITE_ENTRIES,
      body: memoryEntryCreateSchema,
      status: 201,
      summary: `Add an entry: text of at most ${MAX_ENTRY_TEXT_BYTES} bytes (32 KiB) of UTF-8, metadata of at most 50 keys and 16 KiB; a store holds at most ${MAX_STORE_ENTRIES} entries (409 memory_store_full). A semantic store embeds the text now: 503 embedding_unavailable (Retry-After) when the provider is down, and nothing is stored`,
    },
    ({ p, params, body }) => svc.addEntry(deps, p, params.id!, body),
  );
  r.get('/memory_stores/:id/entries', { roles: READ_DEFINITIONS, query: listQuerySchema, summary: "A store's entries, newest first" }, ({ p, params, query }) => svc.listEntries(deps, p, params.id!, query));
  r.delete('/memory_stores/:id/entries/:entry_id', { audit: 'memory_entry.delete', roles: WRITE_ENTRIES }, ({ p, params }) => svc.deleteEntry(deps, p, params.id!, params.entry_id!));
  r.post(
    '/memory_stores/:id/search',
    {
      roles: READ_DEFINITIONS,
      body: memorySearchSchema,
      summary: `Entries with a score, best first (limit 1-${MAX_SEARCH_LIMIT}, default 10): cosine similarity of embeddings for a semantic store (mode "semantic"), ts_rank for full text (mode "full_text", only matching entries)`,
    },
    ({ p, params, body }) => svc.search(deps, p, params.id!, body),
  );
  return r.router;
}
