// Skills as a run uses them (API.md 11): what the model is told about the agent's skills, and what
// `load_skill` returns. Uploads, listing and deletion are src/services/skills.ts.
import type { Queryable } from '../db/pool';
import * as repo from '../db/skills';
import { builtinSkill, type SkillFields } from '../domain/skill';

/** The agent's skills as the model is told about them, in the agent's order; deleted ones are left out. */
export async function skillsOf(db: Queryable, ws: string, ids: string[]): Promise<SkillFields[]> {
  if (ids.length === 0) return [];
  const rows = new Map((await repo.getSkills(db, ws, ids.filter((id) => !builtinSkill(id)))).map((s) => [s.id, s]));
  return ids.flatMap((id) => {
    const s = builtinSkill(id) ?? rows.get(id);
    return s ? [{ id: s.id, display_title: s.display_title, description: s.description }] : [];
  });
}

/** What `load_skill` returns: the skill's files with their text; undefined for an unknown skill. */
export async function loadSkill(db: Queryable, ws: string, id: string) {
  const b = builtinSkill(id);
  if (b) return { skill_id: b.id, display_title: b.display_title, files: b.files.map((f) => ({ name: f.filename, text: f.content })) };
  const row = await repo.getSkill(db, ws, id);
  if (!row) return undefined;
  const files = await repo.skillContents(db, ws, id);
  return { skill_id: row.id, display_title: row.display_title, files: files.map((f) => ({ name: f.filename, text: f.content.toString('utf8') })) };
}
