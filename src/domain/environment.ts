// Environments (API.md 11): a named set of tool overrides (url, headers), a narrowing of the agent's
// tools and {{env.NAME}} variables. A session names one; the tool activity applies it at call time.
import { z } from 'zod';
import { nameSchema } from './common';
import { toolHeadersSchema, toolUrlSchema, type ToolExecutor } from './tool';
import { vaultName } from './vault';

// Variable names follow vault names. A `__proto__` key sent on the wire is dropped by zod's record
// parsing, and the activity looks variables up in a Map, so no name can reach a prototype.
const variablesSchema = z
  .record(vaultName, z.string().max(4096))
  .refine((v) => Object.keys(v).length <= 100, 'at most 100 variables');

const toolOverrideSchema = z.strictObject({ url: toolUrlSchema.optional(), headers: toolHeadersSchema.optional() });

const toolOverridesSchema = z
  .record(nameSchema, toolOverrideSchema)
  .refine((t) => Object.keys(t).length <= 100, 'at most 100 tool overrides');

const allowedToolsSchema = z.array(nameSchema).max(100);

export const environmentCreateSchema = z.strictObject({
  name: nameSchema,
  variables: variablesSchema.optional(),
  tools: toolOverridesSchema.optional(),
  /** Absent or null: the agent's tools as they are; a list: only those of the agent's tools. */
  allowed_tools: allowedToolsSchema.nullable().optional(),
});

/** PATCH: each field present replaces the stored one as a whole. */
export const environmentUpdateSchema = environmentCreateSchema.partial();

export type EnvironmentCreate = z.infer<typeof environmentCreateSchema>;
export type EnvironmentUpdate = z.infer<typeof environmentUpdateSchema>;
export type ToolOverride = z.infer<typeof toolOverrideSchema>;

/** What the tool activity needs of a session's environment. */
export interface EnvironmentSpec {
  id: string;
  name: string;
  variables: Record<string, string>;
  tools: Record<string, ToolOverride>;
  allowed_tools: string[] | null;
}

export const ENV_REF = /\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The names of the {{env.NAME}} references in the strings, in order of appearance, without repeats. */
export function envRefs(strings: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const s of strings) for (const m of s.matchAll(ENV_REF)) names.add(m[1]!);
  return [...names];
}

/** Replaces each {{env.NAME}} with its variable (verbatim); the caller has checked that all exist. */
export const fillEnv = (s: string, variables: ReadonlyMap<string, string>): string =>
  s.replace(ENV_REF, (_m, n: string) => variables.get(n) ?? '');

/**
 * An http executor with the environment's override for the tool applied: the url replaces the tool's,
 * and the override headers replace the tool's headers of the same name (case-insensitively), the
 * others stay. Templates are left in place; the activity resolves them.
 */
export function applyToolOverride(executor: Extract<ToolExecutor, { type: 'http' }>, override: ToolOverride | undefined): Extract<ToolExecutor, { type: 'http' }> {
  if (!override) return executor;
  const replaced = new Set(Object.keys(override.headers ?? {}).map((h) => h.toLowerCase()));
  const kept = Object.entries(executor.headers ?? {}).filter(([h]) => !replaced.has(h.toLowerCase()));
  return { ...executor, url: override.url ?? executor.url, headers: { ...Object.fromEntries(kept), ...(override.headers ?? {}) } };
}

/** The tools a run may use in the environment: all of them without `allowed_tools`, else those listed. */
export const narrowTools = <T extends { name: string }>(tools: T[], allowed: readonly string[] | null | undefined): T[] =>
  allowed ? tools.filter((t) => allowed.includes(t.name)) : tools;
