// /metrics: Prometheus text with runs by status, run/model/tool latency histograms, pending approvals,
// webhook deliveries and HTTP requests by route template and status.
import { describe, expect, it } from 'vitest';
import { startToolServer } from '../fixtures/tool-server';
import { env, httpTool, setupAgent } from '../support/api';

const value = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : Number.NaN;
};

describe('/metrics', () => {
  it('reports the documented series in the Prometheus text format', async () => {
    const tools = await startToolServer();
    const { api, llm } = await setupAgent();
    try {
      tools.route('/w', { body: { ok: true } });
      await httpTool(api, 'lookup', `${tools.url}/w`);
      await api.patch('/v1/agents/assistant', { tools: ['lookup'] });
      const before = await (await fetch(`${env().apiUrl}/metrics`)).text();
      llm.reply({ tool_calls: [{ name: 'lookup', arguments: { city: 'x' } }] }, { text: 'done' });
      const run = (await api.post('/v1/runs', { agent: 'assistant', input: 'go', wait: true })).body;
      await api.get(`/v1/runs/${run.id}`);
      const res = await fetch(`${env().apiUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      const text = await res.text();
      for (const type of ['ap_runs gauge', 'ap_run_duration_seconds histogram', 'ap_model_latency_seconds histogram', 'ap_tool_latency_seconds histogram', 'ap_approvals_pending gauge', 'ap_webhook_deliveries gauge', 'ap_http_requests_total counter']) {
        expect(text).toContain(`# TYPE ${type}`);
      }
      expect(value(text, 'ap_runs{status="completed"}')).toBeGreaterThanOrEqual(1);
      expect(value(text, 'ap_tool_latency_seconds_count')).toBeGreaterThan(value(before, 'ap_tool_latency_seconds_count'));
      expect(value(text, 'ap_model_latency_seconds_count')).toBeGreaterThanOrEqual(value(before, 'ap_model_latency_seconds_count') + 2);
      const buckets = text.split('\n').filter((l) => l.startsWith('ap_run_duration_seconds_bucket')).map((l) => Number(l.split(' ')[1]));
      expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
      expect(value(text, 'ap_http_requests_total{method="GET",route="/v1/runs/:id",status="200"}')).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain(run.id);
    } finally {
      await llm.close();
      await tools.close();
    }
  });
});
