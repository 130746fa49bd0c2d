// Skills (src/domain/skill.ts): what the model is told, the load_skill definition, and built-ins that pass
// the same checks as an upload.
import { describe, expect, it } from 'vitest';
import { BUILTIN_SKILLS, instructionsWithSkills, loadSkillTool, MAX_SKILL_FILE_BYTES, skillFieldsSchema, skillFilenameSchema } from '../../src/domain/skill';

describe('skills', () => {
  it("the instructions gain each skill's id, title and description; without skills they stay as they are", () => {
    const skills = [{ id: 'refunds', display_title: 'Refund handling', description: 'How to refund' }];
    const text = instructionsWithSkills('Be brief.', skills);
    expect(text.startsWith('Be brief.\n\n## Skills\n')).toBe(true);
    expect(text).toContain('- refunds: Refund handling. How to refund');
    expect(text).toContain('load_skill');
    expect(instructionsWithSkills('Be brief.', [])).toBe('Be brief.');
    expect(instructionsWithSkills('', skills).startsWith('## Skills')).toBe(true);
  });

  it('load_skill is a read tool whose only argument is one of the given skill ids', () => {
    const t = loadSkillTool([{ id: 'a' }, { id: 'b' }]);
    expect(t).toMatchObject({ name: 'load_skill', effect: 'read', executor: { type: 'builtin', name: 'load_skill' }, idempotent: true });
    expect(t.input_schema).toEqual({
      type: 'object',
      properties: { skill: { type: 'string', enum: ['a', 'b'], description: expect.any(String) } },
      required: ['skill'],
      additionalProperties: false,
    });
  });

  it('file names are flat: no directories, no traversal, no dot files', () => {
    for (const ok of ['SKILL.md', 'checklist.txt', 'a-b_c.1']) expect(skillFilenameSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['../x', '..', 'a/b', 'a\\b', '.env', '', 'x'.repeat(129), 'a b', 'ü.md']) expect(skillFilenameSchema.safeParse(bad).success, bad).toBe(false);
  });

  it('every built-in skill would pass an upload', () => {
    for (const s of BUILTIN_SKILLS) {
      expect(skillFieldsSchema.safeParse({ id: s.id, display_title: s.display_title, description: s.description }).success).toBe(true);
      for (const f of s.files) {
        expect(skillFilenameSchema.safeParse(f.filename).success).toBe(true);
        expect(Buffer.byteLength(f.content)).toBeLessThanOrEqual(MAX_SKILL_FILE_BYTES);
      }
    }
  });
});
