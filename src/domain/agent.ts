// Agents and their versions (API.md 2): instructions, model, tools, skills, limits, policy, approval settings.
import { z } from 'zod';
import { nameSchema, regexSchema } from './common';
import { agentMemorySchema } from './memory';

export { DEFAULT_APPROVAL, DEFAULT_LIMITS } from './defaults';

export const limitsSchema = z.strictObject({
  max_steps: z.number().int().min(1).max(1000).optional(),
  max_tool_calls: z.number().int().min(0).max(10_000).optional(),
  max_tokens: z.number().int().min(1).max(100_000_000).optional(),
  timeout_seconds: z.number().int().min(1).max(30 * 86_400).optional(),
});

const predicateSchema = z
  .strictObject({
    eq: z.unknown().optional(),
    ne: z.unknown().optional(),
    in: z.array(z.unknown()).optional(),
    not_in: z.array(z.unknown()).optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    matches: regexSchema.optional(),
    exists: z.boolean().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'a predicate needs at least one operator');

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM');

const hoursSchema = z.strictObject({
  tz: z.string().refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone'),
  days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1).optional(),
  from: hhmm,
  to: hhmm,
});

export const policyRuleSchema = z.strictObject({
  id: z.string().min(1).max(100),
  match: z
    .strictObject({
      tool: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
      effect: z.enum(['read', 'write']).optional(),
      arguments: z.record(z.string(), predicateSchema).optional(),
      hours: hoursSchema.optional(),
    })
    .default({}),
  action: z.enum(['allow', 'deny', 'require_approval']),
  reason: z.string().max(1000).optional(),
});

export const policySchema = z.strictObject({ rules: z.array(policyRuleSchema).max(200).default([]) });

export const approvalSettingsSchema = z.strictObject({
  timeout_seconds: z.number().int().min(1).max(90 * 86_400).optional(),
  on_timeout: z.enum(['deny', 'fail']).optional(),
});

const cardRefSchema = z.strictObject({ card: z.string().min(1).max(64), model: z.string().min(1).max(200).optional() });

export const MAX_FALLBACKS = 4;

/**
 * The agent's model (API.md 2, 12): a card and, optionally, a model other than the card's default_model.
 * `fallbacks` are tried in order when a call fails in a way another provider may not (429, 5xx, no
 * answer); see activities/model.ts.
 */
export const modelRefSchema = cardRefSchema.extend({ fallbacks: z.array(cardRefSchema).max(MAX_FALLBACKS).optional() });

export type ModelRef = z.infer<typeof modelRefSchema>;
export type CardRef = z.infer<typeof cardRefSchema>;

const agentFields = {
  description: z.string().max(4096),
  model: modelRefSchema,
  instructions: z.string().max(100_000),
  tools: z.array(nameSchema).max(128),
  /** Skill ids (API.md 11): the model is told each one's title and description and may `load_skill` it. */
  skills: z.array(nameSchema).max(64).refine((s) => new Set(s).size === s.length, 'must not name a skill twice'),
  /** A memory store (API.md 11, by id or name): `memory_search`, and `memory_write` with `write: true`. null removes it. */
  memory: agentMemorySchema.nullable(),
  limits: limitsSchema,
  policy: policySchema,
  approval: approvalSettingsSchema,
  enabled: z.boolean(),
};

export const agentCreateSchema = z.strictObject({
  name: nameSchema,
  description: agentFields.description.optional(),
  model: agentFields.model,
  instructions: agentFields.instructions.default(''),
  tools: agentFields.tools.default([]),
  skills: agentFields.skills.optional(),
  memory: agentFields.memory.optional(),
  limits: agentFields.limits.default({}),
  policy: agentFields.policy.default({ rules: [] }),
  approval: agentFields.approval.default({}),
  enabled: agentFields.enabled.default(true),
});

/** PATCH: only the fields present change; no defaults are applied. */
export const agentUpdateSchema = z.strictObject(agentFields).partial();

export type AgentCreate = z.infer<typeof agentCreateSchema>;
export type AgentSpec = Omit<AgentCreate, 'name'>;
export type Limits = z.infer<typeof limitsSchema>;
export type PolicyRule = z.infer<typeof policyRuleSchema>;
export type ArgumentPredicate = z.infer<typeof predicateSchema>;
