// Usage at a glance (API.md 16): a workspace's runs, tokens, cost, tool calls, approvals and failures in
// a window, by UTC day, agent or model. The sums are made in SQL (src/db/usage.ts); this shapes them.
import * as repo from '../db/usage';
import { validationFailed } from '../domain/errors';
import { daysOf, usageWindow, type UsageQuery } from '../domain/usage-report';
import type { UsageReport, UsageRowObject } from '../domain/api-objects';
import type { Principal } from '../domain/workspace';
import type { ServiceDeps } from './deps';

const figures = (r: repo.UsageRow | undefined) => {
  const runs = r?.runs ?? 0;
  const failed = r?.failed_runs ?? 0;
  return {
    runs,
    input_tokens: r?.input_tokens ?? 0,
    output_tokens: r?.output_tokens ?? 0,
    cost_usd: r?.cost_usd ?? 0,
    tool_calls: r?.tool_calls ?? 0,
    approvals: { requested: r?.approvals_requested ?? 0, approved: r?.approvals_approved ?? 0, denied: r?.approvals_denied ?? 0, expired: r?.approvals_expired ?? 0 },
    failed_runs: failed,
    failure_rate: runs ? Math.round((failed / runs) * 10_000) / 10_000 : 0,
  };
};

const row = (key: string, label: string, r: repo.UsageRow | undefined): UsageRowObject => ({ object: 'usage_row', key, label, ...figures(r) });

/** Agents and models: the most expensive first, then the most tokens, then by key (a stable order at zero cost). */
const byCost = (a: UsageRowObject, b: UsageRowObject): number =>
  b.cost_usd - a.cost_usd || b.input_tokens + b.output_tokens - (a.input_tokens + a.output_tokens) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export async function usageReport({ db }: ServiceDeps, p: Principal, q: UsageQuery): Promise<UsageReport> {
  const w = usageWindow(q, new Date());
  if ('message' in w) throw validationFailed(w.message, w.param);
  const ws = p.workspace_id;
  let data: UsageRowObject[];
  let total: repo.UsageRow | undefined;
  if (q.group_by === 'model') {
    const [rows, [all]] = await Promise.all([repo.usageByModel(db, ws, w.from, w.to), repo.usageByRun(db, ws, w.from, w.to, 'none')]);
    total = all;
    data = rows.map((r) => row(r.key!, r.key!, r)).sort(byCost);
  } else {
    const rows = await repo.usageByRun(db, ws, w.from, w.to, q.group_by);
    total = rows.find((r) => r.key === null);
    const grouped = new Map(rows.filter((r) => r.key !== null).map((r) => [r.key!, r]));
    if (q.group_by === 'day') {
      // Every day of the window, empty ones too: a chart's x axis without gaps.
      data = daysOf(w).map((day) => row(day, day, grouped.get(day)));
    } else {
      const names = await repo.agentNames(db, ws, [...grouped.keys()]);
      data = [...grouped.values()].map((r) => row(r.key!, names.get(r.key!) ?? r.key!, r)).sort(byCost);
    }
  }
  return {
    object: 'list',
    data,
    has_more: false,
    next_cursor: null,
    group_by: q.group_by,
    from: w.from.toISOString(),
    to: w.to.toISOString(),
    total: { object: 'usage_total', ...figures(total) },
  };
}
