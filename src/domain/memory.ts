// Memory stores (API.md 11): named collections of text entries an agent searches with the built-in
// `memory_search` tool and, when allowed, adds to with `memory_write`. Here: the request schemas and
// limits, the two tool definitions (their input schemas are the request schemas) and the vector checks.
// Pure: workflows may import it.
import { z } from 'zod';
import { metadataSchema, nameSchema } from './common';
import type { ToolSpec } from './tool';

/** One entry's text, in UTF-8 bytes: memory is for facts and notes; a search puts up to `limit` of them in the model's input. */
export const MAX_ENTRY_TEXT_BYTES = 32 * 1024;
export const MAX_QUERY_CHARS = 4096;
export const MAX_SEARCH_LIMIT = 50;
/** Entries per store: exact cosine ranking reads every entry of the store, so a store stays bounded. */
export const MAX_STORE_ENTRIES = 10_000;
/** pgvector's limit for a `vector`; an embedding longer than this is refused as a provider error. */
export const MAX_EMBEDDING_DIMENSIONS = 16_000;

export const MEMORY_SEARCH_TOOL = 'memory_search';
export const MEMORY_WRITE_TOOL = 'memory_write';
export const MEMORY_TOOLS: readonly string[] = [MEMORY_SEARCH_TOOL, MEMORY_WRITE_TOOL];

const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length;
const notBlank = (s: string): boolean => s.trim().length > 0;
// The API refuses NUL characters before any schema (api/input.ts); a model's tool arguments reach these
// schemas directly, and PostgreSQL text and jsonb cannot store a NUL.
const noNul = (s: string): boolean => !s.includes('\u0000');
const NO_NUL = 'must not contain NUL characters';

export const memoryStoreCreateSchema = z.strictObject({
  name: nameSchema,
  /** Absent: full-text ranking. Present: semantic search through the card's OpenAI-wire /embeddings. */
  embedding: z
    .strictObject({
      card: z.string().min(1).max(64),
      model: z.string().min(1).max(200),
    })
    .optional(),
});

export const memoryEntryCreateSchema = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(MAX_ENTRY_TEXT_BYTES)
    .refine(notBlank, 'must not be blank')
    .refine(noNul, NO_NUL)
    .refine((s) => utf8Bytes(s) <= MAX_ENTRY_TEXT_BYTES, `must be at most ${MAX_ENTRY_TEXT_BYTES} bytes of UTF-8`)
    .meta({ description: `The entry's text, at most ${MAX_ENTRY_TEXT_BYTES} bytes of UTF-8` }),
  // JSON text escapes a NUL as \u0000, which jsonb refuses (a literal backslash-u0000 is refused too: rare).
  metadata: metadataSchema
    .refine((m) => !JSON.stringify(m).includes('\\u0000'), NO_NUL)
    .meta({ description: 'Keys and values kept with the entry (at most 50 keys, 16 KiB)' })
    .optional(),
});

export const memorySearchSchema = z.strictObject({
  query: z.string().min(1).max(MAX_QUERY_CHARS).refine(notBlank, 'must not be blank').refine(noNul, NO_NUL).meta({ description: 'What to look for' }),
  limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).default(10).meta({ description: `How many entries, best first (1-${MAX_SEARCH_LIMIT})` }),
});

/** On the agent (agent.ts): the store by id or name; `write` also offers `memory_write`. */
export const agentMemorySchema = z.strictObject({
  store: nameSchema,
  write: z.boolean().default(false),
});

export type MemoryStoreCreate = z.infer<typeof memoryStoreCreateSchema>;
export type MemoryEntryCreate = z.infer<typeof memoryEntryCreateSchema>;
export type MemorySearch = z.infer<typeof memorySearchSchema>;
export type AgentMemory = z.infer<typeof agentMemorySchema>;

/** The tool's arguments are the API's request body: the same schema, as JSON Schema for the model. */
function inputSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** The built-in memory tools an agent with `memory` gets: search always, write only with `write: true`. */
export function memoryTools(storeName: string, write: boolean): ToolSpec[] {
  const search: ToolSpec = {
    name: MEMORY_SEARCH_TOOL,
    description: `Searches your memory (the store "${storeName}") and returns the entries that best match the query, best first, each with a score.`,
    input_schema: inputSchemaOf(memorySearchSchema),
    effect: 'read',
    executor: { type: 'builtin', name: MEMORY_SEARCH_TOOL },
    supports_dry_run: false,
    idempotent: true,
  };
  const save: ToolSpec = {
    name: MEMORY_WRITE_TOOL,
    description: `Saves a note to your memory (the store "${storeName}") so that later searches find it. Write one self-contained fact per call.`,
    input_schema: inputSchemaOf(memoryEntryCreateSchema),
    effect: 'write',
    executor: { type: 'builtin', name: MEMORY_WRITE_TOOL },
    supports_dry_run: false,
    // Idempotent: the entry is keyed by its tool call, so a retried call stores it once.
    idempotent: true,
  };
  return write ? [search, save] : [search];
}

/** An embedding the ranking can use: finite numbers, not all zero (cosine is undefined for a zero vector). */
export function usableEmbedding(v: unknown): v is number[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_EMBEDDING_DIMENSIONS) return false;
  let norm = 0;
  for (const x of v) {
    if (typeof x !== 'number' || !Number.isFinite(x)) return false;
    norm += x * x;
  }
  return norm > 0;
}

export const vectorNorm = (v: readonly number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
