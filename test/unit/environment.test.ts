// The pure parts of environments (API.md 11): how an override changes a tool, and {{env.NAME}} templates.
import { describe, expect, it } from 'vitest';
import { applyToolOverride, envRefs, environmentCreateSchema, fillEnv, narrowTools } from '../../src/domain/environment';

const tool = { type: 'http' as const, url: 'https://prod.example.com/lookup', method: 'POST' as const, headers: { Authorization: 'Bearer {{vault.token}}', 'X-Env': 'prod' }, timeout_seconds: 30 };

describe('environments', () => {
  it('an override replaces the url and same-named headers (case-insensitively), and keeps the other headers', () => {
    const out = applyToolOverride(tool, { url: 'https://staging.example.com/{{env.PATH}}', headers: { 'x-env': '{{env.STAGE}}' } });
    expect(out).toEqual({ ...tool, url: 'https://staging.example.com/{{env.PATH}}', headers: { Authorization: 'Bearer {{vault.token}}', 'x-env': '{{env.STAGE}}' } });
    expect(applyToolOverride(tool, undefined)).toBe(tool);
    expect(applyToolOverride(tool, {}).url).toBe(tool.url);
  });

  it('finds and fills {{env.NAME}} references, leaving {{vault.NAME}} for the vault', () => {
    expect(envRefs(['{{env.A}}/{{ env.B }}', 'x {{env.A}} {{vault.C}}'])).toEqual(['A', 'B']);
    const vars = new Map([['A', 'a'], ['B', '$&b']]);
    expect(fillEnv('{{env.A}}/{{ env.B }} {{vault.C}}', vars)).toBe('a/$&b {{vault.C}}');
  });

  it('allowed_tools narrows the tools; absent or null keeps them all', () => {
    const tools = [{ name: 'a' }, { name: 'b' }];
    expect(narrowTools(tools, ['b', 'z']).map((t) => t.name)).toEqual(['b']);
    expect(narrowTools(tools, [])).toEqual([]);
    expect(narrowTools(tools, null)).toBe(tools);
    expect(narrowTools(tools, undefined)).toBe(tools);
  });

  it('the schema refuses bad names, non-string variables and unknown override fields', () => {
    expect(environmentCreateSchema.safeParse({ name: 'staging', variables: { STAGE: 's' }, tools: { lookup: { url: 'https://x.example/' } }, allowed_tools: ['lookup'] }).success).toBe(true);
    for (const bad of [{ name: '9x' }, { name: 'ok', variables: { 'a-b': 'x' } }, { name: 'ok', variables: { A: 1 } }, { name: 'ok', tools: { lookup: { method: 'GET' } } }, { name: 'ok', tools: { lookup: { url: 'file:///etc/passwd' } } }]) {
      expect(environmentCreateSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
