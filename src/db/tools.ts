// Workspace tools, found by name: a delete marks the row (deleted_at) rather than removing it.
import type { Queryable } from './pool';

export interface ToolRow {
  id: string;
  workspace_id: string;
  name: string;
  spec: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export async function getTool(q: Queryable, ws: string, name: string, forUpdate = false): Promise<ToolRow | undefined> {
  const lock = forUpdate ? ' FOR UPDATE' : '';
  return (await q.query<ToolRow>(`SELECT * FROM tools WHERE workspace_id = $1 AND name = $2 AND deleted_at IS NULL${lock}`, [ws, name])).rows[0];
}

export async function getToolsByName(q: Queryable, ws: string, names: string[]): Promise<ToolRow[]> {
  return (
    await q.query<ToolRow>('SELECT * FROM tools WHERE workspace_id = $1 AND name = ANY($2) AND deleted_at IS NULL', [ws, names])
  ).rows;
}

export async function listTools(q: Queryable, ws: string, limit: number, after?: string): Promise<ToolRow[]> {
  return (
    await q.query<ToolRow>(
      'SELECT * FROM tools WHERE workspace_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3',
      [ws, after ?? null, limit + 1],
    )
  ).rows;
}

export async function insertTool(q: Queryable, id: string, ws: string, name: string, spec: unknown): Promise<ToolRow | undefined> {
  return (
    await q.query<ToolRow>(
      'INSERT INTO tools (id, workspace_id, name, spec) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *',
      [id, ws, name, spec],
    )
  ).rows[0];
}

export async function updateTool(q: Queryable, id: string, spec: unknown): Promise<ToolRow> {
  return (await q.query<ToolRow>('UPDATE tools SET spec = $2, updated_at = now() WHERE id = $1 RETURNING *', [id, spec])).rows[0]!;
}

export async function deleteTool(q: Queryable, ws: string, name: string): Promise<boolean> {
  const r = await q.query('UPDATE tools SET deleted_at = now() WHERE workspace_id = $1 AND name = $2 AND deleted_at IS NULL', [ws, name]);
  return (r.rowCount ?? 0) > 0;
}
