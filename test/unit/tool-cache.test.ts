// What makes two tool calls identical for the tool result cache (activities/tool-cache.ts cacheKey), and
// which tools may set cache_ttl_seconds at all (src/domain/tool.ts cacheRefusal).
import { describe, expect, it } from 'vitest';
import { cacheKey } from '../../activities/tool-cache';
import { cacheRefusal, cacheTtlOf, type ToolSpec } from '../../src/domain/tool';

const executor = { type: 'http' as const, url: 'https://tools.example.com/lookup', method: 'POST' as const, headers: { authorization: 'Bearer {{vault.t}}' }, timeout_seconds: 30 };
const tool: ToolSpec = { name: 'lookup', description: '', input_schema: { type: 'object' }, effect: 'read', executor, supports_dry_run: false, idempotent: false, cache_ttl_seconds: 60 };
const parts = { workspace_id: 'ws_1', tool, executor, arguments: { city: 'Berlin', units: 'c' }, user_reference: 'alice', vault: [{ name: 't', updated_at: '2026-01-01T00:00:00.000Z' }] };

describe('the tool result cache key', () => {
  it('ignores the order of argument keys', () => {
    expect(cacheKey({ ...parts, arguments: { units: 'c', city: 'Berlin' } })).toBe(cacheKey(parts));
  });

  it('changes with the workspace, the definition, the executor the environment made, the arguments, the user and a vault rotation', () => {
    const key = cacheKey(parts);
    const variants = [
      { ...parts, workspace_id: 'ws_2' },
      { ...parts, tool: { ...tool, description: 'changed' } },
      { ...parts, executor: { ...executor, url: 'https://staging.example.com/lookup' } },
      { ...parts, arguments: { city: 'Paris', units: 'c' } },
      { ...parts, user_reference: 'bob' },
      { ...parts, user_reference: null },
      { ...parts, vault: [{ name: 't', updated_at: '2026-01-02T00:00:00.000Z' }] },
    ];
    const keys = variants.map(cacheKey);
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
    // No user is a user of its own, not the user named "null".
    expect(cacheKey({ ...parts, user_reference: null })).not.toBe(cacheKey({ ...parts, user_reference: 'null' }));
  });
});

describe('which tools may be cached', () => {
  it('read http tools without auth only', () => {
    expect(cacheRefusal(tool)).toBeUndefined();
    expect(cacheTtlOf(tool)).toBe(60);
    expect(cacheRefusal({ ...tool, effect: 'write' })).toMatch(/read tools/);
    expect(cacheRefusal({ ...tool, executor: { type: 'client' } })).toMatch(/http tools/);
    for (const name of ['current_time', 'echo', 'load_skill', 'memory_search', 'memory_write'] as const) expect(cacheRefusal({ ...tool, executor: { type: 'builtin', name } })).toMatch(/http tools/);
    expect(cacheRefusal({ ...tool, auth: { connection: 'crm' } })).toMatch(/auth/);
    // A definition the activity is handed is checked again: a write never reaches the cache.
    expect(cacheTtlOf({ ...tool, effect: 'write' })).toBeUndefined();
    expect(cacheTtlOf({ ...tool, cache_ttl_seconds: undefined })).toBeUndefined();
  });
});
