// The policy decision as workflows make it, with the regular-expression engine each history was
// recorded with. Kept apart so that the legacy engine is visibly there only for old histories.
import type { PolicyRule } from '../src/domain/agent';
import { decide, type PolicyDecision, type PolicyInput, type RegexTester } from '../src/domain/policy';

/**
 * Patch: policy `matches` runs in RE2 (linear time) instead of JavaScript's backtracking RegExp, which a
 * pattern like `^(a+)+$` stalled past the isolate timeout. Guarded because histories recorded before may
 * hold decisions that differ: patterns saved then were only checked to compile in JavaScript (lookaround,
 * backreferences), and the engines differ in details (`\s`, `.` on astral characters, `\p` without the
 * `u` flag). Replays of such decisions keep JavaScript's answer; every new decision uses RE2. patched()
 * is asked only when a rule has `matches`, so histories without one never meet the marker.
 */
const RE2_POLICY_PATCH = 'policy-matches-re2-v1';

/** Only for decisions recorded before RE2_POLICY_PATCH: these ran to completion with it once. */
const legacyJavaScriptTest: RegexTester = (pattern, text) => new RegExp(pattern).test(text);

const usesMatches = (ruleSets: readonly (readonly PolicyRule[])[]): boolean =>
  ruleSets.some((rules) => rules.some((r) => Object.values(r.match?.arguments ?? {}).some((p) => p.matches !== undefined)));

/** `has` says whether a patch applies (the run's CURRENT_PATCH covers this one). */
export function decidePolicy(ruleSets: readonly (readonly PolicyRule[])[], has: (patch: string) => boolean, input: PolicyInput): PolicyDecision {
  if (usesMatches(ruleSets) && !has(RE2_POLICY_PATCH)) return decide(ruleSets, input, legacyJavaScriptTest);
  return decide(ruleSets, input);
}
