// Usage at a glance (API.md 16): the query of GET /v1/usage, its time window, and the budget periods and
// thresholds of `budget.threshold_reached`. Pure: the service and the budget check pass `now` in.
import { z } from 'zod';

export const USAGE_GROUPS = ['day', 'agent', 'model'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

/** The longest window one request may ask for: it bounds the runs a query reads. */
export const MAX_USAGE_DAYS = 366;
export const DEFAULT_USAGE_DAYS = 30;
const DAY_MS = 86_400_000;

const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .describe('A date (YYYY-MM-DD, a whole UTC day) or an RFC 3339 timestamp');

export const usageQuerySchema = z.object({
  group_by: z.enum(USAGE_GROUPS).default('day'),
  from: instant.optional().describe('Inclusive. Default: the start (00:00 UTC) of the day 29 days before `to`, so that 30 days are shown'),
  to: instant.optional().describe('Exclusive for a timestamp; a date includes that whole day. Default: now'),
});
export type UsageQuery = z.infer<typeof usageQuerySchema>;

const isDateOnly = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s);
const startOfDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

/** The window `[from, to)` a query asks for, or what is wrong with it (a `validation_failed` with its param). */
export function usageWindow(q: Pick<UsageQuery, 'from' | 'to'>, now: Date): { from: Date; to: Date } | { message: string; param: 'from' | 'to' } {
  const to = q.to === undefined ? now.getTime() : Date.parse(q.to) + (isDateOnly(q.to) ? DAY_MS : 0);
  const from = q.from === undefined ? startOfDay(to - 1) - (DEFAULT_USAGE_DAYS - 1) * DAY_MS : Date.parse(q.from);
  if (!(from < to)) return { message: 'from must be before to', param: 'from' };
  if (to - from > MAX_USAGE_DAYS * DAY_MS) return { message: `from and to may be at most ${MAX_USAGE_DAYS} days apart`, param: 'from' };
  return { from: new Date(from), to: new Date(to) };
}

/** The UTC days a window touches, as `YYYY-MM-DD` keys, oldest first: group_by=day shows each, empty or not. */
export function daysOf(w: { from: Date; to: Date }): string[] {
  const out: string[] = [];
  for (let d = startOfDay(w.from.getTime()); d < w.to.getTime(); d += DAY_MS) out.push(new Date(d).toISOString().slice(0, 10));
  return out;
}

/** A workspace's token budget is per UTC calendar month (src/core/budgets.ts): the period `YYYY-MM` of an instant. */
export function budgetPeriod(at: Date): { period: string; start: Date; end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { period: start.toISOString().slice(0, 7), start, end };
}

/** The fractions of a budget that `budget.threshold_reached` is sent at, once each per period. */
export const BUDGET_THRESHOLDS = [0.8, 1.0] as const;

/** The thresholds that `spent` of `budget` has reached. */
export const reachedThresholds = (spent: number, budget: number): number[] => BUDGET_THRESHOLDS.filter((t) => spent >= t * budget);
