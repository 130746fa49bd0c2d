// JSON Schema (draft 2020-12) compilation for tool input schemas; shared by the tools service (to
// reject a bad schema when it is saved) and the model activity (to check the model's arguments).
// Schemas come from tenants: no `$id`, only local `#...` references (no schema can name or block another),
// patterns run in RE2, and memory is bounded (an LRU of validators, Ajv instances renewed by generation).
import crypto from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction, ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { compileRegex, regexProblem } from '../domain/regex';
import { withStrictDefaults } from '../domain/tool';

/** Ajv's `code.regExp`: every `pattern` and `patternProperties` key runs in RE2 (linear time). */
const re2Engine = Object.assign(
  (pattern: string, flags: string) => {
    const re = compileRegex(pattern);
    // Ajv keys the compiled patterns of an instance by toString(): it must differ per pattern.
    return { test: (s: string) => re.test(s), toString: () => `/${pattern}/${flags}` };
  },
  { code: 'compileRegex' },
);

/**
 * Compiles per generation of Ajv instances: an instance keeps every schema, function and pattern it ever
 * compiled in its code scope (removeSchema frees only its lookup cache), so after GENERATION compiles a
 * fresh one takes over and the old one goes once no cached validator uses it. With `$id` refused and each
 * schema unregistered after compiling, an instance's namespace is empty between compiles: no schema can
 * name or block another.
 */
const GENERATION = 100;
const newAjv = (): Ajv2020 => {
  const a = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, code: { regExp: re2Engine } });
  addFormats(a);
  return a;
};
/**
 * Two lines of generations: one for the validators kept in the cache, one for the save-time check.
 * The check's compiles are never cached, so its instances are dropped whole when renewed; and the
 * cache's instances hold only cached compiles, so its MAX_CACHED_VALIDATORS span at most a few
 * generations (a check cannot make a cached validator pin an instance full of refused schemas).
 */
class AjvGenerations {
  private ajv = newAjv();
  private compiled = 0;
  next(): Ajv2020 {
    if (++this.compiled > GENERATION) {
      this.ajv = newAjv();
      this.compiled = 1;
    }
    return this.ajv;
  }
}
const forCache = new AjvGenerations();
const forCheck = new AjvGenerations();

export const MAX_CACHED_VALIDATORS = 200;
const cache = new Map<string, ValidateFunction>();

/** How many compiled validators are kept (never more than MAX_CACHED_VALIDATORS). */
export const validatorCacheSize = (): number => cache.size;

/** Nesting of subschemas (and of any JSON value in the schema). */
export const MAX_SCHEMA_DEPTH = 32;
/** `uniqueItems` compares every pair of items (O(n²)) unless the items are of a scalar type. */
export const MAX_UNIQUE_ITEMS = 100;

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_ONE = ['items', 'additionalItems', 'additionalProperties', 'unevaluatedProperties', 'unevaluatedItems', 'contains', 'propertyNames', 'not', 'if', 'then', 'else'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);

export interface SchemaProblem {
  /** Where in the schema, e.g. `properties.code.pattern`. */
  path: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

function tooDeep(v: unknown, depth: number): boolean {
  if (depth > MAX_SCHEMA_DEPTH) return true;
  if (Array.isArray(v)) return v.some((x) => tooDeep(x, depth + 1));
  if (isObject(v)) return Object.values(v).some((x) => tooDeep(x, depth + 1));
  return false;
}

function patternProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'u'); // JSON Schema patterns are ECMA-262 (compiling never backtracks)
  } catch (err) {
    return `is not a valid ECMA-262 regular expression: ${(err as Error).message}`;
  }
  const problem = regexProblem(pattern);
  return problem ? `must be a regular expression RE2 can run (no lookaround, no backreferences): ${problem}` : null;
}

function uniqueItemsBounded(s: Record<string, unknown>): boolean {
  if (typeof s.maxItems === 'number' && s.maxItems <= MAX_UNIQUE_ITEMS) return true;
  // Ajv's linear check (a hash of the items) applies when `items` declares only scalar types.
  const t = isObject(s.items) ? s.items.type : undefined;
  const types = typeof t === 'string' ? [t] : Array.isArray(t) ? t : [];
  return types.length > 0 && types.every((x) => SCALAR_TYPES.has(x as string));
}

function nodeProblem(s: Record<string, unknown>, path: string): SchemaProblem | null {
  if ('$id' in s) return { path: join(path, '$id'), message: 'is not supported: each schema is compiled on its own; use $defs and local "#/..." references' };
  for (const k of ['$ref', '$dynamicRef']) {
    if (k in s && !(typeof s[k] === 'string' && (s[k] as string).startsWith('#'))) {
      return { path: join(path, k), message: 'must be a local reference ("#/$defs/..."); remote and absolute references are refused' };
    }
  }
  if (typeof s.pattern === 'string') {
    const problem = patternProblem(s.pattern);
    if (problem) return { path: join(path, 'pattern'), message: problem };
  }
  if (isObject(s.patternProperties)) {
    for (const key of Object.keys(s.patternProperties)) {
      const problem = patternProblem(key);
      if (problem) return { path: join(join(path, 'patternProperties'), key), message: `(a key) ${problem}` };
    }
  }
  if (s.uniqueItems === true && !uniqueItemsBounded(s)) {
    return { path: join(path, 'uniqueItems'), message: `needs "maxItems" of at most ${MAX_UNIQUE_ITEMS} unless "items" has a scalar type` };
  }
  return null;
}

/** The subschemas of a schema object, with where they are. */
function* subschemas(s: Record<string, unknown>, path: string): Generator<[string, unknown]> {
  for (const k of SCHEMA_MAPS) {
    if (isObject(s[k])) for (const [name, sub] of Object.entries(s[k] as Record<string, unknown>)) yield [join(join(path, k), name), sub];
  }
  for (const k of SCHEMA_ONE) if (k in s) yield [join(path, k), s[k]];
  for (const k of SCHEMA_LISTS) {
    if (Array.isArray(s[k])) for (const [i, sub] of (s[k] as unknown[]).entries()) yield [join(join(path, k), i), sub];
  }
}

function walk(s: unknown, path: string): SchemaProblem | null {
  if (!isObject(s)) return null;
  const here = nodeProblem(s, path);
  if (here) return here;
  for (const [p, sub] of subschemas(s, path)) {
    const problem = walk(sub, p);
    if (problem) return problem;
  }
  return null;
}

/**
 * Subschemas applied with every `$ref` inlined: Ajv calls a referenced schema once per reference, so 30
 * `$defs` each referencing the next twice are 2^30 calls on every validation. A reference back into its
 * own chain (recursion, which descends into the data) counts once.
 */
export const MAX_EXPANDED_SUBSCHEMAS = 10_000;

function expandedSize(root: Record<string, unknown>): number {
  const anchors = new Map<string, unknown>();
  const collect = (s: unknown): void => {
    if (!isObject(s)) return;
    for (const k of ['$anchor', '$dynamicAnchor']) if (typeof s[k] === 'string') anchors.set(s[k] as string, s);
    for (const [, sub] of subschemas(s, '')) collect(sub);
  };
  collect(root);
  const resolve = (ref: string): unknown => {
    if (ref !== '#' && !ref.startsWith('#/')) return anchors.get(ref.slice(1));
    let at: unknown = root;
    for (const raw of ref === '#' ? [] : ref.slice(2).split('/')) {
      let key = raw;
      try {
        key = decodeURIComponent(raw);
      } catch {
        /* Ajv refuses it when compiling */
      }
      key = key.replace(/~1/g, '/').replace(/~0/g, '~');
      at = isObject(at) || Array.isArray(at) ? (at as Record<string, unknown>)[key] : undefined;
    }
    return at;
  };
  const memo = new Map<object, number>();
  const onChain = new Set<object>();
  const size = (s: unknown): number => {
    if (!isObject(s) || onChain.has(s)) return 1;
    const known = memo.get(s);
    if (known !== undefined) return known;
    onChain.add(s);
    let n = 1;
    for (const k of ['$ref', '$dynamicRef']) {
      if (typeof s[k] === 'string' && n <= MAX_EXPANDED_SUBSCHEMAS) n += size(resolve(s[k] as string));
    }
    for (const [, sub] of subschemas(s, '')) {
      if (n > MAX_EXPANDED_SUBSCHEMAS) break;
      n += size(sub);
    }
    onChain.delete(s);
    memo.set(s, n);
    return n;
  };
  return size(root);
}

/** What the platform refuses in a tenant's schema before Ajv sees it (Ajv's own errors come from compiling). */
export function schemaProblem(schema: Record<string, unknown>): SchemaProblem | null {
  if (tooDeep(schema, 0)) return { path: '', message: `nests deeper than ${MAX_SCHEMA_DEPTH} levels` };
  const problem = walk(schema, '');
  if (problem) return problem;
  if (expandedSize(schema) > MAX_EXPANDED_SUBSCHEMAS) return { path: '', message: `applies more than ${MAX_EXPANDED_SUBSCHEMAS} subschemas once its $refs are expanded` };
  return null;
}

function compileIsolated(strict: Record<string, unknown>, generations: AjvGenerations): ValidateFunction {
  const problem = schemaProblem(strict);
  if (problem) throw new Error(`${problem.path || '(root)'} ${problem.message}`);
  const instance = generations.next();
  try {
    return instance.compile(strict);
  } finally {
    // A schema without `$id` is registered as "" while it compiles (that is how `$ref: "#"` resolves):
    // unregister it, so that nothing of it stays for the next compile to find.
    instance.removeSchema(strict);
    instance.removeSchema('');
  }
}

/** Compiles without keeping the result: the save-time check, so that refused or conflicting creates cost no memory. */
export function checkSchema(schema: Record<string, unknown>): void {
  compileIsolated(withStrictDefaults(schema), forCheck);
}

export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const strict = withStrictDefaults(schema);
  const key = crypto.createHash('sha256').update(JSON.stringify(strict)).digest('base64url');
  let fn = cache.get(key);
  if (fn) {
    cache.delete(key);
  } else {
    fn = compileIsolated(strict, forCache);
    if (cache.size >= MAX_CACHED_VALIDATORS) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, fn);
  return fn;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: string }).additionalProperty)}` : ''}`)
    .join('; ');
}

/**
 * Returns null when the arguments are valid, else a message for the model. A schema saved before the
 * checks above (an `$id`, a lookahead, an unbounded `uniqueItems`) refuses every call instead of failing the caller.
 */
export function validateArguments(schema: Record<string, unknown>, args: unknown): string | null {
  let fn: ValidateFunction;
  try {
    fn = compileSchema(schema);
  } catch (err) {
    return `the tool's input schema cannot be used: ${(err as Error).message}`;
  }
  return fn(args) ? null : describeErrors(fn.errors);
}
