// fast-check arbitraries derived from the JSON Schemas of /openapi.json (which come from the zod schemas
// that validate requests): values of the right shape with hostile contents, values with one field of the
// wrong type, and hostile query-string values. Used by test/integration/fuzz.test.ts.
import fc from 'fast-check';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  maxLength?: number;
  pattern?: string;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
};

/** Strings a parser or a database column may choke on. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0001\u001f\u007f',
  '\r\n\t',
  '\ud800',
  '\udfff\ud800',
  '\uffff\ufffe',
  '💥🧨',
  'ăгент名前',
  '\u202e\u200b',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x10',
  'null',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  "' OR 1=1 --",
  '"; DROP TABLE runs; --',
  '../../etc/passwd',
  '%00',
  '%ff',
  '{{vault.SECRET}}',
  '{{env.X}}',
  '<script>alert(1)</script>',
  'http://127.0.0.1:1/',
  'file:///etc/passwd',
  '*',
];

const NASTY_NUMBERS = [0, -0, 1, -1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, -(2 ** 63), 1e21, 1e308, -1e308, Number.MIN_VALUE, Number.EPSILON];

const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

export const hostileString = (maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,20}$/) },
    // Just over the documented maximum, and a long one.
    { weight: 1, arbitrary: fc.constantFrom(maxLength + 1, Math.min(maxLength * 4, 300_000), 70_000).map((n) => 'x'.repeat(n)) },
  );

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...NASTY_NUMBERS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** An own, enumerable `__proto__` (and friends) survives JSON.stringify, as it does in a hand-written body. */
function withKeys(base: Record<string, unknown>, extra: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of extra) Object.defineProperty(out, k, { value: v, enumerable: true, configurable: true, writable: true });
  return out;
}

/** Now and then (strict schemas refuse them, so not always) fields the schema does not name. */
const extraFields = fc.oneof(
  { weight: 5, arbitrary: fc.constant<[string, unknown][]>([]) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...POLLUTION_KEYS), fc.string({ maxLength: 10 })), fc.jsonValue({ maxDepth: 2 })), { minLength: 1, maxLength: 2 }) },
);

/** Values of the schema's shape whose leaves are hostile; known names (`hints`) keep some requests going deep. */
export function shaped(schema: JsonSchema, hints: Record<string, string[]> = {}, key = '', depth = 0): fc.Arbitrary<unknown> {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return fc.oneof(...branches.map((b) => shaped(b, hints, key, depth)));
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...schema.enum) }, { weight: 1, arbitrary: hostileString() });
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string': {
      const known = hints[key];
      const hostile = hostileString(schema.maxLength ?? 200);
      // A string of the schema's pattern, so that names pass and the rest of the body is looked at.
      const s = schema.pattern ? fc.oneof(fc.stringMatching(new RegExp(schema.pattern)).map((x) => x.slice(0, schema.maxLength ?? 64)), hostile) : hostile;
      return known ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: s }) : s;
    }
    case 'integer':
    case 'number': {
      const inRange = fc.integer({ min: Math.max(schema.minimum ?? -1000, -1e6), max: Math.min(schema.maximum ?? 1000, 1e6) });
      return fc.oneof({ weight: 2, arbitrary: inRange }, { weight: 1, arbitrary: hostileNumber });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (schema.prefixItems) return fc.tuple(...schema.prefixItems.map((s) => shaped(s, hints, key, depth + 1)));
      const item = schema.items ? shaped(schema.items, hints, key, depth + 1) : fc.jsonValue({ maxDepth: 2 });
      return fc.oneof(
        { weight: 4, arbitrary: fc.array(item, { maxLength: depth > 2 ? 1 : 3 }) },
        // One item more than allowed.
        { weight: 1, arbitrary: item.map((v) => Array.from({ length: (schema.maxItems ?? 100) + 1 }, () => v)) },
      );
    }
    case 'object': {
      const props = schema.properties ?? {};
      if (depth > 4 || !Object.keys(props).length) {
        return fc.dictionary(fc.oneof(hostileString(64), fc.constantFrom(...POLLUTION_KEYS)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
      }
      const model = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, shaped(s, hints, k, depth + 1)]));
      return fc.tuple(fc.record(model, { requiredKeys: schema.required ?? [] }), extraFields).map(([base, extra]) => withKeys(base, extra));
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

const ALL_TYPES: [string, fc.Arbitrary<unknown>][] = [
  ['string', fc.constantFrom('', 'x', '1', 'true')],
  ['number', fc.constantFrom(0, -1, 1.5, 1e308)],
  ['boolean', fc.boolean()],
  ['null', fc.constant(null)],
  ['array', fc.constantFrom([], [1], [null], ['x'])],
  ['object', fc.constantFrom({}, { a: 1 }, { type: 'object' })],
];

/** A value whose JSON type the schema does not allow (anything, where the schema allows anything). */
export function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
  const allowed = new Set<string>();
  const collect = (s: JsonSchema): void => {
    for (const b of s.anyOf ?? s.oneOf ?? []) collect(b);
    const t = s.type ?? (s.enum || s.const !== undefined ? 'string' : undefined);
    for (const x of Array.isArray(t) ? t : t ? [t] : []) allowed.add(x === 'integer' ? 'number' : x);
  };
  collect(schema);
  const wrong = ALL_TYPES.filter(([t]) => !allowed.has(t)).map(([, a]) => a);
  return wrong.length ? fc.oneof(...wrong) : fc.jsonValue({ maxDepth: 2 });
}

/** A shaped object with exactly one property (required or not) replaced by a value of the wrong type. */
export function oneFieldWrong(schema: JsonSchema, hints: Record<string, string[]> = {}): fc.Arbitrary<unknown> {
  const branch = (schema.anyOf ?? schema.oneOf)?.[0] ?? schema;
  const keys = Object.keys(branch.properties ?? {});
  if (!keys.length) return wrongType(schema);
  return fc
    .constantFrom(...keys)
    .chain((k) => fc.tuple(shaped(branch, hints), fc.constant(k), wrongType(branch.properties![k]!)))
    .map(([base, k, v]) => ({ ...(base as object), [k]: v }));
}

/** Query-string values: numbers past every bound, non-numbers, encodings, control characters. */
export const hostileQueryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('99999999999999999999', '-1', '0', '1e309', '-1e309', 'abc', 'NaN', 'Infinity', '1.5', '0x10', ' 5', '', '\u0000', '%00', '💥', '1;DROP', '[object Object]'),
  fc.integer().map(String),
  hostileString(200),
);
