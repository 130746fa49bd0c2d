// Agents: every change is a new version and old versions stay readable; what a version names (model
// cards, tools, skills, a memory store) must exist when it is saved; DELETE archives.
import type { Db, Queryable } from '../db/pool';
import { transaction } from '../db/pool';
import * as repo from '../db/agents';
import { getModelCard, type ModelCardRow } from '../db/model-cards';
import { getToolsByName } from '../db/tools';
import { newId } from '../db/ids';
import { alreadyExists, PlatformError, notFound } from '../domain/errors';
import { isoDate, type ListQuery } from '../domain/common';
import type { AgentCreate, AgentSpec } from '../domain/agent';
import { agentUpdateSchema } from '../domain/agent';
import type { Principal } from '../domain/workspace';
import { list } from './deps';
import { missingSkill } from './skills';
import { memoryStoreExists } from './memory';
import type { z } from 'zod';
import type { AgentObject } from '../domain/api-objects';

export function agentView(a: repo.AgentRow, v: repo.AgentVersionRow): AgentObject {
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
export async function checkAgentRefs(db: Queryable, ws: string, spec: Partial<AgentSpec>): Promise<void> {
  if (spec.model) {
    // The primary and every fallback card, each named by its own param (model.fallbacks[0].card).
    const refs = [{ card: spec.model.card, param: 'model.card' }, ...(spec.model.fallbacks ?? []).map((f, i) => ({ card: f.card, param: `model.fallbacks[${i}].card` }))];
    const found: (ModelCardRow | undefined)[] = [];
    for (const r of refs) found.push(await getModelCard(db, ws, r.card, 'share'));
    const missing = refs.find((_, i) => !found[i]);
    if (missing) throw new PlatformError('validation_failed', `Model card ${missing.card} does not exist`, missing.param);
  }
  if (spec.tools?.length) {
    const found = new Set((await getToolsByName(db, ws, spec.tools)).map((t) => t.name));
    const missing = spec.tools.find((t) => !found.has(t));
    if (missing) throw new PlatformError('unknown_tool', `Tool ${missing} does not exist`, 'tools');
  }
  const skill = spec.skills?.length ? await missingSkill(db, ws, spec.skills) : undefined;
  if (skill) throw new PlatformError('unknown_skill', `Skill ${skill} does not exist`, 'skills');
  if (spec.memory && !(await memoryStoreExists(db, ws, spec.memory))) {
    throw new PlatformError('unknown_memory_store', `Memory store ${spec.memory.store} does not exist`, 'memory.store');
  }
}

export async function createAgent(db: Db, p: Principal, b: AgentCreate) {
  const { name, ...spec } = b;
  return transaction(db, async (c) => {
    await checkAgentRefs(c, p.workspace_id, b);
    const agent = await repo.insertAgent(c, newId('agt'), p.workspace_id, name);
    if (!agent) throw alreadyExists(`Agent ${name}`, 'name');
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
