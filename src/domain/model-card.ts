// Model cards: a provider endpoint plus its encrypted key (API.md 2).
import { z } from 'zod';
import { outboundUrlSchema } from './url';

/** `echo`: the scripted model built into the platform (src/providers/echo.ts): no network, no key. */
export const PROVIDERS = ['openai', 'anthropic', 'echo'] as const;
export type Provider = (typeof PROVIDERS)[number];

const headersSchema = z
  .record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'header names are letters, digits and -'), z.string().max(4096))
  .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers');

const pricingSchema = z.strictObject({
  input_per_mtok: z.number().min(0).max(10_000),
  output_per_mtok: z.number().min(0).max(10_000),
});

export const idSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - only');
const modelNameSchema = z.string().min(1).max(200);
/** Not stored: it says whether this write calls the provider first (API.md 16). */
const probeSchema = z.boolean().optional().meta({
  description: 'Default true: the provider is called once (GET of the model, no tokens) and a refusal is 400 model_card_probe_failed with nothing stored; false skips the call (offline set-ups)',
});

const modelCardFields = z.strictObject({
  id: idSchema,
  provider: z.enum(PROVIDERS),
  base_url: outboundUrlSchema.optional(),
  /** Required, except for `echo`, which has none. */
  api_key: z.string().min(1).max(4096).optional(),
  default_model: modelNameSchema,
  headers: headersSchema.optional(),
  pricing: pricingSchema.optional(),
  /** Seconds the provider has to start answering; past it the call fails as a timeout (and falls back). */
  timeout_seconds: z.number().int().min(1).max(600).optional(),
  probe: probeSchema,
});

const modelCardUpdateFields = z.strictObject({
  base_url: outboundUrlSchema.optional(),
  api_key: z.string().min(1).max(4096).optional(),
  default_model: modelNameSchema.optional(),
  headers: headersSchema.optional(),
  pricing: pricingSchema.nullable().optional(),
  timeout_seconds: z.number().int().min(1).max(600).nullable().optional(),
  probe: probeSchema,
});

// The seed API's spellings (API.md 16), accepted on write and answered with the names above.
export const PROVIDER_ALIASES: Record<string, Provider> = { oai: 'openai', 'oai-compatible': 'openai', ant: 'anthropic', 'ant-compatible': 'anthropic' };
const FIELD_ALIASES = { model_id: 'id', model: 'default_model', custom_headers: 'headers' } as const;
const alias = <T extends z.ZodType>(schema: T, of: string) => schema.optional().meta({ description: `The seed API's name for ${of}` });
const providerInput = z.enum([...PROVIDERS, 'oai', 'oai-compatible', 'ant', 'ant-compatible']);

/** The body with every alias renamed to its field; an alias beside its field is ambiguous, so refused. */
function resolveAliases<T extends Record<string, unknown>>(b: T, ctx: z.RefinementCtx): Record<string, unknown> {
  const out: Record<string, unknown> = { ...b };
  for (const [name, field] of Object.entries(FIELD_ALIASES)) {
    if (out[name] === undefined) continue;
    if (out[field] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: `is another name for ${field}: send one of them` });
    out[field] = out[name];
    delete out[name];
  }
  if (typeof out.provider === 'string') out.provider = PROVIDER_ALIASES[out.provider] ?? out.provider;
  return out;
}

const modelCardCreateCanonical = modelCardFields.superRefine((b, ctx) => {
  if (b.provider === 'echo') {
    // Nothing to call and nothing to authenticate: a URL, key or header given for it is a mistake.
    for (const field of ['base_url', 'api_key', 'headers'] as const) {
      if (b[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `an echo card has no ${field}` });
    }
  } else if (b.api_key === undefined) {
    ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'Required' });
  }
});

/** POST /v1/model_cards: the canonical fields or their aliases in, the canonical fields out. */
export const modelCardCreateSchema = modelCardFields
  .partial({ id: true, default_model: true })
  .extend({
    provider: providerInput,
    model_id: alias(idSchema, 'id'),
    model: alias(modelNameSchema, 'default_model'),
    custom_headers: alias(headersSchema, 'headers'),
  })
  .transform(resolveAliases)
  .pipe(modelCardCreateCanonical);

/** POST /v1/model_cards/:id (a rotation, or any change): `model` and `custom_headers` are accepted too. */
export const modelCardUpdateSchema = modelCardUpdateFields
  .extend({ model: alias(modelNameSchema, 'default_model'), custom_headers: alias(headersSchema, 'headers') })
  .transform(resolveAliases)
  .pipe(modelCardUpdateFields);

export type ModelCardCreate = z.infer<typeof modelCardCreateSchema>;
export type ModelCardUpdate = z.infer<typeof modelCardUpdateSchema>;
export type Pricing = z.infer<typeof pricingSchema>;

export const DEFAULT_BASE_URL: Record<Provider, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  // Not a URL anything connects to: the echo provider runs in the worker.
  echo: 'builtin:echo',
};
