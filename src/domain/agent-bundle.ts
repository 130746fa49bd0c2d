// Agent bundles (API.md 16): an agent at one version with its tools, carried between workspaces by name.
// A bundle names the model cards and vault secrets it needs and never holds a key or a secret value.
import { z } from 'zod';
import { agentCreateSchema, type AgentCreate } from './agent';
import { idSchema as cardIdSchema } from './model-card';
import { toolCreateSchema, type ToolCreate } from './tool';
import { VAULT_REF, vaultName } from './vault';

export const BUNDLE_FORMAT = 1;

const cardId = cardIdSchema;
const unique = <T extends z.ZodType<string>>(s: T) =>
  z.array(s).max(128).refine((a) => new Set(a).size === a.length, 'must not name anything twice');

export const agentBundleSchema = z
  .strictObject({
    object: z.literal('agent_bundle'),
    format: z.literal(BUNDLE_FORMAT),
    /** The agent's name and spec; `version` says which version was exported and is not imported. */
    agent: agentCreateSchema.extend({ version: z.number().int().min(1).optional() }),
    tools: z
      .array(toolCreateSchema)
      .max(128)
      .refine((t) => new Set(t.map((x) => x.name)).size === t.length, 'must not define a tool twice'),
    model_cards: unique(cardId),
    vault: unique(vaultName),
  });

/**
 * The same schema as a published response object (a copy: a body schema must carry no meta id, since
 * its reference would point into the body's own $defs, which /openapi.json does not keep).
 */
export const agentBundleObjectSchema = agentBundleSchema.meta({
  id: 'AgentBundle',
  description:
    'An agent at one version, the tools it names, and the names of the model cards and vault secrets they need (API.md 16). ' +
    'Never a key, a header value of a model card, or a vault value.',
});

export type AgentBundle = z.infer<typeof agentBundleSchema>;

export const importCreateSchema = z.strictObject({
  bundle: agentBundleSchema,
  /** Reports the changes without storing anything (and without an audit record). */
  dry_run: z.boolean().default(false),
});

export const IMPORT_ACTIONS = ['create', 'update', 'unchanged'] as const;

export const importResultSchema = z
  .object({
    object: z.literal('import'),
    applied: z.boolean(),
    changes: z.array(
      z.object({
        kind: z.enum(['tool', 'agent']),
        name: z.string(),
        action: z.enum(IMPORT_ACTIONS),
        version: z.number().int().optional().describe('For the agent: its current version after the import (would be, in a dry run)'),
      }),
    ),
  })
  .meta({ id: 'ImportResult', description: 'What an import applied or, with dry_run, would apply: tools first, then the agent' });

export type ImportResult = z.infer<typeof importResultSchema>;
export type ImportChange = ImportResult['changes'][number];

/** The cards an agent calls: its model's card and every fallback's. */
export const cardsOf = (agent: Pick<AgentCreate, 'model'>): string[] => [agent.model.card, ...(agent.model.fallbacks ?? []).map((f) => f.card)];

/** The vault secrets the tools' http headers reference as {{vault.NAME}} (the only place they are resolved). */
export function vaultNamesOf(tools: Pick<ToolCreate, 'executor'>[]): string[] {
  const names = new Set<string>();
  for (const t of tools) {
    if (t.executor.type !== 'http') continue;
    for (const v of Object.values(t.executor.headers ?? {})) for (const m of v.matchAll(VAULT_REF)) names.add(m[1]!);
  }
  return [...names];
}

/** What the bundle needs from the workspace it is imported into, as listed and as its content references it. */
export function bundleNeeds(b: AgentBundle): { model_cards: string[]; vault: string[]; skills: string[]; memory_stores: string[]; connections: string[] } {
  const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
  return {
    model_cards: sorted([...b.model_cards, ...cardsOf(b.agent)]),
    vault: sorted([...b.vault, ...vaultNamesOf(b.tools)]),
    skills: sorted(b.agent.skills ?? []),
    memory_stores: sorted(b.agent.memory ? [b.agent.memory.store] : []),
    connections: sorted(b.tools.flatMap((t) => (t.auth ? [t.auth.connection] : []))),
  };
}
