// The name of the built-in tool that loads a skill (API.md 11). Zod-free, apart from skill.ts: the tool
// gate uses it (see defaults.ts).
export const LOAD_SKILL_TOOL = 'load_skill';
