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

const modelCardFields = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - only'),
  provider: z.enum(PROVIDERS),
  base_url: outboundUrlSchema.optional(),
  /** Required, except for `echo`, which has none. */
  api_key: z.string().min(1).max(4096).optional(),
  default_model: z.string().min(1).max(200),
  headers: headersSchema.optional(),
  pricing: pricingSchema.optional(),
  /** Seconds the provider has to start answering; past it the call fails as a timeout (and falls back). */
  timeout_seconds: z.number().int().min(1).max(600).optional(),
});

export const modelCardCreateSchema = modelCardFields.superRefine((b, ctx) => {
  if (b.provider === 'echo') {
    // Nothing to call and nothing to authenticate: a URL, key or header given for it is a mistake.
    for (const field of ['base_url', 'api_key', 'headers'] as const) {
      if (b[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `an echo card has no ${field}` });
    }
  } else if (b.api_key === undefined) {
    ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'Required' });
  }
});

export const modelCardUpdateSchema = z.strictObject({
  base_url: outboundUrlSchema.optional(),
  api_key: z.string().min(1).max(4096).optional(),
  default_model: z.string().min(1).max(200).optional(),
  headers: headersSchema.optional(),
  pricing: pricingSchema.nullable().optional(),
  timeout_seconds: z.number().int().min(1).max(600).nullable().optional(),
});

export type ModelCardCreate = z.infer<typeof modelCardCreateSchema>;
export type ModelCardUpdate = z.infer<typeof modelCardUpdateSchema>;
export type Pricing = z.infer<typeof pricingSchema>;

export const DEFAULT_BASE_URL: Record<Provider, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  // Not a URL anything connects to: the echo provider runs in the worker.
  echo: 'builtin:echo',
};
