// Skills and their files (migration 0011).
import type { Queryable } from './pool';

export interface SkillRow {
  workspace_id: string;
  id: string;
  display_title: string;
  description: string;
  created_at: Date;
}

export interface SkillFileRow {
  filename: string;
  content_type: string;
  bytes: number;
  sha256: string;
}

/** Undefined when the id is taken (the primary key decides, also between concurrent uploads). */
export async function insertSkill(q: Queryable, s: Pick<SkillRow, 'workspace_id' | 'id' | 'display_title' | 'description'>): Promise<SkillRow | undefined> {
  return (
    await q.query<SkillRow>(
      'INSERT INTO skills (workspace_id, id, display_title, description) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING *',
      [s.workspace_id, s.id, s.display_title, s.description],
    )
  ).rows[0];
}

export async function insertSkillFile(q: Queryable, ws: string, skillId: string, f: SkillFileRow & { content: Buffer }): Promise<void> {
  await q.query('INSERT INTO skill_files (workspace_id, skill_id, filename, content_type, bytes, sha256, content) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    ws, skillId, f.filename, f.content_type, f.bytes, f.sha256, f.content,
  ]);
}

export async function getSkill(q: Queryable, ws: string, id: string): Promise<SkillRow | undefined> {
  return (await q.query<SkillRow>('SELECT * FROM skills WHERE workspace_id = $1 AND id = $2', [ws, id])).rows[0];
}

export async function getSkills(q: Queryable, ws: string, ids: string[]): Promise<SkillRow[]> {
  return (await q.query<SkillRow>('SELECT * FROM skills WHERE workspace_id = $1 AND id = ANY($2::text[]) ORDER BY id', [ws, ids])).rows;
}

/** Up to `limit` skills with ids after `after`, in code-unit id order (the service merges the built-ins in JS). */
export async function listSkills(q: Queryable, ws: string, after: string | undefined, limit: number): Promise<SkillRow[]> {
  return (
    await q.query<SkillRow>('SELECT * FROM skills WHERE workspace_id = $1 AND ($2::text IS NULL OR id COLLATE "C" > $2) ORDER BY id COLLATE "C" LIMIT $3', [ws, after ?? null, limit])
  ).rows;
}

/** File metadata of the given skills, by skill id. */
export async function skillFiles(q: Queryable, ws: string, skillIds: string[]): Promise<Map<string, SkillFileRow[]>> {
  const rows = (
    await q.query<SkillFileRow & { skill_id: string }>(
      'SELECT skill_id, filename, content_type, bytes, sha256 FROM skill_files WHERE workspace_id = $1 AND skill_id = ANY($2::text[]) ORDER BY skill_id, filename',
      [ws, skillIds],
    )
  ).rows;
  const out = new Map<string, SkillFileRow[]>();
  for (const { skill_id, ...f } of rows) out.set(skill_id, [...(out.get(skill_id) ?? []), f]);
  return out;
}

export async function getSkillFile(q: Queryable, ws: string, skillId: string, filename: string): Promise<(SkillFileRow & { content: Buffer }) | undefined> {
  return (
    await q.query<SkillFileRow & { content: Buffer }>(
      'SELECT filename, content_type, bytes, sha256, content FROM skill_files WHERE workspace_id = $1 AND skill_id = $2 AND filename = $3',
      [ws, skillId, filename],
    )
  ).rows[0];
}

/** Every file with its content, in name order: what `load_skill` returns. */
export async function skillContents(q: Queryable, ws: string, skillId: string): Promise<{ filename: string; content: Buffer }[]> {
  return (await q.query<{ filename: string; content: Buffer }>('SELECT filename, content FROM skill_files WHERE workspace_id = $1 AND skill_id = $2 ORDER BY filename', [ws, skillId])).rows;
}

export async function deleteSkill(q: Queryable, ws: string, id: string): Promise<boolean> {
  return ((await q.query('DELETE FROM skills WHERE workspace_id = $1 AND id = $2', [ws, id])).rowCount ?? 0) > 0;
}
