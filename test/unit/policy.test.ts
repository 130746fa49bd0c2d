// The policy engine: pure, so it is tested without services.
import { describe, expect, it } from 'vitest';
import { canonicalJson, decide, type PolicyInput } from '../../src/domain/policy';
import type { PolicyRule } from '../../src/domain/agent';

const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  tool: 'create_ticket',
  effect: 'write',
  arguments: { priority: 'high', amount: 120, title: 'Printer on fire' },
  allowed_tools: ['create_ticket', 'search'],
  identical_earlier_calls: 0,
  require_approval_for: [],
  now: new Date('2026-11-23T10:00:00Z'), // a Monday, 11:00 in Berlin
  ...over,
});

const rule = (r: Partial<PolicyRule> & Pick<PolicyRule, 'action'>): PolicyRule => ({ id: 'r1', match: {}, ...r });

describe('policy defaults', () => {
  it('read is allowed, write needs approval, unknown tools are denied', () => {
    expect(decide([[]], input({ tool: 'search', effect: 'read' }))).toMatchObject({ action: 'allow', rule_id: 'default_read' });
    expect(decide([[]], input())).toMatchObject({ action: 'require_approval', rule_id: 'default_write' });
    expect(decide([[rule({ action: 'allow' })]], input({ tool: 'rm', effect: undefined }))).toMatchObject({ action: 'deny', rule_id: 'tool_not_allowed' });
  });

  it('a third identical call is denied as a loop, whatever the rules say', () => {
    const allowAll = [[rule({ action: 'allow', match: { tool: '*' } })]];
    expect(decide(allowAll, input({ identical_earlier_calls: 1 })).action).toBe('allow');
    expect(decide(allowAll, input({ identical_earlier_calls: 2 }))).toMatchObject({ action: 'deny', rule_id: 'loop_detected' });
  });

  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] })).toBe(canonicalJson({ a: [{ x: 1, y: 2 }], b: 1 }));
  });
});

describe('policy rules', () => {
  it('the first matching rule decides', () => {
    const rules = [rule({ id: 'deny-high', action: 'deny', match: { arguments: { priority: { in: ['high'] } } } }), rule({ id: 'allow', action: 'allow' })];
    expect(decide([rules], input())).toMatchObject({ action: 'deny', rule_id: 'deny-high' });
    expect(decide([rules], input({ arguments: { priority: 'low' } }))).toMatchObject({ action: 'allow', rule_id: 'allow' });
  });

  it.each([
    [{ eq: 'high' }, true], [{ ne: 'high' }, false], [{ not_in: ['low'] }, true], [{ exists: false }, false],
  ])('predicate %j on priority=high matches: %s', (predicate, expected) => {
    const rules = [rule({ action: 'deny', match: { arguments: { priority: predicate } } })];
    expect(decide([rules], input()).action === 'deny').toBe(expected);
  });

  it('numeric and regex predicates', () => {
    const on = (p: Record<string, unknown>, field = 'amount') => decide([[rule({ action: 'deny', match: { arguments: { [field]: p } } })]], input()).action === 'deny';
    expect(on({ gt: 100 })).toBe(true);
    expect(on({ gte: 121 })).toBe(false);
    expect(on({ lt: 200, gt: 100 })).toBe(true);
    expect(on({ lte: 119 })).toBe(false);
    expect(on({ matches: '^Printer' }, 'title')).toBe(true);
    expect(on({ matches: 'fax' }, 'title')).toBe(false);
    expect(on({ gt: 1 }, 'title')).toBe(false);
  });

  it('hours windows use the rule\'s time zone and days', () => {
    const office = rule({ action: 'allow', match: { hours: { tz: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00' } } });
    expect(decide([[office]], input()).action).toBe('allow');
    expect(decide([[office]], input({ now: new Date('2026-11-23T18:30:00Z') })).action).toBe('require_approval');
    expect(decide([[office]], input({ now: new Date('2026-11-22T10:00:00Z') })).action).toBe('require_approval');
    const night = rule({ action: 'deny', match: { hours: { tz: 'UTC', from: '22:00', to: '06:00' } } });
    expect(decide([[night]], input({ now: new Date('2026-11-23T23:00:00Z') })).action).toBe('deny');
    expect(decide([[night]], input({ now: new Date('2026-11-23T12:00:00Z') })).action).toBe('require_approval');
  });

  it('run constraints only tighten', () => {
    const agentAllows = [rule({ action: 'allow', match: { tool: 'create_ticket' } })];
    const constraintAllows = [rule({ id: 'c', action: 'allow', match: { tool: '*' } })];
    const constraintDenies = [rule({ id: 'c', action: 'deny', match: { tool: ['create_ticket'] } })];
    expect(decide([[], constraintAllows], input())).toMatchObject({ action: 'require_approval' });
    expect(decide([agentAllows, constraintDenies], input())).toMatchObject({ action: 'deny', rule_id: 'c' });
    expect(decide([agentAllows, []], input())).toMatchObject({ action: 'allow' });
    expect(decide([agentAllows], input({ require_approval_for: ['create_ticket'] }))).toMatchObject({ action: 'require_approval', rule_id: 'constraint_require_approval' });
  });
});
