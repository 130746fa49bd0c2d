// /metrics in the Prometheus text format (API.md 9), written by prom-client. HTTP counts and process
// metrics are this process's; everything else is read from PostgreSQL, so every API process reports the
// same platform-wide figures. Those are every
// tenant's counts, so only the operator reads them (an admin or auditor key of the default workspace),
// and the full-table aggregates run at most once per AP_METRICS_CACHE_SECONDS however often anyone scrapes.
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Registry, type Metric } from 'prom-client';
import type { Db } from '../db/pool';
import { RUN_STATUSES } from '../domain/run';
import { assertOperator } from '../services/workspaces';

const DURATION_BUCKETS = [1, 5, 15, 60, 300, 1800, 3600];
const LATENCY_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Series {
  name: string;
  help: string;
  type: 'gauge' | 'histogram';
  values: { metricName?: string; labels: Record<string, string | number>; value: number }[];
}

/** A cumulative histogram from SQL: `sql` returns one column `v` (seconds). */
async function histogram(db: Db, name: string, help: string, buckets: number[], sql: string): Promise<Series> {
  const cols = buckets.map((b, i) => `count(*) FILTER (WHERE v <= ${b}) AS b${i}`).join(', ');
  const r = await db.query<Record<string, string>>(`SELECT ${cols}, count(*) AS total, COALESCE(sum(v), 0) AS sum FROM (${sql}) AS x`);
  const row = r.rows[0]!;
  return {
    name,
    help,
    type: 'histogram',
    values: [
      ...buckets.map((b, i) => ({ metricName: `${name}_bucket`, labels: { le: b }, value: Number(row[`b${i}`]) })),
      { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: Number(row.total) },
      { metricName: `${name}_sum`, labels: {}, value: Number(row.sum) },
      { metricName: `${name}_count`, labels: {}, value: Number(row.total) },
    ],
  };
}

/** The platform-wide series, read from PostgreSQL. */
async function platformSeries(db: Db): Promise<Series[]> {
  const runs = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM runs GROUP BY status');
  const byStatus = new Map(runs.rows.map((r) => [r.status, Number(r.n)]));
  const pending = await db.query<{ n: string }>("SELECT count(*) AS n FROM approvals WHERE status = 'pending'");
  const deliveries = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status ORDER BY status');
  return [
    // Every status, also at zero: a series that appears only with its first run breaks rate() and alerts.
    { name: 'ap_runs', help: 'Runs by status.', type: 'gauge', values: RUN_STATUSES.map((s) => ({ labels: { status: s }, value: byStatus.get(s) ?? 0 })) },
    await histogram(db, 'ap_run_duration_seconds', 'Duration of ended runs, start to end.', DURATION_BUCKETS,
      `SELECT EXTRACT(EPOCH FROM completed_at - started_at) AS v FROM runs WHERE completed_at IS NOT NULL AND started_at IS NOT NULL`),
    await histogram(db, 'ap_model_latency_seconds', 'Model calls: step start to the stored message.', LATENCY_BUCKETS,
      `SELECT EXTRACT(EPOCH FROM m.created_at - s.created_at) AS v FROM run_events s JOIN run_events m ON m.run_id = s.run_id
        AND m.type = 'message.completed' AND s.type = 'step.started' AND (m.data->>'step') = (s.data->>'step')`),
    await histogram(db, 'ap_tool_latency_seconds', 'Tool calls: start to result.', LATENCY_BUCKETS,
      `SELECT EXTRACT(EPOCH FROM e.created_at - s.created_at) AS v FROM run_events s JOIN run_events e ON e.run_id = s.run_id
        AND s.type = 'tool_call.started' AND e.type IN ('tool_call.completed', 'tool_call.failed') AND (e.data->>'tool_call_id') = (s.data->>'tool_call_id')`),
    { name: 'ap_approvals_pending', help: 'Approvals waiting for a decision.', type: 'gauge', values: [{ labels: {}, value: Number(pending.rows[0]!.n) }] },
    { name: 'ap_webhook_deliveries', help: 'Webhook deliveries by result.', type: 'gauge', values: deliveries.rows.map((r) => ({ labels: { status: r.status }, value: Number(r.n) })) },
  ];
}

/**
 * The exposition (prom-client): this process's HTTP counts and, with `runStarts`, its run workflow starts
 * (eager or not), live; Node's process metrics (CPU, memory, event-loop lag, GC); and the platform-wide
 * series from PostgreSQL, read for all of them at most once per `cacheSeconds` however often anyone
 * scrapes (concurrent scrapes share one read; a failed read is not kept).
 */
export class PlatformMetrics {
  private readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private cached: { at: number; series: Promise<Series[]> } | undefined;

  constructor(
    private readonly db: Db,
    private readonly cacheSeconds: number,
    runStarts?: { counts(): { eager: number; normal: number } },
  ) {
    this.requests = new Counter({ name: 'ap_http_requests_total', help: 'HTTP requests answered by this API process, by route and status.', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    if (runStarts) {
      new Counter({
        name: 'ap_run_workflow_starts_total',
        help: 'Run workflows this API process started, by whether the first workflow task came back with the start (eager start, `ap start` only).',
        labelNames: ['eager'],
        registers: [this.registry],
        collect() {
          const c = runStarts.counts();
          this.reset();
          this.inc({ eager: 'true' }, c.eager);
          this.inc({ eager: 'false' }, c.normal);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry });
    // The database figures as collectors of their own: each reads its family from the shared, cached read.
    for (const name of ['ap_runs', 'ap_run_duration_seconds', 'ap_model_latency_seconds', 'ap_tool_latency_seconds', 'ap_approvals_pending', 'ap_webhook_deliveries']) {
      const family = { name, help: '', type: 'gauge', get: async () => (await this.platform()).find((f) => f.name === name)! };
      this.registry.registerMetric(family as unknown as Metric);
    }
  }

  record(method: string, route: string, status: number): void {
    this.requests.inc({ method, route, status: String(status) });
  }

  private platform(): Promise<Series[]> {
    if (!this.cached || Date.now() - this.cached.at >= this.cacheSeconds * 1000) {
      const entry = { at: Date.now(), series: platformSeries(this.db) };
      this.cached = entry;
      entry.series.catch(() => {
        if (this.cached === entry) this.cached = undefined;
      });
    }
    return this.cached.series;
  }

  /** Mounted behind requireApiKey: the operator only (an admin or auditor key of the default workspace). */
  handler(): RequestHandler {
    return async (req, res) => {
      await assertOperator(this.db, req.principal!, 'auditor', '/metrics is for the operator: an admin or auditor key of the default workspace');
      const text = await this.registry.metrics();
      res.setHeader('Content-Type', this.registry.contentType);
      res.send(text);
    };
  }
}
