// /metrics: Prometheus text with runs by status, run/model/tool latency histograms, pending approvals,
// webhook deliveries and HTTP requests by route template and status. Every tenant's counts: only the
// operator's admin or auditor key reads it; the database figures are refreshed every few seconds.
import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { adminApi, Api, env, expectError, httpTool, newWorkspace, setupAgent, waitFor } from '../support/api';

const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : Number.NaN;
};

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const isNumber = (v: string | undefined): boolean => v !== undefined && (/^[+-]?Inf$/.test(v) || v === 'NaN' || Number.isFinite(Number(v)));

/** The whole exposition through a strict parser, then the rules the parser leaves to the producer. */
function parseExposition(text: string): Map<string, Family> {
  expect(text.endsWith('\n')).toBe(true);
  const families = parsePrometheusTextFormat(text);
  const byName = new Map<string, Family>();
  for (const f of families) {
    expect(byName.has(f.name), `family ${f.name} is declared once`).toBe(false);
    byName.set(f.name, f);
    expect(f.name).toMatch(METRIC_NAME);
    expect(f.type, `${f.name} has a # TYPE`).not.toBe('UNTYPED');
    expect(f.help, `${f.name} has a # HELP`).not.toBe('');
    if (f.type === 'COUNTER') expect(f.name.endsWith('_total'), `counter ${f.name} ends in _total`).toBe(true);
    const seen = new Set<string>();
    for (const m of f.metrics) {
      const labels = JSON.stringify(Object.entries(m.labels ?? {}).sort());
      expect(seen.has(labels), `${f.name}${labels} appears once`).toBe(false);
      seen.add(labels);
      for (const name of Object.keys(m.labels ?? {})) expect(name).toMatch(LABEL_NAME);
      if (f.type !== 'HISTOGRAM') expect(isNumber(m.value), `${f.name}${labels} = ${m.value}`).toBe(true);
    }
    if (f.type === 'HISTOGRAM') checkHistogram(text, f.name);
  }
  return byName;
}

/**
 * A histogram's rules, from the text itself: the parser folds every series of a labelled histogram (Node's
 * GC durations by kind) into one. Per label set: numeric cumulative buckets ending in le="+Inf", which
 * equals _count, and a numeric _sum.
 */
function checkHistogram(text: string, name: string): void {
  const sample = (line: string) => /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
  const labelsOf = (body: string | undefined) => Object.fromEntries([...(body ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: string }>();
  for (const line of text.split('\n')) {
    const m = sample(line);
    if (!m || !m[1]!.startsWith(`${name}_`)) continue;
    const { le, ...rest } = labelsOf(m[2]);
    const key = JSON.stringify(Object.entries(rest).sort());
    const s = series.get(key) ?? { buckets: [] };
    series.set(key, s);
    if (m[1] === `${name}_bucket`) {
      expect(le, `${name}${key} bucket has le`).toBeDefined();
      s.buckets.push([le === '+Inf' ? Infinity : Number(le), Number(m[3])]);
    } else if (m[1] === `${name}_count`) s.count = Number(m[3]);
    else if (m[1] === `${name}_sum`) s.sum = m[3];
  }
  for (const [key, s] of series) {
    expect(s.buckets.every(([le, n]) => !Number.isNaN(le) && Number.isInteger(n)), `${name}${key} buckets are numbers`).toBe(true);
    const sorted = [...s.buckets].sort((a, b) => a[0] - b[0]);
    expect(sorted.map(([, n]) => n), `${name}${key} buckets are cumulative`).toEqual([...sorted.map(([, n]) => n)].sort((a, b) => a - b));
    expect(sorted.at(-1)?.[0], `${name}${key} ends with le="+Inf"`).toBe(Infinity);
    expect(sorted.at(-1)?.[1], `${name}${key} +Inf bucket = count`).toBe(s.count);
    expect(isNumber(s.sum), `${name}${key} has a numeric _sum`).toBe(true);
  }
}

/** The operator's scrape: the default workspace's admin key. */
const scrapeText = async (): Promise<string> => {
  const res = await fetch(`${env().apiUrl}/metrics`, { headers: { authorization: `Bearer ${env().adminKey}` } });
  expect(res.status).toBe(200);
  return res.text();
};
const scrape = async (): Promise<Map<string, Family>> => parseExposition(await scrapeText());

const gauge = (m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => {
  const sample = m.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return Number(sample?.value ?? 0);
};
const histogramCount = (m: Map<string, Family>, name: string): number => Number(m.get(name)?.metrics[0]?.count);

/**
 * Other test files share this server, and two of them remove their own runs' events (ap purge, session
 * deletion), which lowers the platform-wide histograms for a moment. So "moved by at least what this
 * test did" is tried up to three times: it fails only if the series never moves with this test's runs.
 * The database figures are cached for AP_METRICS_CACHE_SECONDS, so each attempt polls until they move.
 */
async function expectMoves(act: () => Promise<void>, moved: (before: string, after: string) => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const before = await scrapeText();
    await act();
    let after = '';
    const ok = await waitFor(async () => {
      after = await scrapeText();
      return moved(before, after);
    }, 'the series to move', 25_000).catch(() => false);
    if (ok) return;
    if (attempt === 3) expect.fail(`the series did not move with this test's runs:\n${before}\n---\n${after}`);
  }
}

describe('/metrics', () => {
  it('parses as a whole with a strict Prometheus text parser, and its run series move by the runs completed', async () => {
    const { api, llm } = await setupAgent();
    try {
      const before = await scrape();
      for (const name of ['ap_runs', 'ap_run_duration_seconds', 'ap_model_latency_seconds', 'ap_tool_latency_seconds', 'ap_approvals_pending', 'ap_webhook_deliveries', 'ap_http_requests_total']) {
        expect(before.has(name), name).toBe(true);
      }
      // Every status is reported, also at zero, so that a rate over it never starts from a missing series.
      expect(before.get('ap_runs')!.metrics.map((s) => s.labels?.status).sort()).toEqual(['canceled', 'completed', 'failed', 'queued', 'running', 'tool_required', 'waiting_approval', 'waiting_auth']);
      const runs = 3;
      // A 404 from a /v1 route is counted under its template, like its 200s (not under "/runs/:id").
      expect((await api.get('/v1/runs/run_missing')).status).toBe(404);
      let after = await scrape();
      const routes = after.get('ap_http_requests_total')!.metrics.map((m) => m.labels?.route);
      expect(routes).not.toContain('/runs/:id');
      await expectMoves(
        async () => {
          for (let i = 0; i < runs; i++) {
            llm.reply({ text: `answer ${i}` });
            expect((await api.post('/v1/runs', { agent: 'assistant', input: `question ${i}`, wait: true })).body.status).toBe('completed');
          }
        },
        (b, a) => {
          const [pb, pa] = [parseExposition(b), parseExposition(a)];
          after = pa;
          return (
            gauge(pa, 'ap_runs', { status: 'completed' }) - gauge(pb, 'ap_runs', { status: 'completed' }) >= runs &&
            histogramCount(pa, 'ap_run_duration_seconds') - histogramCount(pb, 'ap_run_duration_seconds') >= runs &&
            histogramCount(pa, 'ap_model_latency_seconds') - histogramCount(pb, 'ap_model_latency_seconds') >= runs
          );
        },
      );
      const created = { method: 'POST', route: '/v1/runs', status: '200' };
      expect(gauge(after, 'ap_http_requests_total', created) - gauge(before, 'ap_http_requests_total', created)).toBeGreaterThanOrEqual(runs);
      expect(gauge(after, 'ap_http_requests_total', { method: 'GET', route: '/v1/runs/:id', status: '404' })).toBeGreaterThanOrEqual(1);
    } finally {
      await llm.close();
    }
  });

  it('reports the documented series in the Prometheus text format', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    try {
      tools.route('/w', { body: { ok: true } });
      await httpTool(api, 'lookup', `${tools.url}/w`);
      await api.patch('/v1/agents/assistant', { tools: ['lookup'] });
      llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'x' } }] }, { text: 'done' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
      await api.get(`/v1/runs/${run.id}`);
      const res = await fetch(`${env().apiUrl}/metrics`, { headers: { authorization: `Bearer ${env().adminKey}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const text = await res.text();
      for (const type of ['ap_runs gauge', 'ap_run_duration_seconds histogram', 'ap_model_latency_seconds histogram', 'ap_tool_latency_seconds histogram', 'ap_approvals_pending gauge', 'ap_webhook_deliveries gauge', 'ap_http_requests_total counter']) {
        expect(text).toContain(`# TYPE ${type}`);
      }
      // The API process's own health, as prom-client reports it: CPU, memory, event-loop lag, heap.
      for (const type of ['process_cpu_user_seconds_total counter', 'process_resident_memory_bytes gauge', 'nodejs_eventloop_lag_seconds gauge', 'nodejs_heap_size_used_bytes gauge']) {
        expect(text).toContain(`# TYPE ${type}`);
      }
      expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
      await waitFor(async () => value(await scrapeText(), 'ap_runs{status="completed"}') >= 1, 'a completed run in ap_runs', 25_000);
      await expectMoves(
        async () => {
          llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'y' } }] }, { text: 'done' });
          expect((await api.post('/v1/runs', { agent: 'assistant', input: 'again', wait: true })).body.status).toBe('completed');
        },
        (b, a) => value(a, 'ap_tool_latency_seconds_count') >= value(b, 'ap_tool_latency_seconds_count') + 1 && value(a, 'ap_model_latency_seconds_count') >= value(b, 'ap_model_latency_seconds_count') + 2,
      );
      const buckets = text.split('\n').filter((l) => l.startsWith('ap_run_duration_seconds_bucket')).map((l) => Number(l.split(' ')[1]));
      expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
      expect(value(text, 'ap_http_requests_total{method="GET",route="/v1/runs/:id",status="200"}')).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain(run.id);
    } finally {
      await llm.close();
      await tools.close();
    }
  });

  it('is refused without a key and to tenants; the operator\'s auditor key reads it', async () => {
    const anonymous = await fetch(`${env().apiUrl}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('ap_runs');
    const tenant = await newWorkspace('metrics-tenant');
    const tenantAuditor = new Api((await tenant.post('/v1/api_keys', { name: 'scraper', roles: ['auditor'] })).body.key);
    for (const api of [tenant, tenantAuditor]) {
      const res = await api.get('/metrics');
      expectError(res, 403, 'permission_error', 'permission_denied');
      expect(JSON.stringify(res.body)).not.toContain('ap_runs');
    }
    const developer = new Api((await adminApi().post('/v1/api_keys', { name: 'operator developer', roles: ['developer'] })).body.key);
    expectError(await developer.get('/metrics'), 403, 'permission_error', 'permission_denied');
    const scraper = new Api((await adminApi().post('/v1/api_keys', { name: 'prometheus', roles: ['auditor'] })).body.key);
    const res = await scraper.get('/metrics');
    expect(res.status).toBe(200);
    expect(String(res.body)).toContain('# TYPE ap_runs gauge');
    // Documented: the operator's roles, and an API key (not an open endpoint).
    const doc = (await (await fetch(`${env().apiUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
    expect(doc.paths['/metrics']!.get).toMatchObject({ 'x-roles': ['admin', 'auditor'], 'x-operator-only': true });
    expect(doc.paths['/metrics']!.get.security).toBeUndefined();
  });
});
