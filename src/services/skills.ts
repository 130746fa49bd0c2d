// Skills (API.md 11): an upload is read whole (it is small: at most 20 text files of 1 MiB, 4 MiB
// together), checked, and only then stored in one transaction, so a refused upload stores nothing. The
// built-in skills (src/domain/skill.ts) are listed in every workspace, readable, and never deleted. What a
// run uses of them (the model's list, `load_skill`) is src/core/skills.ts.
import crypto from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { transaction, type Queryable } from '../db/pool';
import * as repo from '../db/skills';
import { isoDate, type ListQuery } from '../domain/common';
import { PlatformError, notFound, validationFailed } from '../domain/errors';
import { normalizeContentType } from '../domain/file';
import {
  BUILTIN_SKILLS,
  builtinSkill,
  MAX_SKILL_BYTES,
  MAX_SKILL_FILE_BYTES,
  MAX_SKILL_FILES,
  skillFieldsSchema,
  skillFilenameSchema,
  type BuiltinSkill,
} from '../domain/skill';
import type { Principal } from '../domain/workspace';
import type { FormEvent } from '../api/multipart';
import { page, type ServiceDeps } from './deps';

/** The parser's limits for a skill form: the three fields, the files, and room for a description. */
export const SKILL_FORM_LIMITS = { parts: MAX_SKILL_FILES + 4, fieldBytes: 4096 };
const FILE_FIELDS = new Set(['files', 'files[]']);

const sha256 = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex');

const fileView = (f: repo.SkillFileRow) => ({ filename: f.filename, bytes: Number(f.bytes), content_type: f.content_type, sha256: f.sha256 });

function builtinView(s: BuiltinSkill) {
  return {
    id: s.id,
    object: 'skill' as const,
    display_title: s.display_title,
    description: s.description,
    builtin: true,
    files: s.files.map((f) => fileView({ filename: f.filename, content_type: f.content_type, bytes: Buffer.byteLength(f.content), sha256: sha256(f.content) })),
    created_at: null,
  };
}

const skillView = (s: repo.SkillRow, files: repo.SkillFileRow[]) => ({
  id: s.id,
  object: 'skill' as const,
  display_title: s.display_title,
  description: s.description,
  builtin: false,
  files: files.map(fileView),
  created_at: isoDate(s.created_at),
});

const unsupported = (filename: string, why: string): PlatformError =>
  new PlatformError('unsupported_file', `Skill file ${filename} ${why}: skills are UTF-8 text`, 'files');

interface Collected {
  filename: string;
  content_type: string;
  chunks: Buffer[];
  bytes: number;
  done: boolean;
}

/** Reads and checks the whole form; nothing is stored until every part passed. */
export async function uploadSkill(deps: ServiceDeps, p: Principal, form: AsyncIterable<FormEvent>) {
  const fields: Record<string, string> = {};
  const files: Collected[] = [];
  let total = 0;
  for await (const ev of form) {
    if (ev.type === 'field') {
      if (FILE_FIELDS.has(ev.name)) throw validationFailed('files must be file parts (with a filename)', 'files');
      if (ev.name in fields) throw validationFailed(`${ev.name} is given twice`, ev.name);
      fields[ev.name] = ev.value;
    } else if (ev.type === 'file') {
      if (!FILE_FIELDS.has(ev.name)) throw validationFailed(`Unknown file field ${ev.name}; skill files go in parts named "files"`, ev.name);
      if (files.length >= MAX_SKILL_FILES) throw validationFailed(`A skill has at most ${MAX_SKILL_FILES} files`, 'files');
      const name = skillFilenameSchema.safeParse(ev.filename);
      if (!name.success) throw validationFailed(`The filename ${JSON.stringify(ev.filename.slice(0, 140))} ${name.error.issues[0]!.message}`, 'files');
      if (files.some((f) => f.filename === name.data)) throw validationFailed(`The file ${name.data} is given twice`, 'files');
      files.push({ filename: name.data, content_type: normalizeContentType(ev.content_type), chunks: [], bytes: 0, done: false });
    } else if (ev.type === 'data') {
      const f = files[files.length - 1];
      if (!f || f.done) continue;
      f.bytes += ev.data.length;
      total += ev.data.length;
      if (f.bytes > MAX_SKILL_FILE_BYTES) throw new PlatformError('payload_too_large', `Skill file ${f.filename} exceeds ${MAX_SKILL_FILE_BYTES} bytes`, 'files');
      if (total > MAX_SKILL_BYTES) throw new PlatformError('payload_too_large', `A skill's files exceed ${MAX_SKILL_BYTES} bytes together`, 'files');
      f.chunks.push(ev.data);
    } else if (ev.type === 'file_end') {
      const f = files[files.length - 1];
      if (f) f.done = true;
    }
  }
  const parsed = skillFieldsSchema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys[0]! : issue.path.join('.');
    throw validationFailed(issue.code === 'unrecognized_keys' ? `Unknown field ${param}` : `${param} ${issue.message}`, param);
  }
  if (files.length === 0) throw validationFailed('A skill needs at least one file (parts named "files" with a filename)', 'files');
  const contents = files.map((f) => {
    const content = Buffer.concat(f.chunks);
    if (!isUtf8(content)) throw unsupported(f.filename, 'is not valid UTF-8');
    if (content.includes(0)) throw unsupported(f.filename, 'contains NUL bytes');
    return { filename: f.filename, content_type: f.content_type, bytes: content.length, sha256: sha256(content), content };
  });
  const skill = parsed.data;
  if (builtinSkill(skill.id)) throw new PlatformError('already_exists', `Skill ${skill.id} is built in`, 'id');
  return transaction(deps.db, async (c) => {
    const row = await repo.insertSkill(c, { workspace_id: p.workspace_id, ...skill });
    if (!row) throw new PlatformError('already_exists', `Skill ${skill.id} already exists`, 'id');
    for (const f of contents) await repo.insertSkillFile(c, p.workspace_id, skill.id, f);
    return skillView(row, contents);
  });
}

export async function getSkill(deps: ServiceDeps, p: Principal, id: string) {
  const b = builtinSkill(id);
  if (b) return builtinView(b);
  const row = await repo.getSkill(deps.db, p.workspace_id, id);
  if (!row) throw notFound('skill', 'id');
  return skillView(row, (await repo.skillFiles(deps.db, p.workspace_id, [id])).get(id) ?? []);
}

/** Built-in and workspace skills together, in id order (code-unit order, as the SQL's "C" collation). */
export async function listSkills(deps: ServiceDeps, p: Principal, q: ListQuery) {
  const rows = await repo.listSkills(deps.db, p.workspace_id, q.after, q.limit + 1);
  const files = await repo.skillFiles(deps.db, p.workspace_id, rows.map((r) => r.id));
  const views = [
    ...BUILTIN_SKILLS.filter((b) => q.after === undefined || b.id > q.after).map(builtinView),
    ...rows.map((r) => skillView(r, files.get(r.id) ?? [])),
  ].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return { object: 'list' as const, ...page(views.slice(0, q.limit + 1), q.limit) };
}

export async function openSkillFile(deps: ServiceDeps, p: Principal, id: string, filename: string): Promise<{ filename: string; content_type: string; content: Buffer }> {
  const b = builtinSkill(id);
  if (b) {
    const f = b.files.find((x) => x.filename === filename);
    if (!f) throw notFound('skill file', 'filename');
    return { filename: f.filename, content_type: f.content_type, content: Buffer.from(f.content) };
  }
  if (!(await repo.getSkill(deps.db, p.workspace_id, id))) throw notFound('skill', 'id');
  const f = await repo.getSkillFile(deps.db, p.workspace_id, id, filename);
  if (!f) throw notFound('skill file', 'filename');
  return f;
}

/** Built-in skills are part of the platform: `builtin_skill`, a conflict like deleting any object still in use. */
export async function deleteSkill(deps: ServiceDeps, p: Principal, id: string) {
  if (builtinSkill(id)) throw new PlatformError('builtin_skill', `Skill ${id} is built in and cannot be deleted`, 'id');
  if (!(await repo.deleteSkill(deps.db, p.workspace_id, id))) throw notFound('skill', 'id');
  return { id, object: 'skill' as const, deleted: true };
}

// ---------- agents and runs

/** The first of `ids` that is neither built in nor a skill of the workspace. */
export async function missingSkill(db: Queryable, ws: string, ids: string[]): Promise<string | undefined> {
  const custom = ids.filter((id) => !builtinSkill(id));
  const found = new Set(custom.length ? (await repo.getSkills(db, ws, custom)).map((s) => s.id) : []);
  return custom.find((id) => !found.has(id));
}
