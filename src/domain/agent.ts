// Agents and their versions (API.md 2): instructions, model, tools, limits, policy, approval settings.
import { z } from 'zod';
import { nameSchema } from './common';

export const DEFAULT_LIMITS = { max_steps: 16, max_tool_calls: 32, timeout_seconds: 3600 } as const;
export const DEFAULT_APPROVAL = { timeout_seconds: 86_400, on_timeout: 'deny' } as const;

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
    matches: z
      .string()
      .max(1000)
      .refine((s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression')
      .optional(),
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

const modelRefSchema = z.strictObject({ card: z.string().min(1).max(64), model: z.string().min(1).max(200).optional() });

const agentFields = {
  description: z.string().max(4096),
  model: modelRefSchema,
  instructions: z.string().max(100_000),
  tools: z.array(nameSchema).max(128),
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
