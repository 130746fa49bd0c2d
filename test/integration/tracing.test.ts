// Tracing: an `ap api` + `ap worker` pair started with OTEL_EXPORTER_OTLP_ENDPOINT exports, over
// OTLP/HTTP (JSON), the spans of a run in one trace: the API's workflow start, the workflow run, and
// each activity's schedule and execution. Without the variable (the shared pair) nothing is exported.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApProcess } from '../support/processes';
import { startPair } from '../support/pair';
import { Api, env, setupAgent, waitFor } from '../support/api';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

/** A stand-in OTLP/HTTP collector: keeps every span posted to /v1/traces. */
async function startCollector() {
  const spans: Span[] = [];
  const requests: { path: string; contentType: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] });
      const doc = JSON.parse(body) as {
        resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: Omit<Span, 'service'>[] }[] }[];
      };
      for (const rs of doc.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const procs: ApProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGTERM');
  for (const c of cleanups.splice(0)) await c();
});

describe('OpenTelemetry tracing', () => {
  it('exports the spans of a run, from its start in the API to its activities, as one trace over OTLP/HTTP', async () => {
    const collector = await startCollector();
    cleanups.push(() => collector.close());
    const { port, api, worker } = await startPair('tracing', {
      both: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
      api: { OTEL_SERVICE_NAME: 'ap-test-api' },
      worker: { OTEL_SERVICE_NAME: 'ap-test-worker' },
    });
    procs.push(api, worker);

    const s = await setupAgent();
    cleanups.push(() => s.llm.close());
    const client = new Api(s.api.key, `http://127.0.0.1:${port}`);
    s.llm.reply({ text: 'Traced.' });
    const run = (await client.post('/v1/runs', { agent: 'assistant', input: 'trace me', wait: true })).body;
    expect(run.status).toBe('completed');

    // Spans leave in batches (every few seconds): wait for the last of the run's.
    const byName = (name: string) => collector.spans.filter((sp) => sp.name === name);
    await waitFor(async () => byName('RunActivity:callModel').length >= 1 && byName('RunWorkflow:runWorkflow').length > 0, 'the run spans to be exported', 45_000);
    expect(collector.requests.every((r) => r.path === '/v1/traces' && r.contentType?.startsWith('application/json'))).toBe(true);

    const [start] = byName('StartWorkflow:runWorkflow');
    expect(start).toMatchObject({ service: 'ap-test-api' });
    const trace = collector.spans.filter((sp) => sp.traceId === start!.traceId);
    const names = new Set(trace.map((sp) => sp.name));
    // No beginRun: the run's session was idle, so the API gave the workflow its context with the start. No
    // recordEvents either: the model call stored the run's events before it, and its end with the answer.
    for (const name of ['StartWorkflow:runWorkflow', 'RunWorkflow:runWorkflow', 'StartActivity:callModel', 'RunActivity:callModel']) {
      expect(names, name).toContain(name);
    }
    expect(names).not.toContain('RunActivity:recordEvents');
    // Parents follow the calls: the workflow run under the API's start, an activity's execution under its schedule.
    const one = (name: string) => trace.find((sp) => sp.name === name)!;
    expect(one('RunWorkflow:runWorkflow').parentSpanId).toBe(start!.spanId);
    expect(one('RunActivity:callModel').parentSpanId).toBe(one('StartActivity:callModel').spanId);
    expect(one('RunActivity:callModel').service).toBe('ap-test-worker');

    // The activities' log lines name the trace and span they ran in.
    const modelLine = fs
      .readFileSync(worker.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.run_id === run.id && l.activity === 'callModel');
    expect(modelLine).toMatchObject({ trace_id: start!.traceId, span_id: one('RunActivity:callModel').spanId });
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: the shared worker installs no interceptors', async () => {
    const s = await setupAgent();
    try {
      s.llm.reply({ text: 'Untraced.' });
      const run = (await s.api.post('/v1/runs', { agent: 'assistant', input: 'no tracing', wait: true })).body;
      expect(run.status).toBe('completed');
      // The interceptors carry the trace context in a header of the workflow start and of every activity.
      const connection = await Connection.connect({ address: env().temporalAddress });
      try {
        const history = await new Client({ connection, namespace: env().namespace }).workflow.getHandle(run.id).fetchHistory();
        const headers = (history.events ?? []).flatMap((ev) => [ev.workflowExecutionStartedEventAttributes?.header, ev.activityTaskScheduledEventAttributes?.header]);
        expect((history.events ?? []).some((ev) => ev.activityTaskScheduledEventAttributes)).toBe(true);
        expect(headers.some((h) => h?.fields && '_tracer-data' in h.fields)).toBe(false);
      } finally {
        await connection.close();
      }
    } finally {
      await s.llm.close();
    }
  });
});
