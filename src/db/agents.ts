// Agents and their versions: an agent points at its current version; every version's spec is kept,
// since sessions, runs and evals pin one.
import type { Queryable } from './pool';
import type { ModelRef } from '../domain/agent';

export interface AgentRow {
  id: string;
  workspace_id: string;
  name: string;
  current_version: number;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AgentVersionRow {
  agent_id: string;
  version: number;
  spec: Record<string, unknown>;
  created_at: Date;
}

/** `:id` accepts the id or the name; archived agents are found by id only. */
export async function findAgent(q: Queryable, ws: string, idOrName: string, forUpdate = false): Promise<AgentRow | undefined> {
  const lock = forUpdate ? ' FOR UPDATE' : '';
  return (
    await q.query<AgentRow>(
      `SELECT * FROM agents WHERE workspace_id = $1 AND (id = $2 OR (name = $2 AND archived_at IS NULL))
        ORDER BY archived_at NULLS FIRST LIMIT 1${lock}`,
      [ws, idOrName],
    )
  ).rows[0];
}

/** By name only (an import, where a name that looks like an id is still a name); archived agents are not found. */
export async function findAgentByName(q: Queryable, ws: string, name: string, forUpdate = false): Promise<AgentRow | undefined> {
  const lock = forUpdate ? ' FOR UPDATE' : '';
  return (await q.query<AgentRow>(`SELECT * FROM agents WHERE workspace_id = $1 AND name = $2 AND archived_at IS NULL${lock}`, [ws, name])).rows[0];
}

export async function listAgents(q: Queryable, ws: string, limit: number, after?: string): Promise<AgentRow[]> {
  return (
    await q.query<AgentRow>(
      `SELECT * FROM agents WHERE workspace_id = $1 AND archived_at IS NULL AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

export async function insertAgent(q: Queryable, id: string, ws: string, name: string): Promise<AgentRow | undefined> {
  return (
    await q.query<AgentRow>(
      'INSERT INTO agents (id, workspace_id, name, current_version) VALUES ($1, $2, $3, 1) ON CONFLICT DO NOTHING RETURNING *',
      [id, ws, name],
    )
  ).rows[0];
}

export async function insertAgentVersion(q: Queryable, agentId: string, version: number, spec: unknown): Promise<AgentVersionRow> {
  return (
    await q.query<AgentVersionRow>('INSERT INTO agent_versions (agent_id, version, spec) VALUES ($1, $2, $3) RETURNING *', [
      agentId,
      version,
      spec,
    ])
  ).rows[0]!;
}

export async function bumpAgentVersion(q: Queryable, agentId: string, version: number): Promise<AgentRow> {
  return (
    await q.query<AgentRow>('UPDATE agents SET current_version = $2, updated_at = now() WHERE id = $1 RETURNING *', [agentId, version])
  ).rows[0]!;
}

export async function archiveAgent(q: Queryable, agentId: string): Promise<void> {
  await q.query('UPDATE agents SET archived_at = now(), updated_at = now() WHERE id = $1', [agentId]);
}

export async function getAgentVersion(q: Queryable, agentId: string, version: number): Promise<AgentVersionRow | undefined> {
  return (await q.query<AgentVersionRow>('SELECT * FROM agent_versions WHERE agent_id = $1 AND version = $2', [agentId, version])).rows[0];
}

/** The `model` of the agent version a run is pinned to (API.md 2, 12); undefined for an unknown run. */
export async function modelOfRun(q: Queryable, runId: string): Promise<ModelRef | undefined> {
  const res = await q.query<{ model: ModelRef | null }>(
    `SELECT v.spec->'model' AS model FROM runs r JOIN agent_versions v ON v.agent_id = r.agent_id AND v.version = r.agent_version WHERE r.id = $1`,
    [runId],
  );
  return res.rows[0]?.model ?? undefined;
}

export async function listAgentVersions(q: Queryable, agentId: string): Promise<AgentVersionRow[]> {
  return (await q.query<AgentVersionRow>('SELECT * FROM agent_versions WHERE agent_id = $1 ORDER BY version DESC', [agentId])).rows;
}
