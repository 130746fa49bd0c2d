// Memory (src/domain/memory.ts): the request limits, the tools an agent with memory gets (their input
// schemas are the request schemas and compile as tool schemas), and which embeddings the ranking accepts.
import { describe, expect, it } from 'vitest';
import { agentCreateSchema } from '../../src/domain/agent';
import {
  MAX_ENTRY_TEXT_BYTES,
  memoryEntryCreateSchema,
  memorySearchSchema,
  memoryTools,
  usableEmbedding,
} from '../../src/domain/memory';
import { compileSchema } from '../../src/core/json-schema';

describe('memory', () => {
  it('an entry is at most 32 KiB of UTF-8, counted in bytes, not characters', () => {
    expect(memoryEntryCreateSchema.safeParse({ text: 'x'.repeat(MAX_ENTRY_TEXT_BYTES) }).success).toBe(true);
    expect(memoryEntryCreateSchema.safeParse({ text: 'x'.repeat(MAX_ENTRY_TEXT_BYTES + 1) }).success).toBe(false);
    // 2 bytes each: half as many characters already reach the limit.
    expect(memoryEntryCreateSchema.safeParse({ text: 'é'.repeat(MAX_ENTRY_TEXT_BYTES / 2) }).success).toBe(true);
    expect(memoryEntryCreateSchema.safeParse({ text: 'é'.repeat(MAX_ENTRY_TEXT_BYTES / 2 + 1) }).success).toBe(false);
    for (const bad of [{ text: '' }, { text: '  \n ' }, { text: 'a\u0000b' }, { text: 'ok', metadata: { k: 'a\u0000' } }, { text: 'ok', extra: 1 }, { text: 5 }]) {
      expect(memoryEntryCreateSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('a search defaults to 10 results and takes at most 50', () => {
    expect(memorySearchSchema.parse({ query: 'refunds' })).toEqual({ query: 'refunds', limit: 10 });
    for (const bad of [{ query: 'x', limit: 0 }, { query: 'x', limit: 51 }, { query: 'x', limit: 1.5 }, { query: '' }, { query: 'x\u0000' }, {}]) {
      expect(memorySearchSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('memory_search is a read tool; memory_write, offered only with write, is a write tool; both take the API bodies', () => {
    const [search, ...rest] = memoryTools('notes', false);
    expect(rest).toEqual([]);
    expect(search).toMatchObject({ name: 'memory_search', effect: 'read', executor: { type: 'builtin', name: 'memory_search' } });
    const [, write] = memoryTools('notes', true);
    expect(write).toMatchObject({ name: 'memory_write', effect: 'write', executor: { type: 'builtin', name: 'memory_write' }, idempotent: true });
    expect(search!.input_schema).toMatchObject({ type: 'object', required: ['query'], additionalProperties: false, properties: { query: { type: 'string' }, limit: { type: 'integer', maximum: 50 } } });
    expect(write!.input_schema).toMatchObject({ type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string', maxLength: MAX_ENTRY_TEXT_BYTES }, metadata: { type: 'object' } } });
    expect(search!.input_schema).not.toHaveProperty('$schema');
    // What the model activity checks the model's arguments with.
    const checkSearch = compileSchema(search!.input_schema);
    expect(checkSearch({ query: 'x' })).toBe(true);
    expect(checkSearch({ query: 'x', store: 'other' })).toBe(false);
    const checkWrite = compileSchema(write!.input_schema);
    expect(checkWrite({ text: 'x', metadata: { a: 1 } })).toBe(true);
    expect(checkWrite({ metadata: {} })).toBe(false);
  });

  it("an agent's memory names a store and writes only when told to", () => {
    const base = { name: 'a', model: { card: 'c' } };
    expect(agentCreateSchema.parse({ ...base, memory: { store: 'notes' } }).memory).toEqual({ store: 'notes', write: false });
    expect(agentCreateSchema.parse({ ...base, memory: { store: 'mem_0190aa', write: true } }).memory).toEqual({ store: 'mem_0190aa', write: true });
    expect(agentCreateSchema.parse(base).memory).toBeUndefined();
    for (const memory of [{}, { store: '' }, { store: 'notes', write: 'yes' }, { store: 'notes', extra: 1 }, 'notes']) {
      expect(agentCreateSchema.safeParse({ ...base, memory }).success, JSON.stringify(memory)).toBe(false);
    }
  });

  it('the ranking takes finite, non-zero vectors only', () => {
    expect(usableEmbedding([0.1, -2, 3])).toBe(true);
    for (const bad of [[], [0, 0, 0], [1, Number.NaN], [1, Infinity], ['1', 2], null, 'x', new Array(16_001).fill(1)]) {
      expect(usableEmbedding(bad), String(bad).slice(0, 20)).toBe(false);
    }
  });
});
