// OpenTelemetry tracing through @temporalio/interceptors-opentelemetry, off unless
// OTEL_EXPORTER_OTLP_ENDPOINT names an OTLP/HTTP collector. Spans: workflow starts, signals and queries
// (client), workflow runs and activity schedules (inside the workflow sandbox, exported through a sink)
// and activity executions (worker); the trace context travels in Temporal headers, so one trace runs
// from the API request that started a run to each of its activities. Export is OTLP/HTTP with JSON bodies.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as otel from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientInterceptors } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import type { Config } from '../config';

export interface Tracing {
  client: ClientInterceptors;
  worker: WorkerInterceptors;
  sinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
  /** Bundled into the workflow code: the workflow-side interceptors (they run in the sandbox). */
  workflowModules: string[];
  /** Flushes the spans still buffered. */
  shutdown(): Promise<void>;
}

/** Spans' parent follows async calls (the SDK's interceptors rely on the active context). */
class AsyncLocalContextManager implements otel.ContextManager {
  private readonly storage = new AsyncLocalStorage<otel.Context>();
  active(): otel.Context {
    return this.storage.getStore() ?? otel.ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: otel.Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(context, () => fn.call(thisArg, ...args));
  }
  bind<T>(context: otel.Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (thisArg: unknown, args: unknown[]): unknown => this.with(context, () => (target as (...a: unknown[]) => unknown).apply(thisArg, args));
    return function (this: unknown, ...args: unknown[]) {
      return run(this, args);
    } as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

let installed: Tracing | undefined;

/** undefined when tracing is not configured: then nothing is installed and nothing changes. Once per process. */
export function startTracing(config: Config): Tracing | undefined {
  const endpoint = config.tracing.endpoint;
  if (!endpoint) return undefined;
  if (installed) return installed;
  const resource = new Resource({ 'service.name': config.tracing.serviceName ?? 'agent-platform' });
  // OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; traces go to its /v1/traces (OTLP/HTTP).
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const processor = new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({ contextManager: new AsyncLocalContextManager() });
  installed = {
    client: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    worker: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    },
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    shutdown: () => provider.shutdown(),
  };
  return installed;
}
