// The usage window and budget periods (src/domain/usage-report.ts): pure date arithmetic, in UTC.
import { describe, expect, it } from 'vitest';
import { budgetPeriod, daysOf, reachedThresholds, usageWindow } from '../../src/domain/usage-report';

const now = new Date('2026-03-10T15:30:00Z');

describe('usage window', () => {
  it('defaults to the last 30 UTC days, today included, up to now', () => {
    const w = usageWindow({}, now) as { from: Date; to: Date };
    expect(w).toEqual({ from: new Date('2026-02-09T00:00:00Z'), to: now });
    const days = daysOf(w);
    expect(days).toHaveLength(30);
    expect([days[0], days[29]]).toEqual(['2026-02-09', '2026-03-10']);
  });

  it('a date as `to` includes that day; a timestamp is exclusive; offsets count', () => {
    expect(usageWindow({ from: '2026-02-01', to: '2026-02-28' }, now)).toEqual({ from: new Date('2026-02-01T00:00:00Z'), to: new Date('2026-03-01T00:00:00Z') });
    expect(daysOf(usageWindow({ from: '2026-02-01', to: '2026-02-28' }, now) as { from: Date; to: Date })).toHaveLength(28);
    expect(usageWindow({ from: '2026-02-01T00:00:00+02:00', to: '2026-02-02T00:00:00Z' }, now)).toEqual({ from: new Date('2026-01-31T22:00:00Z'), to: new Date('2026-02-02T00:00:00Z') });
    // `to` alone: 30 days ending that day.
    expect(usageWindow({ to: '2026-01-31' }, now)).toEqual({ from: new Date('2026-01-02T00:00:00Z'), to: new Date('2026-02-01T00:00:00Z') });
  });

  it('from must be before to, at most 366 days apart', () => {
    expect(usageWindow({ from: '2026-02-01', to: '2026-01-31' }, now)).toMatchObject({ param: 'from' });
    expect(usageWindow({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, now)).toMatchObject({ param: 'from' });
    expect(usageWindow({ from: '2025-01-01', to: '2025-12-31' }, now)).not.toHaveProperty('param');
    expect(usageWindow({ from: '2024-01-01', to: '2025-01-01' }, now)).toMatchObject({ param: 'from', message: expect.stringContaining('366') });
  });
});

describe('budget periods', () => {
  it('are UTC calendar months', () => {
    expect(budgetPeriod(new Date('2026-12-31T23:59:59Z'))).toEqual({ period: '2026-12', start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') });
    expect(budgetPeriod(new Date('2026-01-01T00:00:00Z')).period).toBe('2026-01');
  });

  it('thresholds are reached at 80 % and 100 %, both at once when a run jumps past both', () => {
    expect(reachedThresholds(79, 100)).toEqual([]);
    expect(reachedThresholds(80, 100)).toEqual([0.8]);
    expect(reachedThresholds(100, 100)).toEqual([0.8, 1]);
    expect(reachedThresholds(250, 100)).toEqual([0.8, 1]);
  });
});
