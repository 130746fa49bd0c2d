// Workspace tools: the input schema must compile as JSON Schema, an http executor's URL is checked as an
// outbound URL, and a PATCH re-validates the merged tool as a whole.
import type { Db, Queryable } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/tools';
import { getConnection } from '../db/connections';
import { newId } from '../db/ids';
import { alreadyExists, PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import { cacheRefusal, toolCreateSchema, type ToolCreate, type toolUpdateSchema } from '../domain/tool';
import type { Principal } from '../domain/workspace';
import { checkSchema, schemaProblem } from '../core/json-schema';
import { checkOutbound } from './outbound-urls';
import { list } from './deps';
import type { z } from 'zod';
import type { ToolObject } from '../domain/api-objects';

const toolView = (t: repo.ToolRow): ToolObject => ({
  id: t.id,
  object: 'tool' as const,
  name: t.name,
  ...(t.spec as Omit<ToolCreate, 'name'>),
  created_at: isoDate(t.created_at),
  updated_at: isoDate(t.updated_at),
});

export function checkInputSchema(schema: Record<string, unknown>): void {
  const problem = schemaProblem(schema);
  if (problem) throw new PlatformError('validation_failed', `input_schema${problem.path ? `.${problem.path}` : ''} ${problem.message}`, `input_schema${problem.path ? `.${problem.path}` : ''}`);
  try {
    checkSchema(schema);
  } catch (err) {
    throw new PlatformError('validation_failed', `input_schema is not a valid JSON Schema: ${(err as Error).message}`, 'input_schema');
  }
}

/** `auth` (API.md 12): only http tools send a user's token, and the connection must be the workspace's. */
export async function checkAuth(db: Queryable, ws: string, t: Pick<ToolCreate, 'auth' | 'executor'>): Promise<void> {
  if (!t.auth) return;
  if (t.executor.type !== 'http') throw new PlatformError('validation_failed', 'Only http tools can declare auth', 'auth');
  if (!(await getConnection(db, ws, t.auth.connection))) throw new PlatformError('unknown_connection', `Connection ${t.auth.connection} does not exist`, 'auth.connection');
}

/** `cache_ttl_seconds` (API.md 16) only where an answer may be reused (domain/tool.ts cacheRefusal). */
export function checkCacheTtl(t: Pick<ToolCreate, 'cache_ttl_seconds' | 'effect' | 'executor' | 'auth'>): void {
  if (t.cache_ttl_seconds === undefined) return;
  const refusal = cacheRefusal(t);
  if (refusal) throw new PlatformError('validation_failed', refusal, 'cache_ttl_seconds');
}

export async function createTool(db: Db, p: Principal, b: ToolCreate, allowPrivate: boolean) {
  if (b.executor.type === 'http') await checkOutbound(b.executor.url, allowPrivate, 'executor.url');
  checkInputSchema(b.input_schema);
  checkCacheTtl(b);
  await checkAuth(db, p.workspace_id, b);
  const { name, ...spec } = b;
  const row = await repo.insertTool(db, newId('tool'), p.workspace_id, name, spec);
  if (!row) throw alreadyExists(`Tool ${name}`, 'name');
  return toolView(row);
}

export async function getTool(db: Db, p: Principal, name: string) {
  const row = await repo.getTool(db, p.workspace_id, name);
  if (!row) throw notFound('tool', 'name');
  return toolView(row);
}

export async function listTools(db: Db, p: Principal, q: ListQuery) {
  return list(await repo.listTools(db, p.workspace_id, q.limit, q.after), q.limit, toolView);
}

export async function updateTool(db: Db, p: Principal, name: string, patch: z.infer<typeof toolUpdateSchema>, allowPrivate: boolean) {
  const { auth, cache_ttl_seconds: ttl, ...rest } = patch;
  const b: Partial<Omit<ToolCreate, 'name'>> = { ...rest, ...(auth ? { auth } : {}), ...(ttl ? { cache_ttl_seconds: ttl } : {}) };
  if (b.executor?.type === 'http') await checkOutbound(b.executor.url, allowPrivate, 'executor.url');
  return transaction(db, async (c) => {
    const row = await repo.getTool(c, p.workspace_id, name);
    if (!row) throw notFound('tool', 'name');
    // Re-validate the merged definition as a whole, so a partial update cannot produce an invalid tool.
    const current: Record<string, unknown> = { ...row.spec };
    if (auth === null) delete current.auth;
    if (ttl === null) delete current.cache_ttl_seconds;
    const merged = toolCreateSchema.parse({ name, ...current, ...b });
    checkInputSchema(merged.input_schema);
    // Also when the update changes what the kept TTL is allowed on (effect: "write", say).
    checkCacheTtl(merged);
    await checkAuth(c, p.workspace_id, merged);
    const { name: _n, ...spec } = merged;
    return toolView(await repo.updateTool(c, row.id, spec));
  });
}

export async function deleteTool(db: Db, p: Principal, name: string) {
  if (!(await repo.deleteTool(db, p.workspace_id, name))) throw notFound('tool', 'name');
  return { name, object: 'tool' as const, deleted: true };
}
