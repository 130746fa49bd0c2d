// JSON Schema (draft 2020-12) compilation for tool input schemas; shared by the tools service (to
// reject a bad schema when it is saved) and the model activity (to check the model's arguments).
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction, ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { withStrictDefaults } from '../domain/tool';

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
addFormats(ajv);

const cache = new Map<string, ValidateFunction>();

export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const strict = withStrictDefaults(schema);
  const key = JSON.stringify(strict);
  let fn = cache.get(key);
  if (!fn) {
    fn = ajv.compile(strict);
    if (cache.size > 500) cache.clear();
    cache.set(key, fn);
  }
  return fn;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: string }).additionalProperty)}` : ''}`)
    .join('; ');
}

/** Returns null when the arguments are valid, else a message for the model. */
export function validateArguments(schema: Record<string, unknown>, args: unknown): string | null {
  const fn = compileSchema(schema);
  return fn(args) ? null : describeErrors(fn.errors);
}
