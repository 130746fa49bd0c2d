// Environments: validation beyond shape (tool names exist, override URLs are public), views, and the
// refusal to delete one that sessions still name.
import type { Db } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/environments';
import { getToolsByName } from '../db/tools';
import { newId } from '../db/ids';
import { PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import type { EnvironmentCreate, EnvironmentUpdate } from '../domain/environment';
import type { Principal } from '../domain/workspace';
import { checkOutbound } from './outbound-urls';
import { page } from './deps';

export const environmentView = (e: repo.EnvironmentRow) => ({
  id: e.id,
  object: 'environment' as const,
  name: e.name,
  variables: e.variables,
  tools: e.tools,
  allowed_tools: e.allowed_tools,
  created_at: isoDate(e.created_at),
  updated_at: isoDate(e.updated_at),
});

const taken = (name: string) => new PlatformError('already_exists', `Environment ${name} already exists`, 'name');

/** Override keys and allowed_tools name tools of the workspace; override URLs pass the private-network guard. */
async function checkRefs(db: Db, ws: string, f: repo.EnvironmentFields, allowPrivate: boolean): Promise<void> {
  const named = [...new Set([...Object.keys(f.tools), ...(f.allowed_tools ?? [])])];
  const found = new Set(named.length ? (await getToolsByName(db, ws, named)).map((t) => t.name) : []);
  const unknownOverride = Object.keys(f.tools).find((t) => !found.has(t));
  if (unknownOverride) throw new PlatformError('unknown_tool', `Tool ${unknownOverride} does not exist`, `tools.${unknownOverride}`);
  const unknownAllowed = (f.allowed_tools ?? []).findIndex((t) => !found.has(t));
  if (unknownAllowed >= 0) throw new PlatformError('unknown_tool', `Tool ${f.allowed_tools![unknownAllowed]} does not exist`, `allowed_tools[${unknownAllowed}]`);
  for (const [tool, o] of Object.entries(f.tools)) if (o.url) await checkOutbound(o.url, allowPrivate, `tools.${tool}.url`);
}

const fieldsOf = (b: EnvironmentCreate): repo.EnvironmentFields => ({
  name: b.name,
  variables: b.variables ?? {},
  tools: b.tools ?? {},
  allowed_tools: b.allowed_tools ?? null,
});

export async function createEnvironment(db: Db, p: Principal, b: EnvironmentCreate, allowPrivate: boolean) {
  const f = fieldsOf(b);
  await checkRefs(db, p.workspace_id, f, allowPrivate);
  const row = await repo.insertEnvironment(db, newId('env'), p.workspace_id, f);
  if (!row) throw taken(b.name);
  return environmentView(row);
}

/** The environment a session names (by id or name); `not_found` with `param` for the request field. */
export async function resolveEnvironment(db: Db, ws: string, idOrName: string, param = 'id'): Promise<repo.EnvironmentRow> {
  const row = await repo.findEnvironment(db, ws, idOrName);
  if (!row) throw notFound('environment', param);
  return row;
}

export const getEnvironment = async (db: Db, p: Principal, idOrName: string) => environmentView(await resolveEnvironment(db, p.workspace_id, idOrName));

export async function listEnvironments(db: Db, p: Principal, q: ListQuery) {
  const pg = page(await repo.listEnvironments(db, p.workspace_id, q.limit, q.after), q.limit);
  return { object: 'list' as const, ...pg, data: pg.data.map(environmentView) };
}

export async function updateEnvironment(db: Db, p: Principal, idOrName: string, b: EnvironmentUpdate, allowPrivate: boolean) {
  const target = await resolveEnvironment(db, p.workspace_id, idOrName);
  // Only what this request brings is checked: stored overrides were checked when they were saved.
  await checkRefs(db, p.workspace_id, { name: target.name, variables: {}, tools: b.tools ?? {}, allowed_tools: b.allowed_tools ?? null }, allowPrivate);
  return transaction(db, async (c) => {
    const current = await repo.findEnvironment(c, p.workspace_id, target.id, true);
    if (!current) throw notFound('environment', 'id');
    const f: repo.EnvironmentFields = {
      name: b.name ?? current.name,
      variables: b.variables ?? current.variables,
      tools: b.tools ?? current.tools,
      allowed_tools: b.allowed_tools === undefined ? current.allowed_tools : b.allowed_tools,
    };
    const row = await repo.updateEnvironment(c, current.id, f);
    if (!row) throw taken(f.name);
    return environmentView(row);
  });
}

/** Refused (`environment_in_use`) while a session names it: a session's tools must not change under it silently. */
export async function deleteEnvironment(db: Db, p: Principal, idOrName: string) {
  return transaction(db, async (c) => {
    const row = await repo.findEnvironment(c, p.workspace_id, idOrName, true);
    if (!row) throw notFound('environment', 'id');
    if (await repo.environmentInUse(c, row.id)) {
      throw new PlatformError('environment_in_use', `Environment ${row.name} is named by sessions; delete them first`, 'id');
    }
    await repo.deleteEnvironment(c, row.id);
    return { id: row.id, object: 'environment' as const, deleted: true };
  });
}
