// Workspaces, API keys and the first-start bootstrap of the `default` workspace.
import type { Db } from '../db/pool';
import { transaction } from '../db/pool';
import { newId } from '../db/ids';
import * as repo from '../db/workspaces';
import { hashApiKey, newApiKey } from '../security/secrets';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import { hasRole, type ApiKeyCreate, type Principal, type Role } from '../domain/workspace';
import { page } from './deps';
import { setWorkspaceLimits } from './limits';

const keyView = (k: repo.ApiKeyRow) => ({
  id: k.id,
  object: 'api_key' as const,
  name: k.name,
  roles: k.roles,
  prefix: k.prefix,
  created_at: isoDate(k.created_at),
  last_used_at: isoDate(k.last_used_at),
});

async function createKey(q: Parameters<typeof repo.insertApiKey>[0], workspaceId: string, name: string, roles: Role[], key = newApiKey()) {
  const row = await repo.insertApiKey(q, {
    id: newId('key'),
    workspace_id: workspaceId,
    name,
    roles,
    key_hash: hashApiKey(key),
    prefix: key.slice(0, 7),
  });
  return { ...keyView(row), key };
}

/** Creates workspace `default` and its admin key when the database is empty; returns the key only then. */
export async function bootstrap(db: Db, adminKey?: string): Promise<string | undefined> {
  return transaction(db, async (c) => {
    await c.query('LOCK TABLE workspaces IN EXCLUSIVE MODE');
    if (await repo.getDefaultWorkspace(c)) return undefined;
    const ws = await repo.insertWorkspace(c, newId('ws'), 'default', true);
    const created = await createKey(c, ws.id, 'admin', ['admin'], adminKey);
    return created.key;
  });
}

export async function authenticate(db: Db, key: string): Promise<Principal | undefined> {
  const row = await repo.authenticateKey(db, hashApiKey(key));
  if (!row) return undefined;
  return { workspace_id: row.workspace_id, workspace_name: row.workspace_name, key_id: row.id, key_name: row.name, roles: row.roles };
}

/** The operator is a key of the `default` workspace holding `role` (admin holds every role); others get `permission_denied` with `refusal`. */
export async function assertOperator(db: Db, caller: Principal, role: Role, refusal: string): Promise<void> {
  const home = await repo.getWorkspace(db, caller.workspace_id);
  if (!home?.is_default || !hasRole(caller, role)) throw new PlatformError('permission_denied', refusal);
}

export async function createWorkspace(db: Db, caller: Principal, name: string) {
  await assertOperator(db, caller, 'admin', 'Only an admin key of the default workspace can create workspaces');
  return transaction(db, async (c) => {
    const ws = await repo.insertWorkspace(c, newId('ws'), name, false);
    const key = await createKey(c, ws.id, 'admin', ['admin']);
    return { id: ws.id, object: 'workspace' as const, name: ws.name, created_at: isoDate(ws.created_at), admin_key: key.key };
  });
}

const workspaceView = (ws: repo.WorkspaceRow) => ({
  id: ws.id,
  object: 'workspace' as const,
  name: ws.name,
  limits: { token_budget: ws.token_budget === null ? null : Number(ws.token_budget), rate_limit_per_minute: ws.rate_limit_per_minute, max_active_runs: ws.max_active_runs },
  created_at: isoDate(ws.created_at),
});

export async function currentWorkspace(db: Db, caller: Principal) {
  const ws = await repo.getWorkspace(db, caller.workspace_id);
  if (!ws) throw notFound('workspace');
  return workspaceView(ws);
}

/** Limits are the operator's: only an admin of the default workspace sets them. */
export async function updateWorkspaceLimits(db: Db, caller: Principal, id: string, limits: Parameters<typeof setWorkspaceLimits>[2]) {
  await assertOperator(db, caller, 'admin', 'Only an admin of the default workspace sets workspace limits');
  if (!(await repo.getWorkspace(db, id))) throw notFound('workspace', 'id');
  await setWorkspaceLimits(db, id, limits);
  return workspaceView((await repo.getWorkspace(db, id))!);
}

export const createApiKey = (db: Db, caller: Principal, body: ApiKeyCreate) =>
  createKey(db, caller.workspace_id, body.name, [...new Set(body.roles)]);

export async function listApiKeys(db: Db, caller: Principal, q: ListQuery) {
  const rows = await repo.listApiKeys(db, caller.workspace_id, q.limit, q.after);
  const p = page(rows, q.limit);
  return { object: 'list' as const, ...p, data: p.data.map(keyView) };
}

export async function deleteApiKey(db: Db, caller: Principal, id: string) {
  if (!(await repo.revokeApiKey(db, caller.workspace_id, id))) throw notFound('api key', 'id');
  return { id, object: 'api_key' as const, deleted: true };
}
