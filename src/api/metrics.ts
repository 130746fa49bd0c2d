// /metrics in the Prometheus text format (API.md 9). HTTP counts are this process's; everything else
// is read from PostgreSQL, so every API process reports the same platform-wide figures. Those are every
// tenant's counts, so only the operator reads them (an admin or auditor key of the default workspace),
// and the full-table aggregates run at most once per AP_METRICS_CACHE_SECONDS however often anyone scrapes.
import type { RequestHandler } from 'express';
import type { Db } from '../db/pool';
import { RUN_STATUSES } from '../domain/run';
import { assertOperator } from '../services/workspaces';

const DURATION_BUCKETS = [1, 5, 15, 60, 300, 1800, 3600];
const LATENCY_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

export class HttpMetrics {
  private readonly counts = new Map<string, number>();

  record(method: string, route: string, status: number): void {
    const key = `method="${method}",route="${route.replace(/"/g, '')}",status="${status}"`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  lines(): string[] {
    return [
      '# HELP ap_http_requests_total HTTP requests answered by this API process, by route and status.',
      '# TYPE ap_http_requests_total counter',
      ...[...this.counts].map(([labels, n]) => `ap_http_requests_total{${labels}} ${n}`),
    ];
  }
}

/** A cumulative histogram from SQL: `values` is a query returning one column `v` (seconds). */
async function histogram(db: Db, name: string, help: string, buckets: number[], sql: string): Promise<string[]> {
  const cols = buckets.map((b, i) => `count(*) FILTER (WHERE v <= ${b}) AS b${i}`).join(', ');
  const r = await db.query<Record<string, string>>(`SELECT ${cols}, count(*) AS total, COALESCE(sum(v), 0) AS sum FROM (${sql}) AS x`);
  const row = r.rows[0]!;
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} histogram`,
    ...buckets.map((b, i) => `${name}_bucket{le="${b}"} ${row[`b${i}`]}`),
    `${name}_bucket{le="+Inf"} ${row.total}`,
    `${name}_sum ${Number(row.sum)}`,
    `${name}_count ${row.total}`,
  ];
}

/** The platform-wide series, read from PostgreSQL. */
async function platformLines(db: Db): Promise<string[]> {
  const runs = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM runs GROUP BY status');
  const byStatus = new Map(runs.rows.map((r) => [r.status, r.n]));
  const pending = await db.query<{ n: string }>("SELECT count(*) AS n FROM approvals WHERE status = 'pending'");
  const deliveries = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status ORDER BY status');
  return [
    '# HELP ap_runs Runs by status.',
    '# TYPE ap_runs gauge',
    // Every status, also at zero: a series that appears only with its first run breaks rate() and alerts.
    ...RUN_STATUSES.map((s) => `ap_runs{status="${s}"} ${byStatus.get(s) ?? 0}`),
    ...(await histogram(db, 'ap_run_duration_seconds', 'Duration of ended runs, start to end.', DURATION_BUCKETS,
      `SELECT EXTRACT(EPOCH FROM completed_at - started_at) AS v FROM runs WHERE completed_at IS NOT NULL AND started_at IS NOT NULL`)),
    ...(await histogram(db, 'ap_model_latency_seconds', 'Model calls: step start to the stored message.', LATENCY_BUCKETS,
      `SELECT EXTRACT(EPOCH FROM m.created_at - s.created_at) AS v FROM run_events s JOIN run_events m ON m.run_id = s.run_id
        AND m.type = 'message.completed' AND s.type = 'step.started' AND (m.data->>'step') = (s.data->>'step')`)),
    ...(await histogram(db, 'ap_tool_latency_seconds', 'Tool calls: start to result.', LATENCY_BUCKETS,
      `SELECT EXTRACT(EPOCH FROM e.created_at - s.created_at) AS v FROM run_events s JOIN run_events e ON e.run_id = s.run_id
        AND s.type = 'tool_call.started' AND e.type IN ('tool_call.completed', 'tool_call.failed') AND (e.data->>'tool_call_id') = (s.data->>'tool_call_id')`)),
    '# HELP ap_approvals_pending Approvals waiting for a decision.',
    '# TYPE ap_approvals_pending gauge',
    `ap_approvals_pending ${pending.rows[0]!.n}`,
    '# HELP ap_webhook_deliveries Webhook deliveries by result.',
    '# TYPE ap_webhook_deliveries gauge',
    ...deliveries.rows.map((r) => `ap_webhook_deliveries{status="${r.status}"} ${r.n}`),
  ];
}

/**
 * Mounted behind requireApiKey. Concurrent scrapes share one read; a failed read is not kept. `local`:
 * more of this process's own series (the run workflow starts, eager or not), live like the HTTP counts.
 */
export function metricsHandler(db: Db, http: HttpMetrics, cacheSeconds: number, local: () => string[] = () => []): RequestHandler {
  let cached: { at: number; lines: Promise<string[]> } | undefined;
  return async (req, res) => {
    const p = req.principal!;
    await assertOperator(db, p, 'auditor', '/metrics is for the operator: an admin or auditor key of the default workspace');
    if (!cached || Date.now() - cached.at >= cacheSeconds * 1000) {
      const entry = { at: Date.now(), lines: platformLines(db) };
      cached = entry;
      entry.lines.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    const lines = [...(await cached.lines), ...http.lines(), ...local()];
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.send(`${lines.join('\n')}\n`);
  };
}
