// Tenant JSON Schemas: RE2 patterns, bounded uniqueItems and depth, no shared `$id` namespace, and a
// bounded cache of compiled validators.
import { describe, expect, it } from 'vitest';
import { checkSchema, compileSchema, MAX_CACHED_VALIDATORS, schemaProblem, validateArguments, validatorCacheSize } from '../../src/core/json-schema';
import { regexProblem, regexTest } from '../../src/domain/regex';
import { judge } from '../../src/domain/eval';

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', properties, ...extra });
const hostile = `${'a'.repeat(40)}!`;

describe('tool input schemas', () => {
  it('a backtracking pattern answers at once (RE2), in pattern and patternProperties', () => {
    expect(validateArguments(obj({ code: { type: 'string', pattern: '^(a+)+$' } }), { code: hostile })).toMatch(/must match pattern/);
    expect(validateArguments(obj({ code: { type: 'string', pattern: '^(a+)+$' } }), { code: 'aaa' })).toBeNull();
    expect(validateArguments({ type: 'object', patternProperties: { '^(a+)+$': { type: 'number' } } }, { [hostile]: 1 })).toMatch(/must NOT have additional properties/);
  });

  it('refuses what RE2 cannot run, naming the place', () => {
    expect(schemaProblem(obj({ code: { type: 'string', pattern: '^(?=a)a$' } }))).toMatchObject({ path: 'properties.code.pattern' });
    expect(schemaProblem(obj({ code: { type: 'string', pattern: '(a)\\1' } }))).toMatchObject({ path: 'properties.code.pattern' });
    expect(schemaProblem({ type: 'object', patternProperties: { '(?<!x)y': {} } })).toMatchObject({ path: 'patternProperties.(?<!x)y' });
    expect(schemaProblem(obj({ code: { type: 'string', pattern: '^\\u0041\\d{2}$' } }))).toBeNull();
    expect(validateArguments(obj({ code: { type: 'string', pattern: '^\\u0041\\uD83D\\uDE00$' } }), { code: 'A😀' })).toBeNull();
  });

  it('bounds uniqueItems (quadratic) and the nesting depth', () => {
    expect(schemaProblem(obj({ xs: { type: 'array', uniqueItems: true } }))).toMatchObject({ path: 'properties.xs.uniqueItems' });
    expect(schemaProblem(obj({ xs: { type: 'array', uniqueItems: true, items: { type: 'object' } } }))).toMatchObject({ path: 'properties.xs.uniqueItems' });
    expect(schemaProblem(obj({ xs: { type: 'array', uniqueItems: true, maxItems: 100 } }))).toBeNull();
    expect(schemaProblem(obj({ xs: { type: 'array', uniqueItems: true, items: { type: 'string' } } }))).toBeNull();
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { x: deep } };
    expect(schemaProblem(deep)).toMatchObject({ path: '' });
  });

  it('refuses references that multiply (each $def applying the next twice); recursion is fine', () => {
    const $defs: Record<string, unknown> = { d30: { type: 'string' } };
    for (let i = 0; i < 30; i++) $defs[`d${i}`] = { allOf: [{ $ref: `#/$defs/d${i + 1}` }, { $ref: `#/$defs/d${i + 1}` }] };
    expect(schemaProblem({ type: 'object', $defs, properties: { x: { $ref: '#/$defs/d0' } } })?.message).toMatch(/subschemas once its \$refs are expanded/);
    const tree = { type: 'object', properties: { value: { type: 'number' }, left: { $ref: '#' }, right: { $ref: '#' } } };
    expect(schemaProblem(tree)).toBeNull();
    expect(validateArguments(tree, { value: 1, left: { value: 2, right: { value: 'x' } } })).toMatch(/must be number/);
  });

  it('refuses $id and non-local references; local ones work', () => {
    expect(schemaProblem({ type: 'object', $id: 'https://a.example/s' })).toMatchObject({ path: '$id' });
    expect(schemaProblem(obj({ x: { $id: 'other' } }))).toMatchObject({ path: 'properties.x.$id' });
    expect(schemaProblem(obj({ x: { $ref: 'https://a.example/s' } }))).toMatchObject({ path: 'properties.x.$ref' });
    expect(schemaProblem(obj({ x: { $ref: 'tenant-a#/$defs/x' } }))).toMatchObject({ path: 'properties.x.$ref' });
    // A property that is named `$id` is data, not the keyword.
    expect(schemaProblem(obj({ $id: { type: 'string' } }))).toBeNull();
    const local = { type: 'object', $defs: { n: { type: 'integer' } }, properties: { x: { $ref: '#/$defs/n' } } };
    expect(validateArguments(local, { x: 1.5 })).toMatch(/must be integer/);
    expect(validateArguments(local, { x: 2 })).toBeNull();
  });

  it('one schema cannot block or be referenced by another (no shared namespace)', () => {
    // Before, the first schema's `$id` was registered process-wide: a second schema with the same `$id`
    // failed to compile, and any schema could `$ref` it.
    const a = { type: 'object', $defs: { secret: { type: 'string', const: 'A' } }, properties: { x: { $ref: '#/$defs/secret' } } };
    const b = { type: 'object', $defs: { secret: { type: 'number' } }, properties: { x: { $ref: '#/$defs/secret' } } };
    expect(validateArguments(a, { x: 'A' })).toBeNull();
    expect(validateArguments(b, { x: 1 })).toBeNull();
    expect(validateArguments(b, { x: 'A' })).toMatch(/must be number/);
    expect(() => checkSchema({ type: 'object', $id: 'shared' })).toThrow(/\$id/);
    expect(() => checkSchema({ type: 'object', $id: 'shared' })).toThrow(/\$id/);
    expect(() => checkSchema(obj({ x: { $ref: 'shared' } }))).toThrow(/local reference/);
  });

  it('compiled validators stay within their bound however many schemas are compiled', () => {
    for (let i = 0; i < MAX_CACHED_VALIDATORS * 2; i++) {
      const schema = obj({ [`f${i}`]: { type: 'string', pattern: `^x${i}$` } });
      checkSchema(schema);
      expect(validateArguments(schema, { [`f${i}`]: `x${i}` })).toBeNull();
      expect(validatorCacheSize()).toBeLessThanOrEqual(MAX_CACHED_VALIDATORS);
    }
    expect(validatorCacheSize()).toBe(MAX_CACHED_VALIDATORS);
    // The most recently used one is still there (an LRU, not a clear-all).
    const last = obj({ [`f${MAX_CACHED_VALIDATORS * 2 - 1}`]: { type: 'string', pattern: `^x${MAX_CACHED_VALIDATORS * 2 - 1}$` } });
    expect(compileSchema(last)).toBe(compileSchema(last));
  });

  it('a schema saved before these checks refuses calls instead of throwing', () => {
    expect(validateArguments(obj({ c: { type: 'string', pattern: '(?=a)' } }), { c: 'a' })).toMatch(/cannot be used/);
  });
});

describe('policy and eval patterns', () => {
  it('run in RE2: a backtracking pattern is decided at once; lookaround is refused', () => {
    expect(regexTest('^(a+)+$', hostile)).toBe(false);
    expect(regexTest('^(a+)+$', 'aaaa')).toBe(true);
    expect(regexProblem('(?=a)')).toMatch(/Perl syntax/);
    expect(regexProblem('(a)\\1')).toMatch(/escape/);
    expect(judge({ output_matches: '^(a+)+$' }, { status: 'completed', output_text: hostile, tool_calls: [], cost_usd: 0, latency_ms: 0 } as never).failures).toEqual([
      { expectation: 'output_matches', message: expect.stringMatching(/does not match/) },
    ]);
  });
});
