// Skills (API.md 11): named bundles of instruction text an agent may load with the built-in `load_skill`
// tool. Here: the upload's fields and limits, the built-in skills every workspace has, the `load_skill`
// tool definition and the lines that tell the model which skills it has. Pure: workflows may import it.
import { z } from 'zod';
import { nameSchema } from './common';
import type { ToolSpec } from './tool';
import { LOAD_SKILL_TOOL } from './skill-tool';

/** One skill file: instruction text, not data. */
export const MAX_SKILL_FILE_BYTES = 1024 * 1024;
export const MAX_SKILL_FILES = 20;
/** All files of one skill together: `load_skill` puts them whole into the model's next input. */
export const MAX_SKILL_BYTES = 4 * 1024 * 1024;
export { LOAD_SKILL_TOOL };

/** A flat file name: no directories, no leading dot, so `../x` or `a/b` can never name another file. */
export const skillFilenameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must start with a letter or digit and contain only letters, digits, _ . - (no directories)');

/** The form fields besides the files (multipart/form-data); ids are validated like tool names. */
export const skillFieldsSchema = z.strictObject({
  id: nameSchema,
  display_title: z.string().trim().min(1).max(200),
  description: z.string().trim().min(1).max(1024),
});

/** The whole upload form, for the OpenAPI document (the route parses the stream itself). */
export const skillUploadFormSchema = skillFieldsSchema.extend({
  files: z
    .array(z.string().meta({ format: 'binary' }))
    .min(1)
    .max(MAX_SKILL_FILES)
    .meta({ description: `One part per file, each named "files" with a filename (UTF-8 text, at most ${MAX_SKILL_FILE_BYTES} bytes each, ${MAX_SKILL_BYTES} together)` }),
});

export type SkillFields = z.infer<typeof skillFieldsSchema>;

export interface SkillFile {
  filename: string;
  content_type: string;
  content: string;
}

export interface BuiltinSkill extends SkillFields {
  files: SkillFile[];
}

/** Shipped with the platform, listed in every workspace, never deleted. */
export const BUILTIN_SKILLS: readonly BuiltinSkill[] = [
  {
    id: 'platform-guide',
    display_title: 'Agent Platform guide',
    description: 'How runs, tools, approvals and events work on this platform; load it when asked how you operate or why a tool call waits.',
    files: [
      {
        filename: 'SKILL.md',
        content_type: 'text/markdown',
        content: [
          '# Agent Platform guide',
          '',
          'You run as a durable run on Agent Platform. Each of your turns is a step: one model call, then the tool calls you asked for.',
          '',
          '- Read tools run at once unless a policy rule says otherwise; write tools usually wait for a human approval first.',
          '- A denied or failed tool call comes back to you as an error result: read its message and adapt, do not repeat the same call.',
          '- The same tool with the same arguments a third time in one run is denied (`loop_detected`).',
          '- Your run has limits on steps, tool calls and tokens; finish with a plain answer when you have what you need.',
          '',
        ].join('\n'),
      },
    ],
  },
];

export const builtinSkill = (id: string): BuiltinSkill | undefined => BUILTIN_SKILLS.find((s) => s.id === id);

/** The `load_skill` tool a run offers when its agent has skills; only those ids are valid arguments. */
export function loadSkillTool(skills: { id: string }[]): ToolSpec {
  return {
    name: LOAD_SKILL_TOOL,
    description: "Loads one of your skills by id and returns its files (name and text). Load a skill before you follow it.",
    input_schema: {
      type: 'object',
      properties: { skill: { type: 'string', enum: skills.map((s) => s.id), description: 'The id of the skill to load' } },
      required: ['skill'],
      additionalProperties: false,
    },
    effect: 'read',
    executor: { type: 'builtin', name: LOAD_SKILL_TOOL },
    supports_dry_run: false,
    idempotent: true,
  };
}

/** The agent's instructions followed by the list of its skills: what the model is told about each. */
export function instructionsWithSkills(instructions: string, skills: SkillFields[]): string {
  if (skills.length === 0) return instructions;
  const lines = skills.map((s) => `- ${s.id}: ${s.display_title}. ${s.description}`);
  const section = [
    '## Skills',
    `You have these skills. When one fits the task, call the ${LOAD_SKILL_TOOL} tool with its id to read its instructions before you act.`,
    ...lines,
  ].join('\n');
  return instructions ? `${instructions}\n\n${section}` : section;
}
