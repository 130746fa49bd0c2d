// Table-driven policy engine cases: every predicate, tool matching, effects, defaults, loops,
// constraints, and hours windows on both sides of DST changes (Europe/Berlin: 2026-03-29 and 2026-10-25;
// America/New_York: 2026-03-08 and 2026-11-01).
import { describe, expect, it } from 'vitest';
import { decide, type PolicyInput } from '../../src/domain/policy';
import type { PolicyRule } from '../../src/domain/agent';

type Case = [name: string, rules: PolicyRule[], over: Partial<PolicyInput>, expected: string, constraintRules?: PolicyRule[]];

const base: PolicyInput = {
  tool: 'send_email',
  effect: 'write',
  arguments: { to: 'ops@example.com', priority: 'high', amount: 50, tags: ['a', 'b'], meta: { x: 1 } },
  allowed_tools: ['send_email', 'search', 'delete_user'],
  identical_earlier_calls: 0,
  require_approval_for: [],
  now: new Date('2026-06-15T10:00:00Z'),
};
const r = (action: PolicyRule['action'], match: PolicyRule['match'], id = 'rule'): PolicyRule => ({ id, match, action });
const args = (a: Record<string, unknown>) => ({ arguments: { ...base.arguments, ...a } });
const berlinOffice = r('allow', { hours: { tz: 'Europe/Berlin', from: '08:00', to: '18:00' } });
const nyMorning = r('deny', { hours: { tz: 'America/New_York', from: '06:00', to: '09:00' } });

const cases: Case[] = [
  // defaults and built-ins
  ['read defaults to allow', [], { tool: 'search', effect: 'read' }, 'allow:default_read'],
  ['write defaults to require_approval', [], {}, 'require_approval:default_write'],
  ['tool not on the agent is denied', [r('allow', { tool: '*' })], { tool: 'format_disk' }, 'deny:tool_not_allowed'],
  ['unknown effect is denied', [], { effect: undefined }, 'deny:tool_not_allowed'],
  ['second identical call is still decided by rules', [r('allow', {})], { identical_earlier_calls: 1 }, 'allow:rule'],
  ['third identical call is a loop', [r('allow', {})], { identical_earlier_calls: 2 }, 'deny:loop_detected'],
  ['tenth identical call is a loop', [], { identical_earlier_calls: 9 }, 'deny:loop_detected'],
  // tool matching
  ['tool by name', [r('allow', { tool: 'send_email' })], {}, 'allow:rule'],
  ['tool by other name does not match', [r('allow', { tool: 'search' })], {}, 'require_approval:default_write'],
  ['tool in a list', [r('deny', { tool: ['delete_user', 'send_email'] })], {}, 'deny:rule'],
  ['tool not in a list', [r('deny', { tool: ['delete_user'] })], {}, 'require_approval:default_write'],
  ['tool wildcard', [r('allow', { tool: '*' })], {}, 'allow:rule'],
  ['effect write matches', [r('deny', { effect: 'write' })], {}, 'deny:rule'],
  ['effect read does not match a write', [r('deny', { effect: 'read' })], {}, 'require_approval:default_write'],
  ['empty match matches everything', [r('allow', {})], {}, 'allow:rule'],
  ['first matching rule wins', [r('deny', { tool: 'send_email' }, 'first'), r('allow', {}, 'second')], {}, 'deny:first'],
  ['later rule applies when earlier does not match', [r('deny', { tool: 'search' }, 'first'), r('allow', {}, 'second')], {}, 'allow:second'],
  ['all match fields are AND-ed', [r('allow', { tool: 'send_email', effect: 'read' })], {}, 'require_approval:default_write'],
  // predicates
  ['eq string', [r('deny', { arguments: { priority: { eq: 'high' } } })], {}, 'deny:rule'],
  ['eq mismatch', [r('deny', { arguments: { priority: { eq: 'low' } } })], {}, 'require_approval:default_write'],
  ['eq on an object compares content', [r('deny', { arguments: { meta: { eq: { x: 1 } } } })], {}, 'deny:rule'],
  ['eq on an array', [r('deny', { arguments: { tags: { eq: ['a', 'b'] } } })], {}, 'deny:rule'],
  ['ne', [r('deny', { arguments: { priority: { ne: 'low' } } })], {}, 'deny:rule'],
  ['ne equal value', [r('deny', { arguments: { priority: { ne: 'high' } } })], {}, 'require_approval:default_write'],
  ['in', [r('deny', { arguments: { priority: { in: ['high', 'urgent'] } } })], {}, 'deny:rule'],
  ['in miss', [r('deny', { arguments: { priority: { in: ['low'] } } })], {}, 'require_approval:default_write'],
  ['not_in', [r('deny', { arguments: { priority: { not_in: ['low'] } } })], {}, 'deny:rule'],
  ['not_in hit', [r('deny', { arguments: { priority: { not_in: ['high'] } } })], {}, 'require_approval:default_write'],
  ['gt', [r('allow', { arguments: { amount: { gt: 49 } } })], {}, 'allow:rule'],
  ['gt boundary', [r('allow', { arguments: { amount: { gt: 50 } } })], {}, 'require_approval:default_write'],
  ['gte boundary', [r('allow', { arguments: { amount: { gte: 50 } } })], {}, 'allow:rule'],
  ['lt', [r('allow', { arguments: { amount: { lt: 51 } } })], {}, 'allow:rule'],
  ['lt boundary', [r('allow', { arguments: { amount: { lt: 50 } } })], {}, 'require_approval:default_write'],
  ['lte boundary', [r('allow', { arguments: { amount: { lte: 50 } } })], {}, 'allow:rule'],
  ['range', [r('allow', { arguments: { amount: { gte: 10, lte: 100 } } })], args({ amount: 75 }), 'allow:rule'],
  ['numeric predicate on a string does not match', [r('allow', { arguments: { amount: { gt: 1 } } })], args({ amount: '75' }), 'require_approval:default_write'],
  ['matches regex', [r('deny', { arguments: { to: { matches: '@example\\.com$' } } })], {}, 'deny:rule'],
  ['matches regex miss', [r('deny', { arguments: { to: { matches: '@corp\\.com$' } } })], {}, 'require_approval:default_write'],
  ['matches on a number does not match', [r('deny', { arguments: { amount: { matches: '5' } } })], {}, 'require_approval:default_write'],
  ['exists true', [r('deny', { arguments: { to: { exists: true } } })], {}, 'deny:rule'],
  ['exists true on a missing field', [r('deny', { arguments: { cc: { exists: true } } })], {}, 'require_approval:default_write'],
  ['exists false on a missing field', [r('deny', { arguments: { cc: { exists: false } } })], {}, 'deny:rule'],
  ['predicates on several fields are AND-ed', [r('deny', { arguments: { priority: { eq: 'high' }, amount: { gt: 100 } } })], {}, 'require_approval:default_write'],
  // constraints only tighten
  ['constraint deny overrides agent allow', [r('allow', {})], {}, 'deny:c', [r('deny', { tool: 'send_email' }, 'c')]],
  ['constraint allow cannot loosen the write default', [], {}, 'require_approval:default_write', [r('allow', {}, 'c')]],
  ['constraint allow cannot loosen an agent deny', [r('deny', {})], {}, 'deny:rule', [r('allow', {}, 'c')]],
  ['constraint require_approval tightens a read', [], { tool: 'search', effect: 'read' }, 'require_approval:c', [r('require_approval', { tool: 'search' }, 'c')]],
  ['require_approval_for tightens an allow', [r('allow', {})], { require_approval_for: ['send_email'] }, 'require_approval:constraint_require_approval'],
  ['require_approval_for leaves a deny', [r('deny', {})], { require_approval_for: ['send_email'] }, 'deny:rule'],
  // hours windows and days
  ['inside Berlin office hours (summer, UTC+2)', [berlinOffice], { now: new Date('2026-06-15T06:30:00Z') }, 'allow:rule'],
  ['before Berlin office hours (summer)', [berlinOffice], { now: new Date('2026-06-15T05:30:00Z') }, 'require_approval:default_write'],
  ['Berlin window end is exclusive', [berlinOffice], { now: new Date('2026-06-15T16:00:00Z') }, 'require_approval:default_write'],
  ['Berlin 07:30 UTC is 08:30 local the day before the spring DST change', [berlinOffice], { now: new Date('2026-03-28T07:30:00Z') }, 'allow:rule'],
  ['Berlin 06:30 UTC is 07:30 local before the spring change', [berlinOffice], { now: new Date('2026-03-28T06:30:00Z') }, 'require_approval:default_write'],
  ['Berlin 06:30 UTC is 08:30 local after the spring change', [berlinOffice], { now: new Date('2026-03-30T06:30:00Z') }, 'allow:rule'],
  ['Berlin 16:30 UTC is 18:30 local in summer time', [berlinOffice], { now: new Date('2026-10-24T16:30:00Z') }, 'require_approval:default_write'],
  ['Berlin 16:30 UTC is 17:30 local after the autumn change', [berlinOffice], { now: new Date('2026-10-26T16:30:00Z') }, 'allow:rule'],
  ['New York 11:30 UTC is 06:30 local before the spring change', [nyMorning], { now: new Date('2026-03-07T11:30:00Z') }, 'deny:rule'],
  ['New York 11:30 UTC is 07:30 local after the spring change', [nyMorning], { now: new Date('2026-03-09T11:30:00Z') }, 'deny:rule'],
  ['New York 10:30 UTC is 06:30 local after the spring change', [nyMorning], { now: new Date('2026-03-09T10:30:00Z') }, 'deny:rule'],
  ['New York 10:30 UTC is 05:30 local before the spring change', [nyMorning], { now: new Date('2026-03-07T10:30:00Z') }, 'require_approval:default_write'],
  ['New York 13:30 UTC is 09:30 local in summer time', [nyMorning], { now: new Date('2026-10-31T13:30:00Z') }, 'require_approval:default_write'],
  ['New York 13:30 UTC is 08:30 local after the autumn change', [nyMorning], { now: new Date('2026-11-02T13:30:00Z') }, 'deny:rule'],
  ['weekday list excludes Sunday', [r('allow', { hours: { tz: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '00:00', to: '23:59' } })], { now: new Date('2026-06-14T12:00:00Z') }, 'require_approval:default_write'],
  ['weekday is judged in the rule time zone', [r('allow', { hours: { tz: 'Pacific/Auckland', days: ['mon'], from: '00:00', to: '23:59' } })], { now: new Date('2026-06-14T13:00:00Z') }, 'allow:rule'],
  ['overnight window after midnight', [r('deny', { hours: { tz: 'UTC', from: '22:00', to: '06:00' } })], { now: new Date('2026-06-15T03:00:00Z') }, 'deny:rule'],
  ['overnight window in the afternoon', [r('deny', { hours: { tz: 'UTC', from: '22:00', to: '06:00' } })], { now: new Date('2026-06-15T15:00:00Z') }, 'require_approval:default_write'],
];

describe('policy engine table', () => {
  it('has at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));
  it.each(cases)('%s', (_name, rules, over, expected, constraintRules) => {
    const d = decide(constraintRules ? [rules, constraintRules] : [rules], { ...base, ...over });
    expect(`${d.action}:${d.rule_id}`).toBe(expected);
  });
});
