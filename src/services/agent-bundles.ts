// Export and import of agents (API.md 16): an agent at a version with its tools, by name, between
// workspaces. An import is one transaction, checked as a whole before anything is written; a dry run
// runs the very same transaction and rolls it back, so that its diff is what a real import would do.
import type { Db, Queryable } from '../db/pool';
import { transaction } from '../db/pool';
import * as agentsRepo from '../db/agents';
import * as toolsRepo from '../db/tools';
import { getModelCard } from '../db/model-cards';
import { getVaultSecrets } from '../db/vault';
import { getConnection } from '../db/connections';
import { findStore } from '../db/memory';
import { newId } from '../db/ids';
import { alreadyExists, notFound, PlatformError } from '../domain/errors';
import { canonicalJson } from '../domain/policy';
import { agentCreateSchema, type AgentSpec } from '../domain/agent';
import { toolCreateSchema, type ToolCreate } from '../domain/tool';
import type { AgentMemory } from '../domain/memory';
import type { Principal } from '../domain/workspace';
import { BUNDLE_FORMAT, bundleNeeds, cardsOf, vaultNamesOf, type AgentBundle, type ImportChange, type ImportResult } from '../domain/agent-bundle';
import { resolveAgent, checkAgentRefs } from './agents';
import { checkAuth, checkCacheTtl, checkInputSchema } from './tools';
import { missingSkill } from './skills';
import { checkOutbound } from './outbound-urls';

/** A memory store named as the workspace names it: an agent may hold its id, which means nothing elsewhere. */
async function memoryByName(q: Queryable, ws: string, memory: AgentMemory | null | undefined): Promise<AgentMemory | null | undefined> {
  if (!memory) return memory;
  const store = await findStore(q, ws, memory.store);
  return store ? { ...memory, store: store.name } : memory;
}

/** The bundle of the agent (by id or name) at `version`, default its current one. Names only: no key, no secret. */
export async function exportAgent(db: Db, p: Principal, idOrName: string, version?: number): Promise<AgentBundle> {
  const { agent, version: current } = await resolveAgent(db, p.workspace_id, idOrName);
  const v = version === undefined ? current : await agentsRepo.getAgentVersion(db, agent.id, version);
  if (!v) throw notFound('agent version', 'version');
  const spec = v.spec as AgentSpec;
  const memory = await memoryByName(db, p.workspace_id, spec.memory);
  const rows = spec.tools.length ? await toolsRepo.getToolsByName(db, p.workspace_id, spec.tools) : [];
  // In the agent's order; a tool deleted since this version was saved is left out (an import then needs it).
  const tools = spec.tools.flatMap((name) => rows.filter((r) => r.name === name)).map((r) => ({ name: r.name, ...(r.spec as Omit<ToolCreate, 'name'>) }));
  return {
    object: 'agent_bundle',
    format: BUNDLE_FORMAT,
    agent: { name: agent.name, version: v.version, ...spec, ...(memory !== undefined ? { memory } : {}) },
    tools,
    model_cards: [...new Set(cardsOf(spec))],
    vault: vaultNamesOf(tools),
  };
}

/** Thrown inside a dry run's transaction to roll it back with its result. */
class DryRunDone extends Error {
  constructor(readonly result: ImportResult) {
    super('dry run');
  }
}

/** Creates or updates the bundle's tools and agent by name, or with `dryRun` only says what it would do. */
export async function importBundle(db: Db, p: Principal, bundle: AgentBundle, dryRun: boolean, allowPrivate: boolean): Promise<ImportResult> {
  const ws = p.workspace_id;
  for (const [i, t] of bundle.tools.entries()) {
    await prefixed(`bundle.tools[${i}]`, async () => {
      if (t.executor.type === 'http') await checkOutbound(t.executor.url, allowPrivate, 'executor.url');
      checkInputSchema(t.input_schema);
      checkCacheTtl(t);
    });
  }
  try {
    return await transaction(db, async (c) => {
      await checkNeeds(c, ws, bundle);
      const changes: ImportChange[] = [];
      for (const [i, t] of bundle.tools.entries()) changes.push(await prefixed(`bundle.tools[${i}]`, () => importTool(c, ws, t)));
      changes.push(await prefixed('bundle.agent', () => importAgent(c, ws, bundle.agent)));
      const result: ImportResult = { object: 'import', applied: !dryRun, changes };
      if (dryRun) throw new DryRunDone(result);
      return result;
    });
  } catch (err) {
    if (err instanceof DryRunDone) return err.result;
    throw err;
  }
}

/** 400 import_missing_dependencies listing, by kind, everything the bundle names that this workspace lacks. */
async function checkNeeds(c: Queryable, ws: string, bundle: AgentBundle): Promise<void> {
  const needs = bundleNeeds(bundle);
  const absent = async (names: string[], exists: (n: string) => Promise<boolean>) => {
    const out: string[] = [];
    for (const n of names) if (!(await exists(n))) out.push(n);
    return out;
  };
  const vault = new Set((await getVaultSecrets(c, ws, needs.vault)).map((v) => v.name));
  const missing = {
    // Locked for share, as an agent's save does: a card delete under way waits or is waited for.
    model_cards: await absent(needs.model_cards, async (id) => (await getModelCard(c, ws, id, 'share')) !== undefined),
    vault: needs.vault.filter((n) => !vault.has(n)),
    skills: await absent(needs.skills, async (id) => (await missingSkill(c, ws, [id])) === undefined),
    memory_stores: await absent(needs.memory_stores, async (s) => (await findStore(c, ws, s)) !== undefined),
    connections: await absent(needs.connections, async (id) => (await getConnection(c, ws, id)) !== undefined),
  };
  const lacking = Object.entries(missing).filter(([, names]) => names.length);
  if (!lacking.length) return;
  const list = lacking.map(([kind, names]) => `${kind.replace('_', ' ')}: ${names.join(', ')}`).join('; ');
  throw new PlatformError('import_missing_dependencies', `This workspace lacks what the bundle needs (${list})`, 'bundle', undefined, { missing });
}

/** The same definition, defaults applied to both sides: a definition stored before a default existed still compares equal. */
function sameDefinition(schema: typeof toolCreateSchema | typeof agentCreateSchema, name: string, stored: unknown, incoming: unknown): boolean {
  const plain = (v: unknown) => canonicalJson(JSON.parse(JSON.stringify(v)));
  const parsed = schema.safeParse({ ...(stored as object), name });
  return parsed.success && plain(parsed.data) === plain({ ...(incoming as object), name });
}

async function importTool(c: Queryable, ws: string, t: ToolCreate): Promise<ImportChange> {
  const { name, ...spec } = t;
  await checkAuth(c, ws, t);
  const row = await toolsRepo.getTool(c, ws, name, true);
  if (!row) {
    if (!(await toolsRepo.insertTool(c, newId('tool'), ws, name, spec))) throw alreadyExists(`Tool ${name}`, 'name');
    return { kind: 'tool', name, action: 'create' };
  }
  if (sameDefinition(toolCreateSchema, name, row.spec, spec)) return { kind: 'tool', name, action: 'unchanged' };
  // The bundle's definition replaces the tool's as a whole (tools are not versioned: PATCH replaces too).
  await toolsRepo.updateTool(c, row.id, spec);
  return { kind: 'tool', name, action: 'update' };
}

async function importAgent(c: Queryable, ws: string, a: AgentBundle['agent']): Promise<ImportChange> {
  const { name, version: _exported, ...spec } = a;
  await checkAgentRefs(c, ws, spec);
  const agent = await agentsRepo.findAgentByName(c, ws, name, true);
  if (!agent) {
    const created = await agentsRepo.insertAgent(c, newId('agt'), ws, name);
    if (!created) throw alreadyExists(`Agent ${name}`, 'name');
    await agentsRepo.insertAgentVersion(c, created.id, 1, spec);
    return { kind: 'agent', name, action: 'create', version: 1 };
  }
  const current = (await agentsRepo.getAgentVersion(c, agent.id, agent.current_version))!;
  const stored = current.spec as AgentSpec;
  const memory = await memoryByName(c, ws, stored.memory);
  if (sameDefinition(agentCreateSchema, name, { ...stored, ...(memory !== undefined ? { memory } : {}) }, spec)) {
    return { kind: 'agent', name, action: 'unchanged', version: agent.current_version };
  }
  // A new version whose spec is the bundle's, as a whole; the old versions stay readable.
  const next = agent.current_version + 1;
  await agentsRepo.insertAgentVersion(c, agent.id, next, spec);
  await agentsRepo.bumpAgentVersion(c, agent.id, next);
  return { kind: 'agent', name, action: 'update', version: next };
}

/** Runs `fn`; a refusal's param is given the bundle path it is about (`bundle.tools[0].input_schema`). */
async function prefixed<T>(prefix: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof PlatformError) || err.code === 'import_missing_dependencies') throw err;
    throw new PlatformError(err.code, err.message, err.param ? `${prefix}.${err.param}` : prefix, err.headers, err.details);
  }
}
