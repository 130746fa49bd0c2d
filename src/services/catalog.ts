// Model cards, agents, tools and the vault: validation beyond shape, encryption, versioning, views.
import type { Db, Queryable } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/catalog';
import { getConnection } from '../db/connections';
import { newId } from '../db/ids';
import { ApiError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import { DEFAULT_BASE_URL, type ModelCardCreate, type ModelCardUpdate } from '../domain/model-card';
import type { AgentCreate, AgentSpec } from '../domain/agent';
import { agentUpdateSchema } from '../domain/agent';
import { toolCreateSchema, type ToolCreate, type toolUpdateSchema } from '../domain/tool';
import type { Principal } from '../domain/workspace';
import { cell } from '../db/secret-cells';
import { preview, type SecretBox } from '../security/secrets';
import { checkSchema, schemaProblem } from '../core/json-schema';
import { assertPublicUrl, PrivateNetworkError } from '../security/network-guard';
import { outboundUrlProblem } from '../domain/url';
import { page } from './deps';
import { missingSkill } from './skills';
import { memoryStoreExists } from './memory';
import type { z } from 'zod';

const conflict = (what: string, param: string) => new ApiError(409, 'already_exists', `${what} already exists`, param);
const list = <R extends { id: string }, V>(rows: R[], limit: number, view: (r: R) => V) => {
  const p = page(rows, limit);
  return { object: 'list' as const, ...p, data: p.data.map(view) };
};

// ---------- model cards

function cardView(r: repo.ModelCardRow, secrets: SecretBox) {
  const headers = r.headers_enc ? (JSON.parse(secrets.decrypt(r.headers_enc, cell.modelCard(r, 'headers'))) as Record<string, string>) : {};
  return {
    id: r.id,
    object: 'model_card' as const,
    provider: r.provider,
    base_url: r.base_url,
    default_model: r.default_model,
    api_key_preview: r.api_key_preview,
    // Header values may be credentials (gateways): only their names are shown.
    headers: Object.fromEntries(Object.keys(headers).map((k) => [k, '[hidden]'])),
    pricing: r.pricing,
    timeout_seconds: r.timeout_seconds,
    created_at: isoDate(r.created_at),
    updated_at: isoDate(r.updated_at),
  };
}

/** Outbound URLs are checked when saved (and again, on the resolved address, when connected to). */
export async function checkOutbound(url: string, allowPrivate: boolean, param: string): Promise<void> {
  const problem = outboundUrlProblem(url, allowPrivate);
  if (problem) throw new ApiError(400, 'validation_failed', `${param} ${problem}`, param);
  try {
    await assertPublicUrl(url, allowPrivate);
  } catch (err) {
    if (err instanceof PrivateNetworkError) throw new ApiError(403, 'private_network_blocked', err.message, param);
    // A name that does not resolve now may resolve later; the check at connect time still applies.
  }
}

export async function createModelCard(db: Db, secrets: SecretBox, p: Principal, b: ModelCardCreate, allowPrivate: boolean) {
  if (b.provider !== 'echo') await checkOutbound(b.base_url ?? DEFAULT_BASE_URL[b.provider], allowPrivate, 'base_url');
  const apiKey = b.api_key ?? '';
  const row = await repo.insertModelCard(db, {
    workspace_id: p.workspace_id,
    id: b.id,
    provider: b.provider,
    base_url: (b.base_url ?? DEFAULT_BASE_URL[b.provider]).replace(/\/+$/, ''),
    api_key_enc: secrets.encrypt(apiKey, cell.modelCard({ workspace_id: p.workspace_id, id: b.id }, 'api_key')),
    api_key_preview: apiKey ? preview(apiKey) : '',
    headers_enc: b.headers ? secrets.encrypt(JSON.stringify(b.headers), cell.modelCard({ workspace_id: p.workspace_id, id: b.id }, 'headers')) : null,
    default_model: b.default_model,
    pricing: b.pricing ?? null,
    timeout_seconds: b.timeout_seconds ?? null,
  });
  if (!row) throw conflict(`Model card ${b.id}`, 'id');
  return cardView(row, secrets);
}

export async function getModelCard(db: Db, secrets: SecretBox, p: Principal, id: string) {
  const row = await repo.getModelCard(db, p.workspace_id, id);
  if (!row) throw notFound('model card', 'id');
  return cardView(row, secrets);
}

export async function listModelCards(db: Db, secrets: SecretBox, p: Principal, q: ListQuery) {
  return list(await repo.listModelCards(db, p.workspace_id, q.limit, q.after), q.limit, (r) => cardView(r, secrets));
}

export async function updateModelCard(db: Db, secrets: SecretBox, p: Principal, id: string, b: ModelCardUpdate, allowPrivate: boolean) {
  if (b.base_url) await checkOutbound(b.base_url, allowPrivate, 'base_url');
  return transaction(db, async (c) => {
    const row = await repo.getModelCard(c, p.workspace_id, id);
    if (!row) throw notFound('model card', 'id');
    if (row.provider === 'echo') {
      const given = (['base_url', 'api_key', 'headers'] as const).find((f) => b[f] !== undefined);
      if (given) throw new ApiError(400, 'validation_failed', `${given}: an echo card has no ${given}`, given);
    }
    const updated = await repo.updateModelCard(c, {
      ...row,
      base_url: b.base_url ? b.base_url.replace(/\/+$/, '') : row.base_url,
      api_key_enc: b.api_key ? secrets.encrypt(b.api_key, cell.modelCard(row, 'api_key')) : row.api_key_enc,
      api_key_preview: b.api_key ? preview(b.api_key) : row.api_key_preview,
      headers_enc: b.headers ? secrets.encrypt(JSON.stringify(b.headers), cell.modelCard(row, 'headers')) : row.headers_enc,
      default_model: b.default_model ?? row.default_model,
      pricing: b.pricing === undefined ? row.pricing : b.pricing,
      timeout_seconds: b.timeout_seconds === undefined ? row.timeout_seconds : b.timeout_seconds,
    });
    return cardView(updated, secrets);
  });
}

/** Refused while an agent or a memory store uses the card: their next calls would all fail. */
export async function deleteModelCard(db: Db, p: Principal, id: string) {
  return transaction(db, async (c) => {
    if (!(await repo.getModelCard(c, p.workspace_id, id, 'update'))) throw notFound('model card', 'id');
    const users = await repo.modelCardUsers(c, p.workspace_id, id);
    const named = [
      ...(users.agents.length ? [`agents ${users.agents.join(', ')}`] : []),
      ...(users.memory_stores.length ? [`memory stores ${users.memory_stores.join(', ')}`] : []),
    ];
    if (named.length) throw new ApiError(409, 'model_card_in_use', `Model card ${id} is used by ${named.join(' and ')}; change or archive them first`, 'id');
    if (!(await repo.deleteModelCard(c, p.workspace_id, id))) throw notFound('model card', 'id');
    return { id, object: 'model_card' as const, deleted: true };
  });
}

// ---------- agents

export function agentView(a: repo.AgentRow, v: repo.AgentVersionRow) {
  return {
    id: a.id,
    object: 'agent' as const,
    name: a.name,
    version: v.version,
    ...(v.spec as AgentSpec),
    archived: a.archived_at !== null,
    created_at: isoDate(a.created_at),
    updated_at: isoDate(v.created_at),
  };
}

/**
 * Inside the transaction that stores the agent: the cards are locked for share, so that a card delete
 * under way is waited for (and then the card is gone) or waits itself (and then sees this agent).
 */
async function checkAgentRefs(db: Queryable, ws: string, spec: Partial<AgentSpec>): Promise<void> {
  if (spec.model) {
    // The primary and every fallback card, each named by its own param (model.fallbacks[0].card).
    const refs = [{ card: spec.model.card, param: 'model.card' }, ...(spec.model.fallbacks ?? []).map((f, i) => ({ card: f.card, param: `model.fallbacks[${i}].card` }))];
    const found: (repo.ModelCardRow | undefined)[] = [];
    for (const r of refs) found.push(await repo.getModelCard(db, ws, r.card, 'share'));
    const missing = refs.find((_, i) => !found[i]);
    if (missing) throw new ApiError(400, 'validation_failed', `Model card ${missing.card} does not exist`, missing.param);
  }
  if (spec.tools?.length) {
    const found = new Set((await repo.getToolsByName(db, ws, spec.tools)).map((t) => t.name));
    const missing = spec.tools.find((t) => !found.has(t));
    if (missing) throw new ApiError(400, 'unknown_tool', `Tool ${missing} does not exist`, 'tools');
  }
  const skill = spec.skills?.length ? await missingSkill(db, ws, spec.skills) : undefined;
  if (skill) throw new ApiError(400, 'unknown_skill', `Skill ${skill} does not exist`, 'skills');
  if (spec.memory && !(await memoryStoreExists(db, ws, spec.memory))) {
    throw new ApiError(400, 'unknown_memory_store', `Memory store ${spec.memory.store} does not exist`, 'memory.store');
  }
}

export async function createAgent(db: Db, p: Principal, b: AgentCreate) {
  const { name, ...spec } = b;
  return transaction(db, async (c) => {
    await checkAgentRefs(c, p.workspace_id, b);
    const agent = await repo.insertAgent(c, newId('agt'), p.workspace_id, name);
    if (!agent) throw conflict(`Agent ${name}`, 'name');
    const version = await repo.insertAgentVersion(c, agent.id, 1, spec);
    return agentView(agent, version);
  });
}

export async function resolveAgent(db: Db, ws: string, idOrName: string) {
  const agent = await repo.findAgent(db, ws, idOrName);
  if (!agent) throw notFound('agent', 'agent');
  const version = await repo.getAgentVersion(db, agent.id, agent.current_version);
  return { agent, version: version! };
}

export async function getAgent(db: Db, p: Principal, idOrName: string) {
  const { agent, version } = await resolveAgent(db, p.workspace_id, idOrName);
  return agentView(agent, version);
}

export async function listAgents(db: Db, p: Principal, q: ListQuery) {
  const rows = await repo.listAgents(db, p.workspace_id, q.limit, q.after);
  const views = [];
  for (const a of rows) views.push({ ...a, view: agentView(a, (await repo.getAgentVersion(db, a.id, a.current_version))!) });
  return list(views, q.limit, (r) => r.view);
}

export async function updateAgent(db: Db, p: Principal, idOrName: string, b: z.infer<typeof agentUpdateSchema>) {
  return transaction(db, async (c) => {
    await checkAgentRefs(c, p.workspace_id, b);
    const agent = await repo.findAgent(c, p.workspace_id, idOrName, true);
    if (!agent || agent.archived_at) throw notFound('agent', 'id');
    const current = (await repo.getAgentVersion(c, agent.id, agent.current_version))!;
    const spec = { ...(current.spec as AgentSpec), ...b };
    const next = agent.current_version + 1;
    const version = await repo.insertAgentVersion(c, agent.id, next, spec);
    return agentView(await repo.bumpAgentVersion(c, agent.id, next), version);
  });
}

export async function listAgentVersions(db: Db, p: Principal, idOrName: string) {
  const { agent } = await resolveAgent(db, p.workspace_id, idOrName);
  const versions = await repo.listAgentVersions(db, agent.id);
  return { object: 'list' as const, data: versions.map((v) => agentView(agent, v)), has_more: false, next_cursor: null };
}

export async function getAgentVersion(db: Db, p: Principal, idOrName: string, v: number) {
  const { agent } = await resolveAgent(db, p.workspace_id, idOrName);
  const version = await repo.getAgentVersion(db, agent.id, v);
  if (!version) throw notFound('agent version', 'version');
  return agentView(agent, version);
}

export async function archiveAgent(db: Db, p: Principal, idOrName: string) {
  const { agent } = await resolveAgent(db, p.workspace_id, idOrName);
  if (agent.archived_at) throw notFound('agent', 'id');
  await repo.archiveAgent(db, agent.id);
  return { id: agent.id, object: 'agent' as const, deleted: true };
}

// ---------- tools

const toolView = (t: repo.ToolRow) => ({
  id: t.id,
  object: 'tool' as const,
  name: t.name,
  ...(t.spec as Omit<ToolCreate, 'name'>),
  created_at: isoDate(t.created_at),
  updated_at: isoDate(t.updated_at),
});

function checkInputSchema(schema: Record<string, unknown>): void {
  const problem = schemaProblem(schema);
  if (problem) throw new ApiError(400, 'validation_failed', `input_schema${problem.path ? `.${problem.path}` : ''} ${problem.message}`, `input_schema${problem.path ? `.${problem.path}` : ''}`);
  try {
    checkSchema(schema);
  } catch (err) {
    throw new ApiError(400, 'validation_failed', `input_schema is not a valid JSON Schema: ${(err as Error).message}`, 'input_schema');
  }
}

/** `auth` (API.md 12): only http tools send a user's token, and the connection must be the workspace's. */
async function checkAuth(db: Queryable, ws: string, t: Pick<ToolCreate, 'auth' | 'executor'>): Promise<void> {
  if (!t.auth) return;
  if (t.executor.type !== 'http') throw new ApiError(400, 'validation_failed', 'Only http tools can declare auth', 'auth');
  if (!(await getConnection(db, ws, t.auth.connection))) throw new ApiError(400, 'unknown_connection', `Connection ${t.auth.connection} does not exist`, 'auth.connection');
}

export async function createTool(db: Db, p: Principal, b: ToolCreate, allowPrivate: boolean) {
  if (b.executor.type === 'http') await checkOutbound(b.executor.url, allowPrivate, 'executor.url');
  checkInputSchema(b.input_schema);
  await checkAuth(db, p.workspace_id, b);
  const { name, ...spec } = b;
  const row = await repo.insertTool(db, newId('tool'), p.workspace_id, name, spec);
  if (!row) throw conflict(`Tool ${name}`, 'name');
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
  const { auth, ...rest } = patch;
  const b: Partial<Omit<ToolCreate, 'name'>> = { ...rest, ...(auth ? { auth } : {}) };
  if (b.executor?.type === 'http') await checkOutbound(b.executor.url, allowPrivate, 'executor.url');
  return transaction(db, async (c) => {
    const row = await repo.getTool(c, p.workspace_id, name);
    if (!row) throw notFound('tool', 'name');
    // Re-validate the merged definition as a whole, so a partial update cannot produce an invalid tool.
    const current: Record<string, unknown> = { ...row.spec };
    if (auth === null) delete current.auth;
    const merged = toolCreateSchema.parse({ name, ...current, ...b });
    checkInputSchema(merged.input_schema);
    await checkAuth(c, p.workspace_id, merged);
    const { name: _n, ...spec } = merged;
    return toolView(await repo.updateTool(c, row.id, spec));
  });
}

export async function deleteTool(db: Db, p: Principal, name: string) {
  if (!(await repo.deleteTool(db, p.workspace_id, name))) throw notFound('tool', 'name');
  return { name, object: 'tool' as const, deleted: true };
}

// ---------- vault

const vaultView = (v: repo.VaultRow) => ({
  id: v.id,
  object: 'vault_secret' as const,
  name: v.name,
  created_at: isoDate(v.created_at),
  updated_at: isoDate(v.updated_at),
});

export async function createVault(db: Db, secrets: SecretBox, p: Principal, name: string, value: string) {
  const row = await repo.insertVault(db, newId('vlt'), p.workspace_id, name, secrets.encrypt(value, cell.vault(p.workspace_id, name)));
  if (!row) throw conflict(`Vault secret ${name}`, 'name');
  return vaultView(row);
}

export async function getVault(db: Db, p: Principal, name: string) {
  const [row] = await repo.getVaultSecrets(db, p.workspace_id, [name]);
  if (!row) throw notFound('vault secret', 'name');
  return vaultView(row);
}

export async function listVault(db: Db, p: Principal, q: ListQuery) {
  return list(await repo.listVault(db, p.workspace_id, q.limit, q.after), q.limit, vaultView);
}

export async function updateVault(db: Db, secrets: SecretBox, p: Principal, name: string, value: string) {
  const row = await repo.updateVault(db, p.workspace_id, name, secrets.encrypt(value, cell.vault(p.workspace_id, name)));
  if (!row) throw notFound('vault secret', 'name');
  return vaultView(row);
}

export async function deleteVault(db: Db, p: Principal, name: string) {
  if (!(await repo.deleteVault(db, p.workspace_id, name))) throw notFound('vault secret', 'name');
  return { name, object: 'vault_secret' as const, deleted: true };
}
