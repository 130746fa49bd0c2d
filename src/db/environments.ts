// Environments and the lookup of a run's environment (through its session) for the tool activity.
import type { Queryable } from './pool';
import type { ToolOverride } from '../domain/environment';

export interface EnvironmentRow {
  id: string;
  workspace_id: string;
  name: string;
  variables: Record<string, string>;
  tools: Record<string, ToolOverride>;
  allowed_tools: string[] | null;
  created_at: Date;
  updated_at: Date;
}

export type EnvironmentFields = Pick<EnvironmentRow, 'name' | 'variables' | 'tools' | 'allowed_tools'>;

// jsonb parameters go as JSON text: pg would send a JS array as a PostgreSQL array.
const json = (v: unknown): string | null => (v === null ? null : JSON.stringify(v));

export async function insertEnvironment(q: Queryable, id: string, ws: string, f: EnvironmentFields): Promise<EnvironmentRow | undefined> {
  return (
    await q.query<EnvironmentRow>(
      `INSERT INTO environments (id, workspace_id, name, variables, tools, allowed_tools)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING *`,
      [id, ws, f.name, json(f.variables), json(f.tools), json(f.allowed_tools)],
    )
  ).rows[0];
}

/** By id or by name, like agents. */
export async function findEnvironment(q: Queryable, ws: string, idOrName: string, forUpdate = false): Promise<EnvironmentRow | undefined> {
  return (
    await q.query<EnvironmentRow>(`SELECT * FROM environments WHERE workspace_id = $1 AND (id = $2 OR name = $2) ORDER BY id = $2 DESC LIMIT 1${forUpdate ? ' FOR UPDATE' : ''}`, [ws, idOrName])
  ).rows[0];
}

export async function listEnvironments(q: Queryable, ws: string, limit: number, after?: string): Promise<EnvironmentRow[]> {
  return (
    await q.query<EnvironmentRow>('SELECT * FROM environments WHERE workspace_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3', [ws, after ?? null, limit + 1])
  ).rows;
}

/** Undefined when the new name is taken by another environment of the workspace (the caller holds the row). */
export async function updateEnvironment(q: Queryable, id: string, f: EnvironmentFields): Promise<EnvironmentRow | undefined> {
  try {
    return (
      await q.query<EnvironmentRow>(
        'UPDATE environments SET name = $2, variables = $3, tools = $4, allowed_tools = $5, updated_at = now() WHERE id = $1 RETURNING *',
        [id, f.name, json(f.variables), json(f.tools), json(f.allowed_tools)],
      )
    ).rows[0];
  } catch (err) {
    if ((err as { code?: string }).code === '23505') return undefined;
    throw err;
  }
}

export async function environmentInUse(q: Queryable, id: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM sessions WHERE environment_id = $1 LIMIT 1', [id])).rowCount! > 0;
}

export async function deleteEnvironment(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM environments WHERE id = $1', [id]);
}

/** The environment of the run's session, if it names one (an action invocation's id finds none). */
export async function environmentOfRun(q: Queryable, ws: string, runId: string): Promise<EnvironmentRow | undefined> {
  return (
    await q.query<EnvironmentRow>(
      `SELECT e.* FROM runs r JOIN sessions s ON s.id = r.session_id JOIN environments e ON e.id = s.environment_id
        WHERE r.id = $1 AND r.workspace_id = $2`,
      [runId, ws],
    )
  ).rows[0];
}
