// What the zod schemas cannot say about raw input, checked before them: no NUL character anywhere
// (PostgreSQL text and jsonb cannot store one, so it surfaced as a 500) and no JSON nested deeper than
// MAX_DEPTH (JSON.stringify, jsonb and the recursive helpers downstream overflow the stack at ~10,000).
// Nor a lone UTF-16 surrogate (`"\ud800"` in JSON): jsonb refuses its escape, so a write stored in a text
// column could still fail in the audit record after it (a 500 after the fact, found by the fuzz test).
import { validationFailed } from '../domain/errors';
import { formatPath } from './middleware/errors';

export const MAX_DEPTH = 64;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (s: string): boolean => !LONE_SURROGATE.test(s);

/** Walks without recursion, so that the walk itself cannot overflow on a deep body. */
export function checkInput(value: unknown, root: PropertyKey[] = []): void {
  const stack: { v: unknown; path: PropertyKey[] }[] = [{ v: value, path: root }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    const where = formatPath(path);
    if (typeof v === 'string') {
      if (v.includes('\u0000')) throw validationFailed(`${where || 'The body'} must not contain NUL characters`, where || undefined);
      if (!wellFormed(v)) throw validationFailed(`${where || 'The body'} must not contain a lone UTF-16 surrogate`, where || undefined);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length - root.length >= MAX_DEPTH) throw validationFailed(`${where || 'The body'} is nested deeper than ${MAX_DEPTH} levels`, where || undefined);
    for (const [k, child] of Object.entries(v)) {
      if (k.includes('\u0000') || !wellFormed(k)) throw validationFailed(`${where || 'The body'} has a key with a NUL character or a lone surrogate`, where || undefined);
      stack.push({ v: child, path: [...path, Array.isArray(v) ? Number(k) : k] });
    }
  }
}
