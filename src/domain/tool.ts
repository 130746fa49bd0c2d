// Tools (API.md 2.1): what the model may call, how it is executed, and whether it has side effects.
import { z } from 'zod';
import { nameSchema } from './common';
import { outboundUrlSchema } from './url';
import { toolAuthSchema, type ToolAuth } from './connection';

/**
 * `load_skill` (skill.ts) is offered to every agent with skills; a tool of its own may also name it.
 * `memory_search` and `memory_write` (memory.ts) are offered to an agent with `memory`.
 */
export const BUILTIN_TOOLS = ['current_time', 'echo', 'load_skill', 'memory_search', 'memory_write'] as const;

const templated = z.string().max(4096);

/** API.md 16: the longest a read tool's result may be reused. */
export const MAX_CACHE_TTL_SECONDS = 86_400;

/** An http tool's URL and headers; environments (environment.ts) override them with the same shapes. */
export const toolUrlSchema = outboundUrlSchema;
export const toolHeadersSchema = z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), templated);

const httpExecutorSchema = z.strictObject({
  type: z.literal('http'),
  url: toolUrlSchema,
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
  headers: toolHeadersSchema.optional(),
  timeout_seconds: z.number().int().min(1).max(600).default(30),
});

const builtinExecutorSchema = z.strictObject({
  type: z.literal('builtin'),
  name: z.enum(BUILTIN_TOOLS),
});

const clientExecutorSchema = z.strictObject({ type: z.literal('client') });

export const executorSchema = z.discriminatedUnion('type', [
  httpExecutorSchema,
  builtinExecutorSchema,
  clientExecutorSchema,
]);

/** JSON Schema for tool input: must describe an object; compiled and checked with ajv by the service. */
export const inputSchemaSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => s.type === 'object', 'must be a JSON Schema with "type": "object"')
  .refine((s) => JSON.stringify(s).length <= 65_536, 'at most 64 KiB')
  .meta({
    description:
      'JSON Schema (draft 2020-12) with "type": "object", at most 64 KiB and 32 levels deep. `pattern` and `patternProperties` keys ' +
      'must be ECMA-262 regular expressions that RE2 can run (no lookaround, no backreferences); they are matched in linear time. ' +
      '`$id` is refused and `$ref` must be local ("#/$defs/..."); `uniqueItems` needs `maxItems` <= 100 unless `items` has a scalar type.',
  });

const toolFields = {
  description: z.string().max(4096),
  input_schema: inputSchemaSchema,
  effect: z.enum(['read', 'write']),
  executor: executorSchema,
  supports_dry_run: z.boolean(),
  idempotent: z.boolean(),
  /** An http tool that acts for the session's user: the user's token of this connection is sent (API.md 12). */
  auth: toolAuthSchema,
  cache_ttl_seconds: z
    .number()
    .int()
    .min(1)
    .max(MAX_CACHE_TTL_SECONDS)
    .meta({
      description:
        'Read http tools only (not with `auth`): an identical call (the same tool definition as the run sees it, environment applied, ' +
        'the same arguments, the same end user of the session, vault secrets not rotated since) within this many seconds is answered ' +
        'from the stored result, without calling the tool: `tool_call.completed` then has `cached: true`. Errors are never stored.',
    }),
};

export const toolCreateSchema = z.strictObject({
  name: nameSchema,
  description: toolFields.description.default(''),
  input_schema: toolFields.input_schema.default({ type: 'object', properties: {} }),
  effect: toolFields.effect,
  executor: toolFields.executor,
  supports_dry_run: toolFields.supports_dry_run.default(false),
  idempotent: toolFields.idempotent.default(false),
  auth: toolFields.auth.optional(),
  cache_ttl_seconds: toolFields.cache_ttl_seconds.optional(),
});

/** PATCH: only the fields present change (`auth: null`, `cache_ttl_seconds: null` remove them); the merged tool is validated again as a whole. */
export const toolUpdateSchema = z
  .strictObject({ ...toolFields, auth: toolFields.auth.nullable(), cache_ttl_seconds: toolFields.cache_ttl_seconds.nullable() })
  .partial();

export type ToolCreate = z.infer<typeof toolCreateSchema>;
export type ToolExecutor = z.infer<typeof executorSchema>;
export type ToolEffect = ToolCreate['effect'];

/** What a run carries about each tool: the definition minus anything stored elsewhere. No secrets. */
export interface ToolSpec {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  effect: ToolEffect;
  executor: ToolExecutor;
  supports_dry_run: boolean;
  idempotent: boolean;
  auth?: ToolAuth;
  cache_ttl_seconds?: number;
}

/**
 * Why a tool may not set `cache_ttl_seconds`, or undefined when it may. Only a read tool's answer can be
 * reused, and only an http tool's: built-ins are answered in-process (current_time is never the same
 * twice, echo costs nothing) or read platform data that must be seen fresh (load_skill, memory_search),
 * and a client tool is answered by the caller. A tool with `auth` answers for the user's grant, which can
 * be revoked or bound to another account at any time, so its answers are not reused either.
 */
export function cacheRefusal(t: Pick<ToolSpec, 'effect' | 'executor' | 'auth'>): string | undefined {
  if (t.effect !== 'read') return 'cache_ttl_seconds is only for read tools: a write tool is executed every time';
  if (t.executor.type !== 'http') return `cache_ttl_seconds is only for http tools, not ${t.executor.type} ones`;
  if (t.auth) return 'cache_ttl_seconds cannot be used with auth: the answer depends on the user\'s current grant';
  return undefined;
}

/** The tool's TTL when its answers may be reused; the activity checks again what validation checked. */
export const cacheTtlOf = (t: ToolSpec): number | undefined => (t.cache_ttl_seconds && !cacheRefusal(t) ? t.cache_ttl_seconds : undefined);

/** API.md 2.1: additionalProperties is false unless the schema sets it. */
export function withStrictDefaults(schema: Record<string, unknown>): Record<string, unknown> {
  return 'additionalProperties' in schema ? schema : { ...schema, additionalProperties: false };
}
