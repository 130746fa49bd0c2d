// The policy engine (API.md 2.2): pure and deterministic, so the run workflow evaluates it and a
// replay of the history re-checks every decision. No zod, no I/O: this file is bundled into workflows.
import type { ArgumentPredicate, PolicyRule } from './agent';
import { regexTest } from './regex';
import type { ToolEffect } from './tool';

/** How `matches` is evaluated: RE2 (linear time); workflows replaying older histories pass the engine they used. */
export type RegexTester = (pattern: string, text: string) => boolean;

export type PolicyAction = 'allow' | 'deny' | 'require_approval';

export interface PolicyDecision {
  action: PolicyAction;
  /** The rule that decided, or a built-in reason: `default_read`, `default_write`, `tool_not_allowed`, `loop_detected`, `invalid_pattern`. */
  rule_id: string;
  reason: string;
}

export interface PolicyInput {
  tool: string;
  effect: ToolEffect | undefined;
  arguments: Record<string, unknown>;
  /** Tool names on the agent (after run constraints). */
  allowed_tools: readonly string[];
  /** How many earlier calls in this run had the same tool and the same arguments. */
  identical_earlier_calls: number;
  /** Names the run's constraints force through approval. */
  require_approval_for: readonly string[];
  now: Date;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const STRICTNESS: Record<PolicyAction, number> = { allow: 0, require_approval: 1, deny: 2 };

/** Orders keys so that two argument objects with the same content compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function predicateHolds(p: ArgumentPredicate, present: boolean, v: unknown, test: RegexTester): boolean {
  const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
  if (p.exists !== undefined && p.exists !== present) return false;
  if ('eq' in p && p.eq !== undefined && !same(v, p.eq)) return false;
  if ('ne' in p && p.ne !== undefined && same(v, p.ne)) return false;
  if (p.in && !p.in.some((x) => same(x, v))) return false;
  if (p.not_in && p.not_in.some((x) => same(x, v))) return false;
  const num = typeof v === 'number' ? v : undefined;
  if (p.gt !== undefined && !(num !== undefined && num > p.gt)) return false;
  if (p.gte !== undefined && !(num !== undefined && num >= p.gte)) return false;
  if (p.lt !== undefined && !(num !== undefined && num < p.lt)) return false;
  if (p.lte !== undefined && !(num !== undefined && num <= p.lte)) return false;
  if (p.matches !== undefined && !(typeof v === 'string' && test(p.matches, v))) return false;
  return true;
}

function withinHours(h: NonNullable<PolicyRule['match']['hours']>, now: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: h.tz,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3) as (typeof DAY_NAMES)[number];
  const minutes = Number(get('hour')) * 60 + Number(get('minute'));
  const toMin = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
  const from = toMin(h.from);
  const to = toMin(h.to);
  if (h.days && !h.days.includes(day)) return false;
  return from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
}

export function ruleMatches(rule: PolicyRule, input: PolicyInput, test: RegexTester = regexTest): boolean {
  const m = rule.match ?? {};
  if (m.tool !== undefined) {
    const names = Array.isArray(m.tool) ? m.tool : [m.tool];
    if (!names.includes('*') && !names.includes(input.tool)) return false;
  }
  if (m.effect !== undefined && m.effect !== input.effect) return false;
  for (const [field, predicate] of Object.entries(m.arguments ?? {})) {
    const present = Object.prototype.hasOwnProperty.call(input.arguments, field);
    if (!predicateHolds(predicate, present, input.arguments[field], test)) return false;
  }
  if (m.hours && !withinHours(m.hours, input.now)) return false;
  return true;
}

/**
 * Decides one tool call. Rule sets are evaluated in order (agent rules, then constraint rules);
 * the strictest decision of the sets wins, so constraints can only tighten.
 */
export function decide(ruleSets: readonly (readonly PolicyRule[])[], input: PolicyInput, test: RegexTester = regexTest): PolicyDecision {
  if (!input.allowed_tools.includes(input.tool) || input.effect === undefined) {
    return { action: 'deny', rule_id: 'tool_not_allowed', reason: `Tool ${input.tool} is not available to this agent` };
  }
  if (input.identical_earlier_calls >= 2) {
    return {
      action: 'deny',
      rule_id: 'loop_detected',
      reason: `Tool ${input.tool} was already called twice with the same arguments in this run`,
    };
  }
  const fallback: PolicyDecision =
    input.effect === 'read'
      ? { action: 'allow', rule_id: 'default_read', reason: 'Read tools are allowed by default' }
      : { action: 'require_approval', rule_id: 'default_write', reason: 'Write tools need approval by default' };
  const [first = [], ...tighter] = ruleSets;
  const decideBy = (rule: PolicyRule): PolicyDecision => ({
    action: rule.action,
    rule_id: rule.id,
    reason: rule.reason ?? `Rule ${rule.id}`,
  });
  let result: PolicyDecision;
  try {
    const firstRule = first.find((r) => ruleMatches(r, input, test));
    result = firstRule ? decideBy(firstRule) : fallback;
    // Later sets (run constraints) only ever make a decision stricter; without a match they say nothing.
    for (const rules of tighter) {
      const rule = rules.find((r) => ruleMatches(r, input, test));
      if (rule && STRICTNESS[rule.action] > STRICTNESS[result.action]) result = decideBy(rule);
    }
  } catch (err) {
    // A `matches` saved before patterns were checked for RE2 (lookaround, backreferences): fail closed.
    return { action: 'deny', rule_id: 'invalid_pattern', reason: `A policy pattern cannot be evaluated: ${(err as Error).message}` };
  }
  if (input.require_approval_for.includes(input.tool) && result.action === 'allow') {
    return { action: 'require_approval', rule_id: 'constraint_require_approval', reason: 'The run requires approval for this tool' };
  }
  return result;
}
