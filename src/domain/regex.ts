// User-supplied regular expressions (policy `matches`, eval `output_matches`, JSON Schema `pattern`) run
// in RE2 (re2js): linear in the input, so no pattern can stall the API, the worker or a workflow.
// Pure JavaScript without I/O: workflows bundle this module.
import { RE2JS } from 're2js';

const MAX_CACHED = 512;
const compiled = new Map<string, RE2JS>();

/**
 * JavaScript's `\uXXXX` (a surrogate pair as one code point) and `\u{X}` escapes become RE2's `\x{X}`,
 * so patterns written for JavaScript or JSON Schema keep working. Every other escape is kept as it is.
 */
function translateEscapes(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const rest = pattern.slice(i + 1);
    const braced = /^u\{([0-9A-Fa-f]{1,6})\}/.exec(rest);
    const unit = /^u([0-9A-Fa-f]{4})(?:\\u([0-9A-Fa-f]{4}))?/.exec(rest);
    if (braced) {
      out += `\\x{${braced[1]}}`;
      i += braced[0].length;
    } else if (unit) {
      const hi = parseInt(unit[1]!, 16);
      const lo = unit[2] === undefined ? -1 : parseInt(unit[2], 16);
      if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
        out += `\\x{${((hi - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000).toString(16)}}`;
        i += unit[0].length;
      } else {
        out += `\\x{${unit[1]}}`;
        i += 5;
      }
    } else {
      out += c + (pattern[i + 1] ?? '');
      i++;
    }
  }
  return out;
}

/** Compiles (and keeps, up to a bound) a pattern; throws with RE2's reason when RE2 cannot run it. */
export function compileRegex(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (re) {
    compiled.delete(pattern);
  } else {
    re = RE2JS.compile(translateEscapes(pattern));
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
  }
  compiled.set(pattern, re);
  return re;
}

/** Why a pattern is refused (lookaround, backreferences, bad syntax), or null when RE2 runs it. */
export function regexProblem(pattern: string): string | null {
  try {
    compileRegex(pattern);
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^error parsing regexp: /, '');
  }
}

/** Like `RegExp.prototype.test`: the pattern matches somewhere in the text. */
export function regexTest(pattern: string, text: string): boolean {
  return compileRegex(pattern).test(text);
}

export const REGEX_DIALECT =
  'A regular expression in RE2 syntax (https://github.com/google/re2/wiki/Syntax), matched in linear time; ' +
  'lookaround and backreferences are refused. JavaScript \\uXXXX escapes are accepted.';
